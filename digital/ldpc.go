package digital

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Code is a binary LDPC code given by its sparse parity-check matrix H (M checks × N variables), with a
// systematic encoder from GF(2) Gaussian elimination of H. Edges are numbered check by check.
type Code struct {
	Name string
	N, M int // variables (code length), checks (rows of H, possibly redundant)
	K    int // information bits, N − rank(H)

	checkStart []int // edges of check m: checkStart[m] .. checkStart[m+1]
	edgeVar    []int // variable of each edge
	varStart   []int // variable n's edges: varEdges[varStart[n] .. varStart[n+1]]
	varEdges   []int

	info   []int      // information positions (non-pivot columns), len K
	parity []int      // pivot column of each independent row, len N − K
	gen    [][]uint64 // gen[r]: row r of the reduced H restricted to the info positions, packed
}

// Rate is K/N.
func (c *Code) Rate() float64 { return float64(c.K) / float64(c.N) }

// InfoPositions are the codeword positions that carry the information bits, in order.
func (c *Code) InfoPositions() []int { return c.info }

// Rows returns H as the list of variable indices of each check (0-based).
func (c *Code) Rows() [][]int {
	rows := make([][]int, c.M)
	for m := range rows {
		rows[m] = append([]int(nil), c.edgeVar[c.checkStart[m]:c.checkStart[m+1]]...)
	}
	return rows
}

// NewCode builds a code from the variable indices of each check; duplicate or out-of-range indices are errors.
func NewCode(name string, n int, rows [][]int) (*Code, error) {
	c := &Code{Name: name, N: n, M: len(rows), checkStart: make([]int, len(rows)+1)}
	deg := make([]int, n)
	for m, r := range rows {
		seen := map[int]bool{}
		for _, v := range r {
			if v < 0 || v >= n {
				return nil, fmt.Errorf("digital: code %s: check %d names variable %d, expected 0 ≤ v < %d", name, m, v, n)
			}
			if seen[v] {
				return nil, fmt.Errorf("digital: code %s: check %d names variable %d twice", name, m, v)
			}
			seen[v] = true
			c.edgeVar = append(c.edgeVar, v)
			deg[v]++
		}
		c.checkStart[m+1] = len(c.edgeVar)
	}
	c.varStart = make([]int, n+1)
	for v := 0; v < n; v++ {
		c.varStart[v+1] = c.varStart[v] + deg[v]
	}
	c.varEdges = make([]int, len(c.edgeVar))
	fill := append([]int(nil), c.varStart[:n]...)
	for e, v := range c.edgeVar {
		c.varEdges[fill[v]] = e
		fill[v]++
	}
	c.buildEncoder()
	return c, nil
}

// buildEncoder reduces H to row echelon form over GF(2) (dense, packed in 64-bit words; done once per
// code). Pivot columns carry parity; the rest carry information. Each reduced row r then reads
// x[parity[r]] = Σ_{j ∈ info} Hred[r][j]·x[j].
func (c *Code) buildEncoder() {
	words := (c.N + 63) / 64
	h := make([][]uint64, c.M)
	for m := range h {
		h[m] = make([]uint64, words)
		for _, v := range c.edgeVar[c.checkStart[m]:c.checkStart[m+1]] {
			h[m][v/64] |= 1 << (v % 64)
		}
	}
	isPivot := make([]bool, c.N)
	rank := 0
	for col := 0; col < c.N && rank < c.M; col++ {
		w, b := col/64, uint64(1)<<(col%64)
		p := -1
		for r := rank; r < c.M; r++ {
			if h[r][w]&b != 0 {
				p = r
				break
			}
		}
		if p < 0 {
			continue
		}
		h[rank], h[p] = h[p], h[rank]
		for r := 0; r < c.M; r++ {
			if r != rank && h[r][w]&b != 0 {
				for i := range h[r] {
					h[r][i] ^= h[rank][i]
				}
			}
		}
		isPivot[col] = true
		c.parity = append(c.parity, col)
		rank++
	}
	c.info = c.info[:0]
	for col := 0; col < c.N; col++ {
		if !isPivot[col] {
			c.info = append(c.info, col)
		}
	}
	c.K = len(c.info)
	kw := (c.K + 63) / 64
	c.gen = make([][]uint64, rank)
	for r := 0; r < rank; r++ {
		c.gen[r] = make([]uint64, kw)
		for j, col := range c.info {
			if h[r][col/64]&(1<<(col%64)) != 0 {
				c.gen[r][j/64] |= 1 << (j % 64)
			}
		}
	}
}

