package channel

import (
	"math"
	"testing"

	"github.com/semcom/semcom/torch"
)

func TestPowerNormalisation(t *testing.T) {
	defer torch.LockThread()()
	s := torch.NewScope()
	defer s.Close()
	z := torch.Randn(torch.NewGenerator(torch.CPU, 1), torch.Float64, torch.CPU, 8, 16).MulScalar(3).AddScalar(1)
	per := Normalize(z, PerSample).Square().Sum(1).DivScalar(8).Float64s() // Σ(re²+im²)/(K/2)
	for i, p := range per {
		if math.Abs(p-1) > 1e-9 {
			t.Fatalf("sample %d: symbol power %v, want 1", i, p)
		}
	}
	if p := Normalize(z, PerBatch).Square().Sum().Item() / (8 * 8); math.Abs(p-1) > 1e-9 {
		t.Fatalf("batch symbol power %v, want 1", p)
	}
}

func TestEmpiricalSNR(t *testing.T) {
	defer torch.LockThread()()
	s := torch.NewScope()
	defer s.Close()
	g := torch.NewGenerator(torch.CPU, 2)
	z := torch.Randn(g, torch.Float64, torch.CPU, 1000, 200) // 10^5 complex symbols
	for _, snr := range []float64{-5, 0, 10, 20} {
		c := Config{Fading: NoFading, Equalizer: NoEqualizer, PowerNorm: PerSample}
		x := Normalize(z, PerSample)
		y := c.Transmit(z, snr, g)
		noise := y.Sub(x).Square().Sum().Item()
		signal := x.Square().Sum().Item()
		got := 10 * math.Log10(signal/noise)
		if math.Abs(got-snr) > 0.1 {
			t.Fatalf("SNR %v dB: measured %.3f dB", snr, got)
		}
	}
}

func TestZeroForcingWithoutNoiseReturnsInput(t *testing.T) {
	defer torch.LockThread()()
	s := torch.NewScope()
	defer s.Close()
	g := torch.NewGenerator(torch.CPU, 3)
	z := torch.Randn(g, torch.Float64, torch.CPU, 16, 8)
	for _, f := range []Fading{NoFading, Rayleigh, Rician} {
		c := Config{Fading: f, RicianK: 3, Equalizer: ZeroForcing, PowerNorm: PerSample, Noiseless: true}
		y := c.Transmit(z, 0, g)
		if d := y.Sub(Normalize(z, PerSample)).Abs().Amax().Item(); d > 1e-9 {
			t.Fatalf("%s + ZF, no noise: differs from the normalised input by %g", f, d)
		}
		c.Equalizer = NoEqualizer
		if f != NoFading {
			if d := c.Transmit(z, 0, g).Sub(Normalize(z, PerSample)).Abs().Amax().Item(); d < 1e-3 {
				t.Fatalf("%s without equalisation left the symbols unchanged", f)
			}
		}
	}
}

func TestFadingStatistics(t *testing.T) {
	defer torch.LockThread()()
	s := torch.NewScope()
	defer s.Close()
	g := torch.NewGenerator(torch.CPU, 4)
	for _, c := range []Config{{Fading: Rayleigh}, {Fading: Rician, RicianK: 4}} {
		hr, hi := c.Coefficients(g, 200000, torch.Float64, torch.CPU)
		if p := hr.Square().Add(hi.Square()).Mean().Item(); math.Abs(p-1) > 0.01 {
			t.Fatalf("%s: E|h|² = %v, want 1", c.Fading, p)
		}
		if c.Fading == Rician {
			if m := hr.Mean().Item(); math.Abs(m-math.Sqrt(0.8)) > 0.01 {
				t.Fatalf("Rician LOS mean %v, want %v", m, math.Sqrt(0.8))
			}
		}
	}
}

func TestMMSEShrinksTowardsZeroAtLowSNR(t *testing.T) {
	defer torch.LockThread()()
	s := torch.NewScope()
	defer s.Close()
	z := torch.Randn(torch.NewGenerator(torch.CPU, 5), torch.Float64, torch.CPU, 64, 8)
	c := Config{Fading: Rayleigh, Equalizer: MMSE, PowerNorm: PerSample}
	// Same draws for both SNRs: MMSE output power falls with the SNR, ZF's does not.
	low := c.Transmit(z, -10, torch.NewGenerator(torch.CPU, 9)).Square().Mean().Item()
	high := c.Transmit(z, 30, torch.NewGenerator(torch.CPU, 9)).Square().Mean().Item()
	if !(low < high) {
		t.Fatalf("MMSE output power at -10 dB %v not below 30 dB %v", low, high)
	}
}

func TestEvaluationNoiseReproducible(t *testing.T) {
	defer torch.LockThread()()
	s := torch.NewScope()
	defer s.Close()
	z := torch.Randn(torch.NewGenerator(torch.CPU, 6), torch.Float32, torch.CPU, 4, 8)
	c := Config{Fading: Rayleigh, Equalizer: ZeroForcing, PowerNorm: PerSample}
	a := c.Transmit(z, 5, torch.NewGenerator(torch.CPU, 42)).Float32s()
	b := c.Transmit(z, 5, torch.NewGenerator(torch.CPU, 42)).Float32s()
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different channel output")
		}
	}
}

func TestGradientsThroughChannel(t *testing.T) {
	defer torch.LockThread()()
	s := torch.NewScope()
	defer s.Close()
	z0 := []float64{0.5, -1, 2, 0.3, 1.5, -0.7, 0.2, 0.9}
	w := torch.FromSlice([]float64{1, -2, 0.5, 3, -1, 0.25, 2, -0.5}, 2, 4)
	for _, cfg := range []Config{
		{Fading: Rayleigh, Equalizer: MMSE, PowerNorm: PerSample},
		{Fading: Rician, RicianK: 2, Equalizer: NoEqualizer, PowerNorm: PerBatch},
	} {
		f := func(z *torch.Tensor) *torch.Tensor {
			return cfg.Transmit(z.Reshape(2, 4), 3, torch.NewGenerator(torch.CPU, 7)).Mul(w).Sum()
		}
		z := torch.FromSlice(z0).RequiresGrad_(true)
		f(z).Backward()
		got := z.Grad().Float64s()
		for i := range z0 {
			zp := append([]float64(nil), z0...)
			zm := append([]float64(nil), z0...)
			zp[i] += 1e-6
			zm[i] -= 1e-6
			num := (f(torch.FromSlice(zp)).Item() - f(torch.FromSlice(zm)).Item()) / 2e-6
			if math.Abs(num-got[i]) > 1e-6 {
				t.Fatalf("%s/%s: d/dz[%d] autograd %v, finite difference %v", cfg.Fading, cfg.Equalizer, i, got[i], num)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	bad := []Config{
		{Fading: "awgn", Equalizer: ZeroForcing, PowerNorm: PerSample},
		{Fading: NoFading, Equalizer: "lmmse", PowerNorm: PerSample},
		{Fading: NoFading, Equalizer: ZeroForcing, PowerNorm: "symbol"},
		{Fading: Rician, RicianK: -1, Equalizer: ZeroForcing, PowerNorm: PerSample},
	}
	for _, c := range bad {
		if c.Validate() == nil {
			t.Errorf("accepted %+v", c)
		}
	}
	if err := (Config{Fading: NoFading, Equalizer: NoEqualizer, PowerNorm: PerBatch}).Validate(); err != nil {
		t.Error(err)
	}
}
