package nn

import (
	"math"
	"testing"

	"github.com/semcom/semcom/torch"
)

func TestStoreNamesOrderAndLoad(t *testing.T) {
	defer torch.LockThread()()
	g := torch.NewGenerator(torch.CPU, 1)
	s := NewStore()
	NewConv2d(s.Root().Sub("conv1"), g, 3, 4, 3, 1, 1, false)
	NewBatchNorm(s.Root().Sub("bn1"), 4)
	NewLinear(s.Root().Sub("head").Sub("0"), g, 4, 2, true)
	var names []string
	for _, e := range s.Entries() {
		names = append(names, e.Name)
	}
	want := []string{"conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
		"bn1.num_batches_tracked", "head.0.weight", "head.0.bias"}
	if len(names) != len(want) {
		t.Fatalf("names %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("names %v, want %v", names, want)
		}
	}
	if n := s.NumParams(); n != 3*4*9+4+4+4*2+2 {
		t.Fatalf("NumParams = %d", n)
	}
	if len(s.Params()) != 5 || !s.Params()[0].RequiresGrad() || s.Get("bn1.running_mean").RequiresGrad() {
		t.Fatal("params/buffers flags wrong")
	}
	// Load from another store with the same layout copies values; strict rejects extras and shape errors.
	s2 := NewStore()
	NewConv2d(s2.Root().Sub("conv1"), torch.NewGenerator(torch.CPU, 2), 3, 4, 3, 1, 1, false)
	if _, err := s2.Load(s.StateDict(), true); err == nil {
		t.Fatal("strict load accepted unexpected keys")
	}
	if _, err := s2.Load(s.StateDict(), false); err != nil {
		t.Fatal(err)
	}
	a, b := s.Get("conv1.weight").Float32s(), s2.Get("conv1.weight").Float32s()
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("Load did not copy values")
		}
	}
	s3 := NewStore()
	NewConv2d(s3.Root().Sub("conv1"), g, 3, 5, 3, 1, 1, false)
	if _, err := s3.Load(s.StateDict(), false); err == nil {
		t.Fatal("Load accepted a shape mismatch")
	}
}

func TestInitialisers(t *testing.T) {
	defer torch.LockThread()()
	g := torch.NewGenerator(torch.CPU, 3)
	s := NewStore()
	l := NewLinear(s.Root().Sub("fc"), g, 100, 50, true)
	bound := 1 / math.Sqrt(100)
	for _, v := range l.Weight.Float32s() {
		if math.Abs(float64(v)) > bound {
			t.Fatalf("Linear weight %v outside ±%v", v, bound)
		}
	}
	c := NewConv2d(s.Root().Sub("c"), g, 16, 64, 3, 1, 1, false)
	KaimingNormalFanOut(c.Weight, g)
	std := c.Weight.Std(1).Item()
	if want := math.Sqrt(2.0 / (64 * 9)); math.Abs(std-want)/want > 0.05 {
		t.Fatalf("kaiming fan_out std %v, want %v", std, want)
	}
	if c.Weight.Grad() != nil || !c.Weight.RequiresGrad() {
		t.Fatal("in-place init broke the leaf")
	}
}

func TestBatchNormTrainEvalAndCounter(t *testing.T) {
	defer torch.LockThread()()
	s := NewStore()
	bn := NewBatchNorm(s.Root().Sub("bn"), 2)
	torch.WithScope(func() {
		x := torch.FromSlice([]float32{1, 10, 3, 30}, 2, 2)
		y := bn.Forward(x, true).Float32s()
		for i, w := range []float32{-1, -1, 1, 1} {
			if math.Abs(float64(y[i]-w)) > 1e-3 {
				t.Fatalf("train BN output %v", y)
			}
		}
		rm := bn.RunningMean.Float32s()
		if math.Abs(float64(rm[0]-0.2)) > 1e-6 || math.Abs(float64(rm[1]-2.0)) > 1e-6 {
			t.Fatalf("running mean %v", rm)
		}
		bn.Forward(x, false)
	})
	if n := bn.NumBatchesTracked.Int64s()[0]; n != 1 || bn.NumBatchesTracked.DType() != torch.Int64 {
		t.Fatalf("num_batches_tracked = %d (%v), want 1 int64 (eval must not count)", n, bn.NumBatchesTracked.DType())
	}
}

// TestSyncBatchNormFormula: with a one-rank "sum" (identity), the synchronised path computes what libtorch's
// batch norm computes — output, gradients and running statistics.
func TestSyncBatchNormFormula(t *testing.T) {
	defer torch.LockThread()()
	run := func(sync bool) []float32 {
		s := NewStore()
		bn := NewBatchNorm(s.Root(), 3)
		if sync {
			bn.Sync = func(x *torch.Tensor) *torch.Tensor { return x }
		}
		bn.Weight.Detach().Copy_(torch.FromSlice([]float32{0.5, 1.5, -1}))
		x := torch.Normal(torch.NewGenerator(torch.CPU, 3), 1, 2, torch.Float32, torch.CPU, 5, 3, 4, 4).RequiresGrad_(true)
		y := bn.Forward(x, true)
		y.Mul(y).Sum().Backward()
		out := append(y.Contiguous().Float32s(), x.Grad().Contiguous().Float32s()...)
		out = append(out, bn.Weight.Grad().Float32s()...)
		return append(append(out, bn.RunningMean.Float32s()...), bn.RunningVar.Float32s()...)
	}
	a, b := run(false), run(true)
	for i := range a {
		if d := math.Abs(float64(a[i] - b[i])); d > 1e-4*math.Max(1, math.Abs(float64(a[i]))) {
			t.Fatalf("value %d: libtorch %v, synchronised path %v", i, a[i], b[i])
		}
	}
}