// Encode writes the codewords of a batch: info holds B·K bits (0/1), cw receives B·N bits.
func (c *Code) Encode(info, cw []uint8) error {
	if c.K == 0 || len(info)%c.K != 0 || len(cw) != len(info)/c.K*c.N {
		return fmt.Errorf("digital: encode %s: %d info bits into %d code bits, expected B·%d into B·%d", c.Name, len(info), len(cw), c.K, c.N)
	}
	packed := make([]uint64, (c.K+63)/64)
	for b := 0; b < len(info)/c.K; b++ {
		u, x := info[b*c.K:(b+1)*c.K], cw[b*c.N:(b+1)*c.N]
		clear(packed)
		for j, bit := range u {
			x[c.info[j]] = bit & 1
			packed[j/64] |= uint64(bit&1) << (j % 64)
		}
		for r, row := range c.gen {
			ones := 0
			for i, w := range row {
				ones += bits.OnesCount64(w & packed[i])
			}
			x[c.parity[r]] = uint8(ones & 1)
		}
	}
	return nil
}

// SyndromeZero reports whether the N hard bits x satisfy every check.
func (c *Code) SyndromeZero(x []uint8) bool {
	for m := 0; m < c.M; m++ {
		var s uint8
		for _, v := range c.edgeVar[c.checkStart[m]:c.checkStart[m+1]] {
			s ^= x[v]
		}
		if s&1 != 0 {
			return false
		}
	}
	return true
}

// ReadAlist reads a code in MacKay's alist format from a file.
func ReadAlist(path string) (*Code, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("digital: alist: %w", err)
	}
	defer f.Close()
	return ParseAlist(f, path)
}

// ParseAlist reads the alist format (MacKay): "N M", "max column weight, max row weight", the N column
// weights, the M row weights, then N lines of each column's 1-based check indices and M lines of each
// row's variable indices (zeros pad short lists). Both halves must describe the same H. Errors name the
// file and line.
func ParseAlist(r io.Reader, name string) (*Code, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	line := 0
	next := func(what string, want int) ([]int, error) {
		for sc.Scan() {
			line++
			fields := strings.Fields(sc.Text())
			if len(fields) == 0 {
				continue
			}
			out := make([]int, len(fields))
			for i, f := range fields {
				v, err := strconv.Atoi(f)
				if err != nil || v < 0 {
					return nil, fmt.Errorf("digital: alist %s:%d: %s: %q is not a non-negative integer", name, line, what, f)
				}
				out[i] = v
			}
			if want >= 0 && len(out) != want {
				return nil, fmt.Errorf("digital: alist %s:%d: %s: %d numbers, expected %d", name, line, what, len(out), want)
			}
			return out, nil
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("digital: alist %s:%d: %w", name, line, err)
		}
		return nil, fmt.Errorf("digital: alist %s:%d: unexpected end of file, expected %s", name, line, what)
	}
	head, err := next("header N M", 2)
	if err != nil {
		return nil, err
	}
	n, m := head[0], head[1]
	if n == 0 || m == 0 {
		return nil, fmt.Errorf("digital: alist %s:%d: N = %d, M = %d, expected both > 0", name, line, n, m)
	}
	maxw, err := next("maximum column and row weights", 2)
	if err != nil {
		return nil, err
	}
	colW, err := next("column weights", n)
	if err != nil {
		return nil, err
	}
	rowW, err := next("row weights", m)
	if err != nil {
		return nil, err
	}
	readLists := func(what string, count, maxWeight, bound int, weights []int) ([][]int, error) {
		lists := make([][]int, count)
		for i := range lists {
			vals, err := next(fmt.Sprintf("%s %d", what, i+1), -1)
			if err != nil {
				return nil, err
			}
			if len(vals) != weights[i] && len(vals) != maxWeight {
				return nil, fmt.Errorf("digital: alist %s:%d: %s %d: %d entries, expected its weight %d (or %d with zero padding)", name, line, what, i+1, len(vals), weights[i], maxWeight)
			}
			for j, v := range vals {
				switch {
				case j < weights[i] && (v < 1 || v > bound):
					return nil, fmt.Errorf("digital: alist %s:%d: %s %d: index %d, expected 1..%d", name, line, what, i+1, v, bound)
				case j >= weights[i] && v != 0:
					return nil, fmt.Errorf("digital: alist %s:%d: %s %d: entry %d beyond its weight %d, expected 0 padding", name, line, what, i+1, v, weights[i])
				case j < weights[i]:
					lists[i] = append(lists[i], v-1)
				}
			}
		}
		return lists, nil
	}
	cols, err := readLists("column", n, maxw[0], m, colW)
	if err != nil {
		return nil, err
	}
	rows, err := readLists("row", m, maxw[1], n, rowW)
	if err != nil {
		return nil, err
	}
	// The column lists must describe the same H as the row lists.
	fromCols := make([][]int, m)
	for v, cl := range cols {
		for _, ch := range cl {
			fromCols[ch] = append(fromCols[ch], v)
		}
	}
	for ch := range rows {
		a := append([]int(nil), rows[ch]...)
		sort.Ints(a)
		if fmt.Sprint(a) != fmt.Sprint(fromCols[ch]) {
			return nil, fmt.Errorf("digital: alist %s: row %d lists variables %v but the column lists put %v in it", name, ch+1, plusOne(a), plusOne(fromCols[ch]))
		}
	}
	return NewCode(name, n, rows)
}

