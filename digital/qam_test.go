package digital

import (
	"math"
	"math/rand/v2"
	"testing"
)

func mustConst(t testing.TB, m Modulation) *Constellation {
	t.Helper()
	c, err := NewConstellation(m)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Unit average energy, and Gray: nearest neighbours (at the minimum distance) differ in exactly one bit.
func TestConstellationEnergyAndGray(t *testing.T) {
	for _, m := range Modulations {
		c := mustConst(t, m)
		var e float64
		for _, p := range c.Points {
			e += real(p)*real(p) + imag(p)*imag(p)
		}
		near(t, m.String()+" average energy", e/float64(len(c.Points)), 1, 1e-12)
		dmin := math.Inf(1)
		for i, p := range c.Points {
			for _, q := range c.Points[:i] {
				dmin = math.Min(dmin, cabs(p-q))
			}
		}
		for i, p := range c.Points {
			for j, q := range c.Points[:i] {
				if math.Abs(cabs(p-q)-dmin) < 1e-9 {
					if d := popcount(i ^ j); d != 1 {
						t.Errorf("%s: neighbours %d and %d differ in %d bits", m, i, j, d)
					}
				}
			}
		}
	}
	if _, err := ParseModulation("8psk"); err == nil {
		t.Error("ParseModulation accepted 8psk")
	}
	if m, err := ParseModulation("16QAM"); err != nil || m != QAM16 {
		t.Errorf("ParseModulation(16QAM) = %v, %v", m, err)
	}
}

func cabs(z complex128) float64 { return math.Hypot(real(z), imag(z)) }
func popcount(x int) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// BPSK, y = x + n: |y−1|² − |y+1|² = −4Re(y), so both exact and max-log LLRs are 4·Re(y)/N0.
func TestBPSKLLRClosedForm(t *testing.T) {
	c := mustConst(t, BPSK)
	y := []complex128{0.3 + 2i, -1.7 - 0.1i, 0, 5 + 5i}
	llr := make([]float64, len(y))
	for _, exact := range []bool{true, false} {
		for _, n0 := range []float64{0.1, 1, 3} {
			if err := c.Demap(y, n0, exact, llr); err != nil {
				t.Fatal(err)
			}
			for i := range y {
				near(t, "BPSK LLR", llr[i], 4*real(y[i])/n0, 1e-12)
			}
		}
	}
	if err := c.Demap(y, 0, true, llr); err == nil {
		t.Error("Demap accepted N0 = 0")
	}
}

func awgn(r *rand.Rand, n0 float64, syms []complex128) {
	s := math.Sqrt(n0 / 2)
	for i := range syms {
		syms[i] += complex(s*r.NormFloat64(), s*r.NormFloat64())
	}
}

// At high SNR one term dominates each log-sum-exp, so max-log and exact LLRs agree to a small relative
// error; at low SNR they must differ for 16/64-QAM (the test can fail in both directions). BPSK and QPSK
// have two candidate points per bit at equal distance in the other dimension, so there max-log is exact.
func TestMaxLogApproachesExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, m := range Modulations {
		c := mustConst(t, m)
		for _, tc := range []struct {
			db     float64
			closeq bool
		}{{30, true}, {0, false}} {
			n0 := 1 / DBToLinear(tc.db)
			bits := make([]uint8, 600*c.Bits)
			for i := range bits {
				bits[i] = uint8(r.IntN(2))
			}
			y := make([]complex128, 600)
			_ = c.Map(bits, y)
			awgn(r, n0, y)
			ex, ml := make([]float64, len(bits)), make([]float64, len(bits))
			_ = c.Demap(y, n0, true, ex)
			_ = c.Demap(y, n0, false, ml)
			var worst float64
			for i := range ex {
				worst = math.Max(worst, math.Abs(ex[i]-ml[i])/math.Max(1, math.Abs(ex[i])))
			}
			if tc.closeq && worst > 1e-3 {
				t.Errorf("%s at %g dB: max-log vs exact relative gap %g, expected < 1e-3", m, tc.db, worst)
			}
			if !tc.closeq && m.BitsPerSymbol() > 2 && worst < 1e-2 {
				t.Errorf("%s at %g dB: max-log equals exact (gap %g): the exact demapper is not exact", m, tc.db, worst)
			}
		}
	}
}

// Exact LLRs are true posterior log-ratios, so with s = 1 − 2b the consistency condition
// E[s·tanh(L/2)] = E[tanh²(L/2)] holds (both equal E[tanh²], since E[s | y] = tanh(L/2)); bounded terms keep
// the Monte-Carlo error small (≈ 1/√n). LLRs computed with a wrong noise variance violate it.
func TestLLRConsistencyCatchesWrongN0(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	c := mustConst(t, QAM16)
	const nsym = 50000
	n0 := 1 / DBToLinear(3)
	bits := make([]uint8, nsym*c.Bits)
	for i := range bits {
		bits[i] = uint8(r.IntN(2))
	}
	y := make([]complex128, nsym)
	_ = c.Map(bits, y)
	awgn(r, n0, y)
	llr := make([]float64, len(bits))
	gap := func(assumed float64) float64 {
		_ = c.Demap(y, assumed, true, llr)
		var st, t2 float64
		for i, l := range llr {
			th := math.Tanh(l / 2)
			st += (1 - 2*float64(bits[i])) * th
			t2 += th * th
		}
		return (st - t2) / float64(len(llr))
	}
	if g := gap(n0); math.Abs(g) > 0.01 {
		t.Errorf("E[s·tanh(L/2)] − E[tanh²(L/2)] = %g with the true N0, expected 0 ± 0.01", g)
	}
	for _, wrong := range []float64{n0 / 2, n0 * 2} {
		g := gap(wrong)
		t.Logf("consistency gap with N0 = %g (true %g): %g", wrong, n0, g)
		if math.Abs(g) < 0.03 {
			t.Errorf("consistency gap %g with N0 = %g (true %g): a wrong noise variance went unnoticed", g, wrong, n0)
		}
	}
}

