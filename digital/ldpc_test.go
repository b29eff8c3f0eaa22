package digital

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustCode(t testing.TB, name string) *Code {
	t.Helper()
	c, err := LoadCode(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Code dimensions: (3,6) n = 1008 has K = 504 when H has full rank; the 802.11n codes have K = n·R.
func TestShippedCodeDimensions(t *testing.T) {
	for _, c := range []struct {
		name string
		n, k int
	}{{"regular36_n1008", 1008, 504}, {"wifi_n648_r12", 648, 324}, {"wifi_n648_r23", 648, 432}, {"wifi_n648_r34", 648, 486}} {
		code := mustCode(t, c.name)
		if code.N != c.n || code.K != c.k {
			t.Errorf("%s: N=%d K=%d, expected N=%d K=%d", c.name, code.N, code.K, c.n, c.k)
		}
	}
}

// Random information words encode to codewords with zero syndrome, carrying the information bits at
// InfoPositions; a single flipped bit breaks the syndrome.
func TestEncodeZeroSyndrome(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, name := range ShippedCodes {
		c := mustCode(t, name)
		const B = 20
		info := make([]uint8, B*c.K)
		for i := range info {
			info[i] = uint8(r.IntN(2))
		}
		cw := make([]uint8, B*c.N)
		if err := c.Encode(info, cw); err != nil {
			t.Fatal(err)
		}
		for b := 0; b < B; b++ {
			x := cw[b*c.N : (b+1)*c.N]
			if !c.SyndromeZero(x) {
				t.Fatalf("%s: codeword %d has a non-zero syndrome", name, b)
			}
			for j, p := range c.InfoPositions() {
				if x[p] != info[b*c.K+j] {
					t.Fatalf("%s: codeword %d position %d is not information bit %d", name, b, p, j)
				}
			}
			x[r.IntN(c.N)] ^= 1
			if c.SyndromeZero(x) {
				t.Fatalf("%s: a one-bit error went unnoticed by the syndrome", name)
			}
		}
	}
}

// Alist errors name the file and line.
func TestAlistErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ text, want string }{
		{"4 2\n", ":1: unexpected end of file"},
		{"4 2\n2 4\n2 2 2 x\n", ":3: column weights: \"x\""},
		{"4 2\n2 4\n2 2 2 2\n4 4\n1 2\n1 2\n1 2\n1 3\n1 2 3 4\n1 2 3 4\n", ":8: column 4: index 3, expected 1..2"},
		{"4 2\n2 4\n2 2 2 2\n4 4\n1 2\n1 2\n1 2\n1 2\n1 2 3 4\n1 2 3\n", ":10: row 2: 3 entries"},
	} {
		path := filepath.Join(dir, "bad.alist")
		_ = os.WriteFile(path, []byte(c.text), 0o644)
		_, err := ReadAlist(path)
		if err == nil || !strings.Contains(err.Error(), path+c.want) {
			t.Errorf("alist %q: error %v, expected it to contain %q", c.text, err, path+c.want)
		}
	}
	// Columns and rows that disagree.
	path := filepath.Join(dir, "mismatch.alist")
	_ = os.WriteFile(path, []byte("2 2\n1 1\n1 1\n1 1\n1\n2\n2\n1\n"), 0o644)
	if _, err := ReadAlist(path); err == nil || !strings.Contains(err.Error(), "row 1 lists variables") {
		t.Errorf("mismatched alist: error %v", err)
	}
}

// bpskLLR transmits codewords as BPSK at Es/N0 = gamma and returns channel LLRs 4y/N0.
func bpskLLR(r *rand.Rand, cw []uint8, gamma float64, llr []float64) {
	n0 := 1 / gamma
	s := math.Sqrt(n0 / 2)
	for i, b := range cw {
		y := 1 - 2*float64(b) + s*r.NormFloat64()
		llr[i] = 4 * y / n0
	}
}

// randomCodewords draws blocks words of random information bits and encodes them.
func randomCodewords(r *rand.Rand, c *Code, blocks int) (info, cw []uint8) {
	info = make([]uint8, blocks*c.K)
	for i := range info {
		info[i] = uint8(r.IntN(2))
	}
	cw = make([]uint8, blocks*c.N)
	_ = c.Encode(info, cw)
	return info, cw
}

type blerResult struct{ blockErrs, bitErrs, blocks int }

func simulate(t testing.TB, c *Code, d *Decoder, gamma float64, blocks int, seed uint64) blerResult {
	r := rand.New(rand.NewPCG(seed, 99))
	info, cw := randomCodewords(r, c, blocks)
	llr := make([]float64, len(cw))
	bpskLLR(r, cw, gamma, llr)
	out := make([]uint8, len(cw))
	if _, _, err := d.Decode(llr, out); err != nil {
		t.Fatal(err)
	}
	res := blerResult{blocks: blocks}
	for b := 0; b < blocks; b++ {
		e := 0
		for j, p := range c.InfoPositions() {
			if out[b*c.N+p] != info[b*c.K+j] {
				e++
			}
		}
		res.bitErrs += e
		if e > 0 {
			res.blockErrs++
		}
	}
	return res
}