func plusOne(a []int) []int {
	out := make([]int, len(a))
	for i, v := range a {
		out[i] = v + 1
	}
	return out
}

// WriteAlist writes the code in the alist format (lists padded with zeros to the maximum weight).
func (c *Code) WriteAlist(w io.Writer) error {
	bw := bufio.NewWriter(w)
	rows := c.Rows()
	cols := make([][]int, c.N)
	for m, r := range rows {
		for _, v := range r {
			cols[v] = append(cols[v], m)
		}
	}
	maxOf := func(l [][]int) int {
		mx := 0
		for _, x := range l {
			mx = max(mx, len(x))
		}
		return mx
	}
	weights := func(l [][]int) string {
		s := make([]string, len(l))
		for i, x := range l {
			s[i] = strconv.Itoa(len(x))
		}
		return strings.Join(s, " ")
	}
	lists := func(l [][]int, width int) {
		for _, x := range l {
			s := make([]string, width)
			for i := range s {
				s[i] = "0"
				if i < len(x) {
					s[i] = strconv.Itoa(x[i] + 1)
				}
			}
			fmt.Fprintln(bw, strings.Join(s, " "))
		}
	}
	fmt.Fprintf(bw, "%d %d\n%d %d\n%s\n%s\n", c.N, c.M, maxOf(cols), maxOf(rows), weights(cols), weights(rows))
	lists(cols, maxOf(cols))
	lists(rows, maxOf(rows))
	return bw.Flush()
}

// QCCode expands a quasi-cyclic base matrix (entries −1: zero block; s ≥ 0: the Z×Z identity cyclically
// shifted so that block row i has its one in block column (i+s) mod Z, the IEEE 802.11n convention).
func QCCode(name string, base [][]int, z int) (*Code, error) {
	if len(base) == 0 || z <= 0 {
		return nil, fmt.Errorf("digital: qc code %s: empty base matrix or Z = %d", name, z)
	}
	nb := len(base[0])
	rows := make([][]int, len(base)*z)
	for bi, br := range base {
		if len(br) != nb {
			return nil, fmt.Errorf("digital: qc code %s: base row %d has %d entries, expected %d", name, bi, len(br), nb)
		}
		for bj, s := range br {
			if s < -1 || s >= z {
				return nil, fmt.Errorf("digital: qc code %s: base entry (%d,%d) = %d, expected −1 or 0..%d", name, bi, bj, s, z-1)
			}
			if s < 0 {
				continue
			}
			for i := 0; i < z; i++ {
				rows[bi*z+i] = append(rows[bi*z+i], bj*z+(i+s)%z)
			}
		}
	}
	for _, r := range rows {
		sort.Ints(r)
	}
	return NewCode(name, nb*z, rows)
}

