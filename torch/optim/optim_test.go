package optim

import (
	"math"
	"testing"

	"github.com/semcom/semcom/torch"
)

// fixtureLoss matches the shim's reference loss: Σ(0.1·p³ + sin p).
func fixtureLoss(ps []*torch.Tensor) *torch.Tensor {
	loss := torch.Zeros(torch.Float64, torch.CPU)
	for _, p := range ps {
		loss = loss.Add(p.Mul(p).Mul(p).MulScalar(0.1).Add(p.Sin()).Sum())
	}
	return loss
}

func initParams() []*torch.Tensor {
	g := torch.NewGenerator(torch.CPU, 11)
	return []*torch.Tensor{
		torch.Randn(g, torch.Float64, torch.CPU, 4, 3).RequiresGrad_(true),
		torch.Randn(g, torch.Float64, torch.CPU, 5).RequiresGrad_(true),
	}
}

func run(o Optimizer, ps []*torch.Tensor, steps int) {
	for range steps {
		torch.WithScope(func() {
			o.ZeroGrad()
			fixtureLoss(ps).Backward()
			o.Step()
		})
	}
}

func maxDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

func TestSGDMatchesLibtorch(t *testing.T) {
	defer torch.LockThread()()
	cases := []struct {
		name                    string
		momentum, dampening, wd float64
		nesterov                bool
	}{
		{"plain", 0, 0, 0, false},
		{"momentum", 0.9, 0, 0, false},
		{"dampening", 0.9, 0.3, 0, false},
		{"nesterov+wd", 0.9, 0, 1e-2, true},
		{"wd", 0, 0, 5e-2, false},
	}
	for _, c := range cases {
		ps := initParams()
		ref := torch.ReferenceOptimize(torch.ReferenceSGD, ps, 5, 0.1, c.momentum, c.dampening, c.wd, c.nesterov, 0, 0, 0)
		o := NewSGD(ps, 0.1, c.momentum, c.wd, c.nesterov)
		o.Dampening = c.dampening
		run(o, ps, 5)
		for i := range ps {
			if d := maxDiff(ps[i].Float64s(), ref[i].Float64s()); d > 1e-6 {
				t.Fatalf("%s: param %d differs from torch::optim::SGD by %g", c.name, i, d)
			}
		}
		if g := ps[0].Grad(); g == nil {
			t.Fatal("gradient missing after backward")
		}
		o.ZeroGrad()
		if ps[0].Grad() != nil {
			t.Fatalf("%s: ZeroGrad left a gradient (must reset to none)", c.name)
		}
	}
}

func TestAdamWMatchesLibtorch(t *testing.T) {
	defer torch.LockThread()()
	ps := initParams()
	ref := torch.ReferenceOptimize(torch.ReferenceAdamW, ps, 5, 0.05, 0, 0, 0.1, false, 0.9, 0.999, 1e-8)
	o := NewAdamW(ps, 0.05, 0.1)
	run(o, ps, 5)
	for i := range ps {
		if d := maxDiff(ps[i].Float64s(), ref[i].Float64s()); d > 1e-6 {
			t.Fatalf("param %d differs from torch::optim::AdamW by %g", i, d)
		}
	}
}

