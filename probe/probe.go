// Package probe measures what a frozen representation holds: a linear probe (ridge regression to one-hot
// targets, the closed-form linear classifier) and a k-nearest-neighbour probe (cosine similarity, as
// solo-learn's kNN evaluation), each fitted on training features and scored on held-out ones, and the
// collapse monitor (the standard deviation of l2-normalised embeddings, as lightly logs it). Plain float64
// Go: the features are small (samples × K) and the probes must not depend on the training device.
package probe

import (
	"fmt"
	"math"
	"sort"
)

// Matrix is n rows of d features.
type Matrix [][]float64

// Columns returns the columns [from, to) of every row (a block of the representation).
func (m Matrix) Columns(from, to int) Matrix {
	out := make(Matrix, len(m))
	for i, r := range m {
		out[i] = r[from:to]
	}
	return out
}

// Concat joins the columns of several matrices with the same rows.
func Concat(ms ...Matrix) Matrix {
	out := make(Matrix, len(ms[0]))
	for i := range out {
		for _, m := range ms {
			out[i] = append(out[i], m[i]...)
		}
	}
	return out
}

// Linear fits a ridge-regression classifier on (x, y) and returns its accuracy on (tx, ty). Features are
// standardised with the training statistics; ridge is relative to the mean square of the standardised
// features (so one value suits any scale), and the bias is not regularised.
func Linear(x Matrix, y []int64, tx Matrix, ty []int64, classes int, ridge float64) (float64, error) {
	if len(x) == 0 || len(x) != len(y) || len(tx) != len(ty) {
		return 0, fmt.Errorf("probe: %d training rows with %d labels, %d test rows with %d labels", len(x), len(y), len(tx), len(ty))
	}
	d := len(x[0])
	mean, std := make([]float64, d), make([]float64, d)
	for _, r := range x {
		for j, v := range r {
			mean[j] += v / float64(len(x))
		}
	}
	for _, r := range x {
		for j, v := range r {
			std[j] += (v - mean[j]) * (v - mean[j]) / float64(len(x))
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j]) + 1e-8
	}
	row := func(r []float64) []float64 { // standardised, with a bias term last
		out := make([]float64, d+1)
		for j, v := range r {
			out[j] = (v - mean[j]) / std[j]
		}
		out[d] = 1
		return out
	}
	// Normal equations (XᵀX + λI)W = XᵀY, λ = ridge · n (the standardised features have unit mean square).
	a := make([][]float64, d+1)
	for i := range a {
		a[i] = make([]float64, d+1)
	}
	b := make([][]float64, d+1)
	for i := range b {
		b[i] = make([]float64, classes)
	}
	for i, r := range x {
		z := row(r)
		for p := range z {
			for q := range z {
				a[p][q] += z[p] * z[q]
			}
			b[p][y[i]] += z[p]
		}
	}
	for p := range d {
		a[p][p] += ridge * float64(len(x))
	}
	w, err := solve(a, b)
	if err != nil {
		return 0, err
	}
	correct := 0
	for i, r := range tx {
		z := row(r)
		best, bestV := 0, math.Inf(-1)
		for c := range classes {
			v := 0.0
			for p := range z {
				v += z[p] * w[p][c]
			}
			if v > bestV {
				best, bestV = c, v
			}
		}
		if int64(best) == ty[i] {
			correct++
		}
	}
	return float64(correct) / float64(len(tx)), nil
}

// solve solves A X = B for a symmetric positive definite A by Cholesky decomposition.
func solve(a, b [][]float64) ([][]float64, error) {
	n := len(a)
	l := make([][]float64, n)
	for i := range l {
		l[i] = make([]float64, n)
		for j := 0; j <= i; j++ {
			s := a[i][j]
			for k := range j {
				s -= l[i][k] * l[j][k]
			}
			if i == j {
				if s <= 0 {
					return nil, fmt.Errorf("probe: the normal equations are singular (a constant feature without ridge?)")
				}
				l[i][i] = math.Sqrt(s)
			} else {
				l[i][j] = s / l[j][j]
			}
		}
	}
	x := make([][]float64, n)
	for c := range b[0] {
		y := make([]float64, n)
		for i := range n { // L y = b
			s := b[i][c]
			for k := range i {
				s -= l[i][k] * y[k]
			}
			y[i] = s / l[i][i]
		}
		for i := n - 1; i >= 0; i-- { // Lᵀ x = y
			s := y[i]
			for k := i + 1; k < n; k++ {
				s -= l[k][i] * x[k][c]
			}
			if x[i] == nil {
				x[i] = make([]float64, len(b[0]))
			}
			x[i][c] = s / l[i][i]
		}
	}
	return x, nil
}

// KNN classifies each test row by the majority label of its k most cosine-similar training rows (ties go to
// the label with the larger summed similarity) and returns the accuracy.
func KNN(x Matrix, y []int64, tx Matrix, ty []int64, k int) float64 {
	xn, txn := normalize(x), normalize(tx)
	k = min(k, len(x))
	correct := 0
	sims := make([]struct {
		s float64
		y int64
	}, len(xn))
	for i, q := range txn {
		for j, r := range xn {
			sims[j].s, sims[j].y = dot(q, r), y[j]
		}
		sort.Slice(sims, func(a, b int) bool { return sims[a].s > sims[b].s })
		votes, weight := map[int64]int{}, map[int64]float64{}
		for _, n := range sims[:k] {
			votes[n.y]++
			weight[n.y] += n.s
		}
		best := int64(-1)
		for label, v := range votes {
			if best < 0 || v > votes[best] || v == votes[best] && (weight[label] > weight[best] || weight[label] == weight[best] && label < best) {
				best = label
			}
		}
		if best == ty[i] {
			correct++
		}
	}
	return float64(correct) / float64(len(tx))
}

// Spread is the collapse monitor: the mean over dimensions of the standard deviation of the l2-normalised
// rows. A collapsed representation (every row alike) gives 0; rows spread evenly over the sphere give about
// 1/√d.
func Spread(x Matrix) float64 {
	if len(x) < 2 {
		return math.NaN()
	}
	xn := normalize(x)
	d := len(xn[0])
	total := 0.0
	for j := range d {
		var s, sq float64
		for _, r := range xn {
			s += r[j]
			sq += r[j] * r[j]
		}
		m := s / float64(len(xn))
		total += math.Sqrt(max(0, sq/float64(len(xn))-m*m))
	}
	return total / float64(d)
}

func normalize(x Matrix) Matrix {
	out := make(Matrix, len(x))
	for i, r := range x {
		n := math.Sqrt(dot(r, r)) + 1e-12
		out[i] = make([]float64, len(r))
		for j, v := range r {
			out[i][j] = v / n
		}
	}
	return out
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