// RegularCode builds a random (dv, dc)-regular code of length n (n·dv divisible by dc) from seed by
// progressive edge placement: each variable's dv edges go, one at a time, to a check of least current
// degree among those that create no 4-cycle (share no other variable with a check the variable already
// uses); ties are broken at random. When no such check has room, a 4-cycle is accepted and counted.
// Returns the code and the number of 4-cycles left.
func RegularCode(name string, n, dv, dc int, seed uint64) (*Code, int, error) {
	if n <= 0 || dv <= 0 || dc <= dv || n*dv%dc != 0 {
		return nil, 0, fmt.Errorf("digital: regular code: n = %d, dv = %d, dc = %d, expected n·dv divisible by dc and dc > dv", n, dv, dc)
	}
	m := n * dv / dc
	r := rand.New(rand.NewPCG(seed, 0x1d9c))
	rows := make([][]int, m)
	varChecks := make([][]int, n)
	order := r.Perm(n)
	fourCycles := 0
	for _, v := range order {
		for e := 0; e < dv; e++ {
			// Variables two steps from v: they may not share a new check with v.
			near := map[int]bool{}
			for _, ch := range varChecks[v] {
				for _, w := range rows[ch] {
					near[w] = true
				}
			}
			best, bestDeg, ties, bestCycle := -1, dc+1, 0, true
			for _, ch := range r.Perm(m) {
				if len(rows[ch]) >= dc || contains(varChecks[v], ch) {
					continue
				}
				cycle := false
				for _, w := range rows[ch] {
					if near[w] {
						cycle = true
						break
					}
				}
				better := (!cycle && bestCycle) || (cycle == bestCycle && len(rows[ch]) < bestDeg)
				if better {
					best, bestDeg, bestCycle, ties = ch, len(rows[ch]), cycle, 1
				} else if cycle == bestCycle && len(rows[ch]) == bestDeg {
					ties++
					if r.IntN(ties) == 0 {
						best = ch
					}
				}
			}
			if best < 0 {
				return nil, 0, fmt.Errorf("digital: regular code: no check left for variable %d (seed %d)", v, seed)
			}
			if bestCycle {
				fourCycles++
			}
			rows[best] = append(rows[best], v)
			varChecks[v] = append(varChecks[v], best)
		}
	}
	for _, row := range rows {
		sort.Ints(row)
	}
	c, err := NewCode(name, n, rows)
	return c, fourCycles, err
}

func contains(a []int, x int) bool {
	for _, y := range a {
		if y == x {
			return true
		}
	}
	return false
}

// FourCycles counts pairs of checks that share two or more variables (each such pair is a 4-cycle).
func (c *Code) FourCycles() int {
	count := 0
	pairs := map[[2]int]int{}
	for v := 0; v < c.N; v++ {
		es := c.varEdges[c.varStart[v]:c.varStart[v+1]]
		for i := range es {
			for j := i + 1; j < len(es); j++ {
				a, b := c.checkOf(es[i]), c.checkOf(es[j])
				if a > b {
					a, b = b, a
				}
				pairs[[2]int{a, b}]++
			}
		}
	}
	for _, k := range pairs {
		if k >= 2 {
			count += k * (k - 1) / 2
		}
	}
	return count
}

func (c *Code) checkOf(e int) int {
	return sort.Search(c.M, func(m int) bool { return c.checkStart[m+1] > e })
}

// Algorithm selects the belief-propagation check-node rule.
type Algorithm int

const (
	SumProduct Algorithm = iota + 1 // exact tanh rule
	MinSum                          // normalised min-sum: α·Π sign·min |·|
)

// Decoder decodes a code by flooding belief propagation with an iteration limit and an early stop once the
// hard decision satisfies every check. Its scratch space is allocated once; a Decoder is not safe for
// concurrent use (make one per goroutine).
type Decoder struct {
	Code    *Code
	Alg     Algorithm
	MaxIter int     // iteration limit
	Alpha   float64 // min-sum normalisation factor (ignored by sum-product)

	c2v, v2c, post, fwd []float64
	hard                []uint8
}