func TestLARSFormula(t *testing.T) {
	defer torch.LockThread()()
	w := torch.FromSlice([]float64{3, 4}, 1, 2).RequiresGrad_(true) // 2-d: adapted, ‖w‖ = 5
	b := torch.FromSlice([]float64{1, -1}).RequiresGrad_(true)      // 1-d: plain
	ps := []*torch.Tensor{w, b}
	o := NewLARS(ps, 0.5, 0.9, 0.1, 0.001)
	o.BiasLRFactor = 0.5 // biases step with 0.25
	step := func() {
		torch.WithScope(func() {
			o.ZeroGrad()
			w.Sum().Add(b.Square().Sum()).Backward() // grads: w → 1, b → 2b
			o.Step()
		})
	}
	// By hand, step 1: dp = g + 0.1·w = (1.3, 1.4); q = 0.001·5/‖dp‖; mu = q·dp; w -= 0.5·mu.
	dp := []float64{1.3, 1.4}
	q := 0.001 * 5 / math.Hypot(dp[0], dp[1])
	wantW := []float64{3 - 0.5*q*dp[0], 4 - 0.5*q*dp[1]}
	mu := []float64{q * dp[0], q * dp[1]}
	wantB := []float64{1 - 0.25*2, -1 + 0.25*2}
	step()
	if d := maxDiff(w.Float64s(), wantW); d > 1e-12 {
		t.Fatalf("LARS weight after step 1: %v, want %v", w.Float64s(), wantW)
	}
	if d := maxDiff(b.Float64s(), wantB); d > 1e-12 {
		t.Fatalf("LARS bias after step 1: %v, want %v", b.Float64s(), wantB)
	}
	if st, _ := o.State(); len(st) != 2 {
		t.Fatalf("LARS state has %d tensors, want a momentum buffer per parameter", len(st))
	}
	// Step 2 uses momentum on the stored buffer.
	wv := w.Float64s()
	dp = []float64{1 + 0.1*wv[0], 1 + 0.1*wv[1]}
	q = 0.001 * math.Hypot(wv[0], wv[1]) / math.Hypot(dp[0], dp[1])
	want2 := []float64{wv[0] - 0.5*(0.9*mu[0]+q*dp[0]), wv[1] - 0.5*(0.9*mu[1]+q*dp[1])}
	step()
	if d := maxDiff(w.Float64s(), want2); d > 1e-12 {
		t.Fatalf("LARS weight after step 2: %v, want %v", w.Float64s(), want2)
	}
}

func TestStateRoundTrip(t *testing.T) {
	defer torch.LockThread()()
	ps := initParams()
	a := NewSGD(ps, 0.1, 0.9, 0, true)
	run(a, ps, 2)
	st, steps := a.State()
	ps2 := []*torch.Tensor{ps[0].Detach().Clone().RequiresGrad_(true), ps[1].Detach().Clone().RequiresGrad_(true)}
	b := NewSGD(ps2, 0.1, 0.9, 0, true)
	if err := b.LoadState(st, steps); err != nil {
		t.Fatal(err)
	}
	run(a, ps, 3)
	run(b, ps2, 3)
	for i := range ps {
		if d := maxDiff(ps[i].Float64s(), ps2[i].Float64s()); d != 0 {
			t.Fatalf("resumed SGD differs by %g", d)
		}
	}
	if err := b.LoadState(map[string]*torch.Tensor{}, 0); err == nil {
		t.Fatal("LoadState accepted a state without momentum buffers")
	}
}

func TestSchedules(t *testing.T) {
	cases := []struct {
		name  string
		s     Schedule
		step  int
		total int
		want  float64
	}{
		{"constant", Constant{0.3}, 50, 100, 0.3},
		{"step before", StepDecay{1, 0.1, 10}, 9, 100, 1},
		{"step after two", StepDecay{1, 0.1, 10}, 25, 100, 0.01},
		{"warmup first", WarmupCosine{1, 10, 0}, 0, 100, 0.1},
		{"warmup end", WarmupCosine{1, 10, 0}, 9, 100, 1},
		{"cosine start", WarmupCosine{1, 10, 0}, 10, 100, 1},
		{"cosine middle", WarmupCosine{2, 0, 0}, 50, 101, 1},
		{"cosine last", WarmupCosine{1, 10, 0.001}, 99, 100, 0.001},
	}
	for _, c := range cases {
		if got := c.s.At(c.step, c.total); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: At(%d,%d) = %v, want %v", c.name, c.step, c.total, got, c.want)
		}
	}
	if _, err := ParseSchedule("linear", 1, 0, 0, 0, 0); err == nil {
		t.Error("ParseSchedule accepted an unknown name")
	}
}