// ebN0ToEsN0 for BPSK: Es = R·Eb per coded bit, so Es/N0 = R·Eb/N0.
func ebN0ToEsN0(ebDB, rate float64) float64 { return DBToLinear(ebDB) * rate }

// At Eb/N0 = 4 dB both codes and both decoders correct every block; the decoder names bad settings.
func TestDecodeHighSNRNoErrors(t *testing.T) {
	for _, name := range []string{"regular36_n1008", "wifi_n648_r12"} {
		c := mustCode(t, name)
		for _, alg := range []Algorithm{SumProduct, MinSum} {
			d, err := NewDecoder(c, alg, 50, 0.8)
			if err != nil {
				t.Fatal(err)
			}
			res := simulate(t, c, d, ebN0ToEsN0(4, c.Rate()), 40, 11)
			if res.bitErrs != 0 {
				t.Errorf("%s alg %d at Eb/N0 4 dB: %d bit errors in %d blocks, expected 0", name, alg, res.bitErrs, res.blocks)
			}
		}
	}
	c := mustCode(t, "wifi_n648_r12")
	for _, bad := range []struct {
		alg   Algorithm
		it    int
		alpha float64
	}{{0, 10, 0.8}, {SumProduct, 0, 0.8}, {MinSum, 10, 0}, {MinSum, 10, 1.5}} {
		if _, err := NewDecoder(c, bad.alg, bad.it, bad.alpha); err == nil {
			t.Errorf("NewDecoder(%v) accepted", bad)
		}
	}
}

// The (3,6) waterfall. For long codes the BP threshold is Eb/N0 ≈ 1.10 dB (Richardson & Urbanke); a code of
// n = 1008 with 50 iterations falls more slowly, so the test asks only what such a code must do: at 0.5 dB
// (below threshold) most blocks fail, at 2.5 dB (1.4 dB above) fewer than one in ten fail. Measured
// values are logged.
func TestRegular36Waterfall(t *testing.T) {
	c := mustCode(t, "regular36_n1008")
	d, _ := NewDecoder(c, SumProduct, 50, 0)
	lo := simulate(t, c, d, ebN0ToEsN0(0.5, c.Rate()), 40, 12)
	hi := simulate(t, c, d, ebN0ToEsN0(2.5, c.Rate()), 100, 13)
	t.Logf("(3,6) n=1008 SP-50: BLER %d/%d at 0.5 dB, %d/%d at 2.5 dB", lo.blockErrs, lo.blocks, hi.blockErrs, hi.blocks)
	if lo.blockErrs*2 < lo.blocks {
		t.Errorf("BLER at Eb/N0 0.5 dB = %d/%d, expected most blocks to fail below the BP threshold", lo.blockErrs, lo.blocks)
	}
	if hi.blockErrs*10 >= hi.blocks {
		t.Errorf("BLER at Eb/N0 2.5 dB = %d/%d, expected < 1/10 above the threshold", hi.blockErrs, hi.blocks)
	}
}

// No simulated BLER may beat the finite-length limit at the same length, rate and SNR. Bookkeeping: BPSK
// puts one coded bit on the real part of a complex symbol of energy Es = 1 with noise CN(0, N0), so each
// coded bit sees a real AWGN use at SNR 1/(N0/2) = 2γ; N real uses at 2γ are N/2 complex uses at complex
// SNR 2γ (same capacity and dispersion). The bound is the normal-approximation BLER of K bits in N/2
// complex uses at 2γ; the simulated BLER's 99.9% Clopper–Pearson upper end must not lie below it. At
// Eb/N0 ≤ 0 dB the bound is large, so the check bites: the test also simulates the classic mistake (Eb/N0
// used as Es/N0, a 3 dB gift at rate ½) and requires the tripwire to catch it.
func TestBLERNotBelowNormalApprox(t *testing.T) {
	for _, name := range []string{"regular36_n1008", "wifi_n648_r12"} {
		c := mustCode(t, name)
		d, _ := NewDecoder(c, SumProduct, 50, 0)
		caught := false
		for _, eb := range []float64{-0.5, 0, 0.5, 1.0, 1.5} {
			gamma := ebN0ToEsN0(eb, c.Rate())
			bound, _ := NormalApproxBLER(c.N/2, float64(c.K), 2*gamma)
			res := simulate(t, c, d, gamma, 40, 14)
			_, hi, _ := ClopperPearson(int64(res.blockErrs), int64(res.blocks), 1e-3)
			t.Logf("%s Eb/N0 %.1f dB: BLER %d/%d (upper %.3f), normal approximation %.3g", name, eb, res.blockErrs, res.blocks, hi, bound)
			if hi < bound {
				t.Errorf("%s at Eb/N0 %g dB: BLER %d/%d (upper end %g) below the finite-length limit %g: Eb/N0 vs Es/N0 bookkeeping is off", name, eb, res.blockErrs, res.blocks, hi, bound)
			}
			wrong := simulate(t, c, d, DBToLinear(eb), 40, 15) // Eb/N0 passed as Es/N0
			_, whi, _ := ClopperPearson(int64(wrong.blockErrs), int64(wrong.blocks), 1e-3)
			caught = caught || whi < bound
		}
		if !caught {
			t.Errorf("%s: the tripwire did not catch Eb/N0 used as Es/N0 at any SNR", name)
		}
	}
}
