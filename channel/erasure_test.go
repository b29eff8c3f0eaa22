package channel

import (
	"math"
	"strings"
	"testing"

	"github.com/semcom/semcom/torch"
)

// drawLosses runs one device's eraser over n consecutive samples in batches of b (the state carries over).
func drawLosses(e Erasure, g *torch.Generator, n, b int) []bool {
	r := e.NewEraser()
	var lost []bool
	for len(lost) < n {
		lost = append(lost, r.Lost(g, int64(b))...)
	}
	return lost[:n]
}

// runs are the lengths of the maximal runs of v (true: bursts; false: gaps), the first and last dropped
// (they are cut by the window).
func runs(lost []bool, v bool) []float64 {
	var out []float64
	cur := 0
	first := true
	for i, l := range lost {
		if l == v {
			cur++
			continue
		}
		if cur > 0 && !(first && i == cur) {
			out = append(out, float64(cur))
		}
		cur, first = 0, false
	}
	return out
}

func rate(lost []bool) float64 {
	k := 0
	for _, l := range lost {
		if l {
			k++
		}
	}
	return float64(k) / float64(len(lost))
}

func TestIndependentErasureRate(t *testing.T) {
	defer torch.LockThread()()
	const n = 1_000_000
	g := torch.NewGenerator(torch.CPU, 21)
	for _, p := range []float64{0, 0.05, 0.3, 1} {
		s := torch.NewScope()
		got := rate(drawLosses(Erasure{P: p}, g, n, 1000))
		se := math.Sqrt(p * (1 - p) / n)
		if math.Abs(got-p) > zTol*se {
			t.Errorf("p=%v: loss rate %.5f ± %.5f", p, got, se)
		}
		s.Close()
	}
}

func TestGilbertElliottRateAndBursts(t *testing.T) {
	defer torch.LockThread()()
	const n = 1_000_000
	g := torch.NewGenerator(torch.CPU, 22)
	for _, c := range []struct{ pgb, pbg float64 }{{0.05, 0.25}, {0.01, 0.5}, {0.2, 0.1}} {
		s := torch.NewScope()
		e := Erasure{PGB: c.pgb, PBG: c.pbg}
		lost := drawLosses(e, g, n, 777)
		// Stationary loss rate π_B = p_gb/(p_gb + p_bg) = 1/(1 + p_bg/p_gb). The chain's lag-k correlation is
		// λ^k, λ = 1 − p_gb − p_bg, so the mean's variance is π(1−π)/n·(1+λ)/(1−λ).
		pi := 1 / (1 + c.pbg/c.pgb)
		lam := 1 - c.pgb - c.pbg
		se := math.Sqrt(pi * (1 - pi) / n * (1 + lam) / (1 - lam))
		if got := rate(lost); math.Abs(got-pi) > zTol*se || math.Abs(e.LossRate()-pi) > 1e-15 {
			t.Errorf("%+v: loss rate %.5f ± %.5f, want %.5f (LossRate %v)", c, got, se, pi, e.LossRate())
		}
		// Bursts are geometric on {1, 2, …}: mean 1/p_bg; gaps likewise with mean 1/p_gb. Runs are independent.
		for _, r := range []struct {
			v    bool
			name string
			mean float64
		}{{true, "burst", 1 / c.pbg}, {false, "gap", 1 / c.pgb}} {
			got, se := meanSE(runs(lost, r.v))
			if math.Abs(got-r.mean) > zTol*se {
				t.Errorf("%+v: mean %s length %.4f ± %.4f, want %.4f", c, r.name, got, se, r.mean)
			}
		}
		s.Close()
	}
}

func TestEraserSeeded(t *testing.T) {
	defer torch.LockThread()()
	s := torch.NewScope()
	defer s.Close()
	e := Erasure{PGB: 0.1, PBG: 0.3}
	a := drawLosses(e, torch.NewGenerator(torch.CPU, 5), 5000, 100)
	b := drawLosses(e, torch.NewGenerator(torch.CPU, 5), 5000, 100)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different losses at sample %d", i)
		}
	}
}

