package channel

import (
	"math"
	"testing"

	"github.com/semcom/semcom/torch"
)

// Statistical checks here and in erasure_test.go each allow zTol standard errors (two-sided p ≈ 5.7·10⁻⁷
// per check); with fewer than 60 checks in all the family-wise false-failure rate is below 4·10⁻⁵, and the
// draws are seeded, so a pass or failure is reproducible.
const zTol = 5.0

// expInt1 is the exponential integral E1(x) = ∫_x^∞ e^(−t)/t dt (Abramowitz & Stegun 5.1.11 series for
// x ≤ 1, the continued fraction 5.1.22 evaluated by the modified Lentz method above).
func expInt1(x float64) float64 {
	if x <= 1 {
		sum, term := 0.0, 1.0
		for k := 1; k < 60; k++ {
			term *= -x / float64(k)
			sum += term / float64(k)
		}
		return -0.57721566490153286 - math.Log(x) - sum
	}
	b := x + 1
	c, d := 1/1e-300, 1/b
	h := d
	for i := 1; i < 200; i++ {
		a := -float64(i * i)
		b += 2
		d = 1 / (a*d + b)
		c = b + a/c
		del := c * d
		h *= del
		if math.Abs(del-1) < 1e-15 {
			break
		}
	}
	return h * math.Exp(-x)
}

func TestExpInt1(t *testing.T) {
	// Reference values from Abramowitz & Stegun table 5.1.
	for _, c := range []struct{ x, want float64 }{{0.1, 1.8229239584}, {0.5, 0.5597735948}, {1, 0.2193839344},
		{2, 0.0489005107}, {5, 0.0011482956}} {
		if got := expInt1(c.x); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("E1(%v) = %.10f, want %.10f", c.x, got, c.want)
		}
	}
}

// meanSE is the sample mean of v and its standard error.
func meanSE(v []float64) (mean, se float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)-1) / float64(len(v)))
}

func TestEstimatorErrorVariance(t *testing.T) {
	defer torch.LockThread()()
	const n = 1_000_000
	g := torch.NewGenerator(torch.CPU, 11)
	for _, c := range []struct {
		fading Fading
		np     int
		snrDB  float64
	}{{Rayleigh, 1, 0}, {Rayleigh, 4, 0}, {Rayleigh, 4, 10}, {Rayleigh, 8, -5}, {Rician, 4, 0}} {
		s := torch.NewScope()
		n0 := NoiseVariance(c.snrDB)
		gamma := 1 / n0
		for _, csi := range []CSI{LSCSI, MMSECSI} {
			cfg := Config{Fading: c.fading, RicianK: 3, CSI: csi, Pilots: c.np}
			hr, hi := cfg.Coefficients(g, n, torch.Float64, torch.CPU)
			er, ei, errVar := cfg.Estimate(g, hr, hi, n0)
			got, se := meanSE(er.Sub(hr).Square().Add(ei.Sub(hi).Square()).Reshape(n).Float64s())
			want := n0 / float64(c.np) // E|ĥ_LS − h|² = N0/N_p
			if csi == MMSECSI {
				want = 1 / (1 + float64(c.np)*gamma) // Rayleigh: 1/(1 + N_p·γ)
				if c.fading == Rician {
					vh, v := 1/(cfg.RicianK+1), n0/float64(c.np) // scattered part only: σ_h²·v/(σ_h² + v)
					want = vh * v / (vh + v)
				}
			}
			t.Logf("%s %s N_p=%d %v dB: E|ĥ−h|² %.5f ± %.5f, closed form %.5f", c.fading, csi, c.np, c.snrDB, got, se, want)
			if math.Abs(got-want) > zTol*se {
				t.Errorf("%s %s N_p=%d %v dB: E|ĥ−h|² = %.5f ± %.5f, want %.5f", c.fading, csi, c.np, c.snrDB, got, se, want)
			}
			if math.Abs(errVar-want) > 1e-12 {
				t.Errorf("%s %s N_p=%d: reported error variance %v, want %v", c.fading, csi, c.np, errVar, want)
			}
		}
		s.Close()
	}
}

// bpskOverChannel sends n BPSK symbols (one per sample, i.e. one per fading block) and returns the bit
// error rate of sign(Re(equalised y)) and its standard error.
func bpskOverChannel(cfg Config, g *torch.Generator, n int64, snrDB float64) (ber, se float64) {
	bits := torch.Uniform(g, 0, 1, torch.Float64, torch.CPU, n, 1).GtScalar(0.5).ToDType(torch.Float64)
	x := bits.MulScalar(2).SubScalar(1)
	z := torch.Cat([]*torch.Tensor{x, torch.Zeros(torch.Float64, torch.CPU, n, 1)}, 1) // real ±1, imag 0
	y := cfg.Transmit(z, snrDB, g).Narrow(1, 0, 1)
	errs := y.Mul(x).LeScalar(0).ToDType(torch.Float64).Sum().Item()
	ber = errs / float64(n)
	return ber, math.Sqrt(ber * (1 - ber) / float64(n))
}