// Hand values of the closed form: QPSK's is Q(√γ) (Cho & Yoon with M = 4); BPSK at γ = 2: Q(2) = 0.0227501319.
// 16-QAM at γ = 10 (Eb/N0 = 2.5): P_b(1) = ¼[erfc(a) + erfc(3a)], P_b(2) = ¼[2erfc(a) + erfc(3a) − erfc(5a)],
// a = √(3·10/30) = 1, P_b = ½(P_b(1)+P_b(2)) = ⅛[3erfc(1) + 2erfc(3) − erfc(5)] = ⅛[3·0.1572992 + 2·0.0000221 − 0.0000000] = ⅛·0.4719418 = 0.0589927.
func TestUncodedBERHandValues(t *testing.T) {
	got, _ := UncodedBER(BPSK, 2)
	near(t, "BPSK BER(γ=2)", got, 0.0227501319, 1e-9)
	for _, g := range []float64{0.5, 3, 20} {
		got, _ := UncodedBER(QPSK, g)
		near(t, "QPSK BER", got, Q(math.Sqrt(g)), 1e-15)
	}
	got, _ = UncodedBER(QAM16, 10)
	near(t, "16-QAM BER(γ=10)", got, (3*math.Erfc(1)+2*math.Erfc(3)-math.Erfc(5))/8, 1e-15)
	near(t, "16-QAM BER(γ=10) by hand", got, 0.0589927, 1e-6)
}

// Monte-Carlo uncoded BER of Gray hard decisions (the sign of the max-log LLR is the nearest point's bit)
// against Cho & Yoon, at three Es/N0 per modulation: 12 intervals, family-wise level 1e-3 by Bonferroni
// (each Clopper–Pearson interval at 1 − 1e-3/12). Seeded, so deterministic; with correct code the chance of
// any failure over seeds is below 1e-3.
func TestUncodedBERMonteCarloVsChoYoon(t *testing.T) {
	const family = 1e-3
	cases := []struct {
		m   Modulation
		dbs []float64
	}{
		{BPSK, []float64{0, 4, 7}},
		{QPSK, []float64{3, 7, 10}},
		{QAM16, []float64{8, 12, 15}},
		{QAM64, []float64{14, 18, 21}},
	}
	alpha := family / 12
	r := rand.New(rand.NewPCG(2026, 21))
	for _, tc := range cases {
		c := mustConst(t, tc.m)
		const nsym = 40000
		bits := make([]uint8, nsym*c.Bits)
		y := make([]complex128, nsym)
		llr := make([]float64, len(bits))
		for _, db := range tc.dbs {
			gamma := DBToLinear(db)
			for i := range bits {
				bits[i] = uint8(r.IntN(2))
			}
			_ = c.Map(bits, y)
			awgn(r, 1/gamma, y)
			_ = c.Demap(y, 1/gamma, false, llr)
			var errs int64
			for i, l := range llr {
				if (l < 0) != (bits[i] == 1) {
					errs++
				}
			}
			want, _ := UncodedBER(tc.m, gamma)
			lo, hi, err := ClopperPearson(errs, int64(len(bits)), alpha)
			if err != nil {
				t.Fatal(err)
			}
			if want < lo || want > hi {
				t.Errorf("%s at Es/N0 %g dB: %d errors in %d bits, CP interval [%g, %g] misses Cho & Yoon %g", tc.m, db, errs, len(bits), lo, hi, want)
			}
			t.Logf("%s %4.1f dB: BER %.3e (%d errs), closed form %.3e, interval [%.3e, %.3e]", tc.m, db, float64(errs)/float64(len(bits)), errs, want, lo, hi)
		}
	}
}

// Clopper–Pearson hand values: 0 of n at level α has upper end 1 − (α/2)^{1/n}; n of n lower end (α/2)^{1/n}.
func TestClopperPearsonEdges(t *testing.T) {
	lo, hi, _ := ClopperPearson(0, 100, 0.05)
	near(t, "CP lo(0/100)", lo, 0, 0)
	near(t, "CP hi(0/100)", hi, 1-math.Pow(0.025, 0.01), 1e-9)
	lo, hi, _ = ClopperPearson(100, 100, 0.05)
	near(t, "CP lo(100/100)", lo, math.Pow(0.025, 0.01), 1e-9)
	near(t, "CP hi(100/100)", hi, 1, 0)
	if _, _, err := ClopperPearson(5, 3, 0.05); err == nil {
		t.Error("ClopperPearson accepted 5 errors in 3 trials")
	}
}