func TestEraseZeroesLostDeviceWithMask(t *testing.T) {
	defer torch.LockThread()()
	s := torch.NewScope()
	defer s.Close()
	g := torch.NewGenerator(torch.CPU, 23)
	z := torch.Randn(g, torch.Float64, torch.CPU, 6, 8).RequiresGrad_(true)
	y := Config{Fading: Rayleigh, Equalizer: MMSE, PowerNorm: PerSample}.Transmit(z, 0, g)
	lost := []bool{false, true, false, false, true, true}
	erased, mask := Erase(y, lost)
	if sh := mask.Shape(); len(sh) != 2 || sh[0] != 6 || sh[1] != 1 || mask.DType() != torch.Float64 {
		t.Fatalf("mask shape %v dtype %v, want [6 1] float64", sh, mask.DType())
	}
	got, orig, m := erased.Float64s(), y.Float64s(), mask.Float64s()
	for i, l := range lost {
		if (m[i] == 0) != l || (m[i] != 0 && m[i] != 1) {
			t.Fatalf("sample %d lost=%v: mask %v", i, l, m[i])
		}
		for k := 0; k < 8; k++ {
			v := got[i*8+k]
			if l && (v != 0 || math.Signbit(v)) {
				t.Fatalf("lost sample %d feature %d = %v, want exactly +0", i, k, v)
			}
			if !l && v != orig[i*8+k] {
				t.Fatalf("received sample %d feature %d changed: %v → %v", i, k, orig[i*8+k], v)
			}
		}
	}
	// No gradient reaches a lost sample's features; received ones still get theirs.
	erased.Sum().Backward()
	gr := z.Grad().Float64s()
	for i, l := range lost {
		var sum float64
		for k := 0; k < 8; k++ {
			sum += math.Abs(gr[i*8+k])
		}
		if l != (sum == 0) {
			t.Fatalf("sample %d lost=%v: |grad| sum %v", i, l, sum)
		}
	}
	// Everything lost with p = 1, nothing with the zero value.
	if l := (Erasure{P: 1}).NewEraser().Lost(g, 10); rate(l) != 1 {
		t.Fatalf("p = 1 lost %v", l)
	}
	if l := (Erasure{}).NewEraser().Lost(g, 10); rate(l) != 0 {
		t.Fatalf("no erasure lost %v", l)
	}
}

func TestValidateCSIAndErasure(t *testing.T) {
	ok := Config{Fading: Rayleigh, Equalizer: MMSE, PowerNorm: PerSample}
	for _, c := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.CSI = "blind" }, "csi"},
		{func(c *Config) { c.CSI = LSCSI; c.Pilots = 0 }, "pilots"},
		{func(c *Config) { c.CSI = MMSECSI; c.CSIErrorVar = -0.1; c.Pilots = 1 }, "csi_error_var"},
		{func(c *Config) { c.Erasure.P = 1.5 }, "erasure.p"},
		{func(c *Config) { c.Erasure.PGB = -0.1 }, "erasure.p_gb"},
		{func(c *Config) { c.Erasure.PGB = 0.1 }, "erasure.p_bg"},
		{func(c *Config) { c.Erasure = Erasure{P: 0.1, PGB: 0.1, PBG: 0.1} }, "one model"},
	} {
		cfg := ok
		c.edit(&cfg)
		err := cfg.Validate()
		if err == nil || !contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one naming %q", cfg, err, c.want)
		}
	}
	for _, c := range []Config{ok, {Fading: Rician, Equalizer: ZeroForcing, PowerNorm: PerSample, CSI: LSCSI, Pilots: 1},
		{Fading: NoFading, Equalizer: MMSE, PowerNorm: PerBatch, CSI: MMSECSI, CSIErrorVar: 0.05, Erasure: Erasure{PGB: 0.1, PBG: 0.5}}} {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