func TestBPSKRayleighWithEstimatedCSI(t *testing.T) {
	defer torch.LockThread()()
	const n = 2_000_000
	g := torch.NewGenerator(torch.CPU, 12)
	for _, c := range []struct {
		csi    CSI
		np     int
		errVar float64
		eq     Equalizer
		snrDB  float64
	}{
		{MMSECSI, 1, 0, ZeroForcing, 5}, {MMSECSI, 4, 0, MMSE, 5}, {MMSECSI, 4, 0, ZeroForcing, 15},
		{LSCSI, 2, 0, ZeroForcing, 0}, // ĥ_LS is a positive multiple of ĥ_LMMSE for Rayleigh: same decisions
		{MMSECSI, 0, 0.1, ZeroForcing, 10}, {PerfectCSI, 0, 0, ZeroForcing, 5},
	} {
		s := torch.NewScope()
		cfg := Config{Fading: Rayleigh, Equalizer: c.eq, PowerNorm: PerSample, CSI: c.csi, Pilots: c.np, CSIErrorVar: c.errVar}
		n0 := NoiseVariance(c.snrDB)
		var se2 float64 // σ_e² of the LMMSE estimate
		switch {
		case c.csi == PerfectCSI:
		case c.errVar > 0:
			se2 = c.errVar / (1 + c.errVar)
		default:
			se2 = 1 / (1 + float64(c.np)/n0)
		}
		ge := (1 - se2) / (se2 + n0)
		want := 0.5 * (1 - math.Sqrt(ge/(1+ge)))
		got, se := bpskOverChannel(cfg, g, n, c.snrDB)
		t.Logf("%+v: BER %.5f ± %.5f, closed form %.5f", c, got, se, want)
		if math.Abs(got-want) > zTol*se {
			t.Errorf("%+v: BER %.5f ± %.5f, closed form %.5f", c, got, se, want)
		}
		s.Close()
	}
}

func TestMMSEEqualisedSymbolMSE(t *testing.T) {
	defer torch.LockThread()()
	const n = 1_000_000
	g := torch.NewGenerator(torch.CPU, 13)
	for _, c := range []struct {
		csi   CSI
		np    int
		snrDB float64
	}{{PerfectCSI, 0, 0}, {PerfectCSI, 0, 10}, {PerfectCSI, 0, -3}, {MMSECSI, 4, 0}, {MMSECSI, 2, 10}} {
		s := torch.NewScope()
		cfg := Config{Fading: Rayleigh, Equalizer: MMSE, PowerNorm: PerSample, CSI: c.csi, Pilots: c.np}
		z := torch.Randn(g, torch.Float64, torch.CPU, n, 2) // one unit-modulus symbol per sample after normalising
		x := Normalize(z, PerSample)
		y := cfg.Transmit(z, c.snrDB, g)
		got, se := meanSE(y.Sub(x).Square().Sum(1).Float64s())
		// Given ĥ, E|x̂ − x|² = N'/(|ĥ|² + N') with N' = N0 + σ_e²; |ĥ|² ~ Exp(mean a = 1 − σ_e²), so the mean is
		// u·e^u·E1(u), u = N'/a (perfect CSI: σ_e² = 0, u = N0).
		n0 := NoiseVariance(c.snrDB)
		se2 := 0.0
		if c.csi == MMSECSI {
			se2 = 1 / (1 + float64(c.np)/n0)
		}
		u := (n0 + se2) / (1 - se2)
		want := u * math.Exp(u) * expInt1(u)
		t.Logf("%+v: MSE %.5f ± %.5f, closed form %.5f", c, got, se, want)
		if math.Abs(got-want) > zTol*se {
			t.Errorf("%+v: MSE %.5f ± %.5f, closed form %.5f", c, got, se, want)
		}
		s.Close()
	}
}

func TestPerfectCSIUnchangedByDefault(t *testing.T) {
	defer torch.LockThread()()
	s := torch.NewScope()
	defer s.Close()
	z := torch.Randn(torch.NewGenerator(torch.CPU, 14), torch.Float64, torch.CPU, 32, 8)
	base := Config{Fading: Rayleigh, Equalizer: MMSE, PowerNorm: PerSample}
	ref := base.Transmit(z, 5, torch.NewGenerator(torch.CPU, 3))
	for _, c := range []Config{
		{Fading: Rayleigh, Equalizer: MMSE, PowerNorm: PerSample, CSI: PerfectCSI, Pilots: 4},
		{Fading: Rayleigh, Equalizer: MMSE, PowerNorm: PerSample, CSI: PerfectCSI, Erasure: Erasure{}},
	} {
		if d := c.Transmit(z, 5, torch.NewGenerator(torch.CPU, 3)).Sub(ref).Abs().Amax().Item(); d != 0 {
			t.Fatalf("%+v differs from the default by %g", c, d)
		}
		if c.PilotUses() != 0 {
			t.Fatalf("perfect CSI spends %d pilot uses", c.PilotUses())
		}
	}
	est := Config{Fading: Rayleigh, Equalizer: MMSE, PowerNorm: PerSample, CSI: LSCSI, Pilots: 4}
	if est.PilotUses() != 4 {
		t.Fatalf("LS with 4 pilots spends %d uses", est.PilotUses())
	}
	if d := est.Transmit(z, 5, torch.NewGenerator(torch.CPU, 3)).Sub(ref).Abs().Amax().Item(); d < 1e-6 {
		t.Fatal("estimated CSI gave exactly the perfect-CSI output")
	}
	// Noiseless pilots estimate h exactly: the output is the perfect-CSI one.
	nl, nlEst := base, est
	nl.Noiseless, nlEst.Noiseless = true, true
	if d := nlEst.Transmit(z, 5, torch.NewGenerator(torch.CPU, 3)).Sub(nl.Transmit(z, 5, torch.NewGenerator(torch.CPU, 3))).Abs().Amax().Item(); d > 1e-12 {
		t.Fatalf("noiseless pilots: differs from perfect CSI by %g", d)
	}
}