// NewDecoder checks the settings and allocates the scratch space.
func NewDecoder(code *Code, alg Algorithm, maxIter int, alpha float64) (*Decoder, error) {
	if alg != SumProduct && alg != MinSum {
		return nil, fmt.Errorf("digital: decoder: unknown algorithm %d", int(alg))
	}
	if maxIter < 1 {
		return nil, fmt.Errorf("digital: decoder: iteration limit %d, expected ≥ 1", maxIter)
	}
	if alg == MinSum && !(alpha > 0 && alpha <= 1) {
		return nil, fmt.Errorf("digital: decoder: min-sum normalisation α = %g, expected 0 < α ≤ 1", alpha)
	}
	maxRow := 0
	for m := 0; m < code.M; m++ {
		maxRow = max(maxRow, code.checkStart[m+1]-code.checkStart[m])
	}
	e := len(code.edgeVar)
	return &Decoder{Code: code, Alg: alg, MaxIter: maxIter, Alpha: alpha,
		c2v: make([]float64, e), v2c: make([]float64, e), post: make([]float64, code.N),
		fwd: make([]float64, maxRow+1), hard: make([]uint8, code.N)}, nil
}

// llrClip bounds messages so tanh stays below 1 and atanh finite.
const llrClip = 30

// Decode decodes a batch: llr holds B·N channel LLRs (ln P(0)/P(1)), out receives B·N hard bits. It returns
// the number of words whose final hard decision has a zero syndrome and the total iterations used.
func (d *Decoder) Decode(llr []float64, out []uint8) (converged, iterations int, err error) {
	c := d.Code
	if len(llr)%c.N != 0 || len(out) != len(llr) {
		return 0, 0, fmt.Errorf("digital: decode %s: %d LLRs and %d outputs, expected equal multiples of N = %d", c.Name, len(llr), len(out), c.N)
	}
	for b := 0; b < len(llr)/c.N; b++ {
		ok, it := d.decodeOne(llr[b*c.N:(b+1)*c.N], out[b*c.N:(b+1)*c.N])
		iterations += it
		if ok {
			converged++
		}
	}
	return converged, iterations, nil
}

func (d *Decoder) decodeOne(ch []float64, x []uint8) (bool, int) {
	c := d.Code
	clear(d.c2v)
	for it := 1; it <= d.MaxIter; it++ {
		// Variable nodes: posterior, then extrinsic messages to the checks.
		for v := 0; v < c.N; v++ {
			s := ch[v]
			es := c.varEdges[c.varStart[v]:c.varStart[v+1]]
			for _, e := range es {
				s += d.c2v[e]
			}
			d.post[v] = s
			for _, e := range es {
				d.v2c[e] = math.Max(-llrClip, math.Min(llrClip, s-d.c2v[e]))
			}
		}
		if d.hardOK(x) {
			return true, it - 1
		}
		// Check nodes.
		for m := 0; m < c.M; m++ {
			lo, hi := c.checkStart[m], c.checkStart[m+1]
			if d.Alg == SumProduct {
				// Leave-one-out product of tanh(v/2) by forward/backward products.
				d.fwd[0] = 1
				for i := lo; i < hi; i++ {
					d.fwd[i-lo+1] = d.fwd[i-lo] * math.Tanh(d.v2c[i]/2)
				}
				back := 1.0
				for i := hi - 1; i >= lo; i-- {
					p := d.fwd[i-lo] * back
					p = math.Max(-1+1e-15, math.Min(1-1e-15, p))
					d.c2v[i] = 2 * math.Atanh(p)
					back *= math.Tanh(d.v2c[i] / 2)
				}
				continue
			}
			min1, min2, sign, argmin := math.Inf(1), math.Inf(1), 1.0, -1
			for i := lo; i < hi; i++ {
				a := math.Abs(d.v2c[i])
				if d.v2c[i] < 0 {
					sign = -sign
				}
				if a < min1 {
					min2, min1, argmin = min1, a, i
				} else if a < min2 {
					min2 = a
				}
			}
			for i := lo; i < hi; i++ {
				mag := min1
				if i == argmin {
					mag = min2
				}
				s := sign
				if d.v2c[i] < 0 {
					s = -s
				}
				d.c2v[i] = d.Alpha * s * mag
			}
		}
	}
	for v := 0; v < c.N; v++ {
		s := ch[v]
		for _, e := range c.varEdges[c.varStart[v]:c.varStart[v+1]] {
			s += d.c2v[e]
		}
		d.post[v] = s
	}
	return d.hardOK(x), d.MaxIter
}

// hardOK writes the hard decision of the posteriors into x and checks its syndrome.
func (d *Decoder) hardOK(x []uint8) bool {
	for v, p := range d.post {
		x[v] = 0
		if p < 0 {
			x[v] = 1
		}
	}
	return d.Code.SyndromeZero(x)
}
