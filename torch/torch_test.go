package torch

import (
	"errors"
	"math"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func near(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values %v, want %d %v", name, len(got), got, len(want), want)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol || math.IsNaN(got[i]) != math.IsNaN(want[i]) {
			t.Fatalf("%s: element %d = %v, want %v (all: %v)", name, i, got[i], want[i], got)
		}
	}
}

func f64(v ...float64) *Tensor { return FromSlice(v) }

func TestShimVersionMatchesBuild(t *testing.T) {
	want := os.Getenv("TG_EXPECT_TORCH")
	if want == "" {
		t.Skip("TG_EXPECT_TORCH unset (run through make test)")
	}
	if got := TorchVersion(); got != want {
		t.Fatalf("shim reports libtorch %q, built against %q", got, want)
	}
}

func TestUnaryAndBinaryOps(t *testing.T) {
	defer LockThread()()
	s := NewScope()
	defer s.Close()
	a := f64(1, 4, 9)
	b := f64(2, -1, 0.5)
	cases := []struct {
		name string
		got  *Tensor
		want []float64
	}{
		{"Neg", a.Neg(), []float64{-1, -4, -9}},
		{"Sqrt", a.Sqrt(), []float64{1, 2, 3}},
		{"Rsqrt", a.Rsqrt(), []float64{1, 0.5, 1.0 / 3}},
		{"Exp", f64(0, 1).Exp(), []float64{1, math.E}},
		{"Log", f64(1, math.E).Log(), []float64{0, 1}},
		{"Log1p", f64(0).Log1p(), []float64{0}},
		{"Abs", b.Abs(), []float64{2, 1, 0.5}},
		{"Relu", b.Relu(), []float64{2, 0, 0.5}},
		{"Sigmoid", f64(0).Sigmoid(), []float64{0.5}},
		{"Tanh", f64(0).Tanh(), []float64{0}},
		{"Square", b.Square(), []float64{4, 1, 0.25}},
		{"Sin", f64(math.Pi / 2).Sin(), []float64{1}},
		{"Cos", f64(0).Cos(), []float64{1}},
		{"Sign", b.Sign(), []float64{1, -1, 1}},
		{"Floor", f64(1.7, -1.2).Floor(), []float64{1, -2}},
		{"Round", f64(1.4, 2.6).Round(), []float64{1, 3}},
		{"Reciprocal", b.Reciprocal(), []float64{0.5, -1, 2}},
		{"Add", a.Add(b), []float64{3, 3, 9.5}},
		{"AddScaled", a.AddScaled(b, 2), []float64{5, 2, 10}},
		{"Sub", a.Sub(b), []float64{-1, 5, 8.5}},
		{"Mul", a.Mul(b), []float64{2, -4, 4.5}},
		{"Div", a.Div(b), []float64{0.5, -4, 18}},
		{"Pow", a.Pow(f64(2, 0.5, 0)), []float64{1, 2, 1}},
		{"Maximum", a.Maximum(f64(2, 2, 2)), []float64{2, 4, 9}},
		{"Minimum", a.Minimum(f64(2, 2, 2)), []float64{1, 2, 2}},
		{"Atan2", f64(1).Atan2(f64(1)), []float64{math.Pi / 4}},
		{"Remainder", f64(7, -1).Remainder(f64(3, 3)), []float64{1, 2}},
		{"Broadcast", FromSlice([]float64{1, 2, 3, 4}, 2, 2).Add(f64(10, 20)), []float64{11, 22, 13, 24}},
		{"AddScalar", a.AddScalar(1), []float64{2, 5, 10}},
		{"SubScalar", a.SubScalar(1), []float64{0, 3, 8}},
		{"MulScalar", a.MulScalar(-2), []float64{-2, -8, -18}},
		{"DivScalar", a.DivScalar(2), []float64{0.5, 2, 4.5}},
		{"PowScalar", a.PowScalar(0.5), []float64{1, 2, 3}},
		{"ScalarSub", a.ScalarSub(10), []float64{9, 6, 1}},
		{"ScalarDiv", a.ScalarDiv(36), []float64{36, 9, 4}},
		{"ScalarPow", f64(0, 1, 3).ScalarPow(2), []float64{1, 2, 8}},
		{"ClampMin", b.ClampMin(0), []float64{2, 0, 0.5}},
		{"ClampMax", b.ClampMax(1), []float64{1, -1, 0.5}},
		{"Clamp", b.Clamp(0, 1), []float64{1, 0, 0.5}},
		{"Gt", a.GtScalar(3).ToDType(Float64), []float64{0, 1, 1}},
		{"Lt", a.LtScalar(3).ToDType(Float64), []float64{1, 0, 0}},
		{"Ge", a.GeScalar(4).ToDType(Float64), []float64{0, 1, 1}},
		{"Le", a.LeScalar(4).ToDType(Float64), []float64{1, 1, 0}},
		{"EqScalar", a.EqScalar(4).ToDType(Float64), []float64{0, 1, 0}},
		{"Eq", a.Eq(f64(1, 0, 9)).ToDType(Float64), []float64{1, 0, 1}},
		{"Ne", a.Ne(f64(1, 0, 9)).ToDType(Float64), []float64{0, 1, 0}},
		{"LogicalNot", a.GtScalar(3).LogicalNot().ToDType(Float64), []float64{1, 0, 0}},
		{"LogicalAnd", a.GtScalar(3).LogicalAnd(b.GtScalar(0)).ToDType(Float64), []float64{0, 0, 1}},
		{"LogicalOr", a.GtScalar(3).LogicalOr(b.GtScalar(0)).ToDType(Float64), []float64{1, 1, 1}},
		{"IsFinite", f64(1, math.Inf(1), math.NaN()).IsFinite().ToDType(Float64), []float64{1, 0, 0}},
		{"Where", Where(b.GtScalar(0), a, b), []float64{1, -1, 9}},
		{"MaskedFill", a.MaskedFill(b.LtScalar(0), 7), []float64{1, 7, 9}},
		{"Lerp", f64(0, 10).Lerp(f64(10, 20), f64(0.5, 0.1)), []float64{5, 11}},
	}
	for _, c := range cases {
		near(t, c.name, c.got.Float64s(), c.want, 1e-12)
	}
}

func TestReductionsAndMatmul(t *testing.T) {
	defer LockThread()()
	s := NewScope()
	defer s.Close()
	m := FromSlice([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	cases := []struct {
		name  string
		got   *Tensor
		shape []int64
		want  []float64
	}{
		{"Sum", m.Sum(), []int64{}, []float64{21}},
		{"Sum0", m.Sum(0), []int64{3}, []float64{5, 7, 9}},
		{"SumKeep1", m.SumKeep(1), []int64{2, 1}, []float64{6, 15}},
		{"Mean", m.Mean(), []int64{}, []float64{3.5}},
		{"MeanKeep0", m.MeanKeep(0), []int64{1, 3}, []float64{2.5, 3.5, 4.5}},
		{"Amax1", m.Amax(1), []int64{2}, []float64{3, 6}},
		{"AmaxKeep0", m.AmaxKeep(0), []int64{1, 3}, []float64{4, 5, 6}},
		{"Amin", m.Amin(), []int64{}, []float64{1}},
		{"Prod1", m.Prod(1), []int64{2}, []float64{6, 120}},
		{"LogSumExp", f64(0, 0).LogSumExp(0), []int64{}, []float64{math.Log(2)}},
		{"Norm", f64(3, 4).Norm(), []int64{}, []float64{5}},
		{"NormKeep1", m.NormKeep(1), []int64{2, 1}, []float64{math.Sqrt(14), math.Sqrt(77)}},
		{"VarPop", f64(1, 2, 3, 4).Var(0), []int64{}, []float64{1.25}},
		{"VarUnbiased", f64(1, 2, 3, 4).Var(1), []int64{}, []float64{5.0 / 3}},
		{"Std0", m.Std(1, 0), []int64{3}, []float64{math.Sqrt(4.5), math.Sqrt(4.5), math.Sqrt(4.5)}},
		{"ArgMax", FromSlice([]float64{1, 9, 3, 7, 2, 0}, 2, 3).ArgMax(1).ToDType(Float64), []int64{2}, []float64{1, 0}},
		{"MatMul", m.MatMul(m.T()), []int64{2, 2}, []float64{14, 32, 32, 77}},
		{"MatVec", m.MatMul(f64(1, 0, -1)), []int64{2}, []float64{-2, -2}},
		{"Softmax", f64(0, 0, 0, 0).Softmax(0), []int64{4}, []float64{0.25, 0.25, 0.25, 0.25}},
		{"LogSoftmax", f64(1, 1).LogSoftmax(0), []int64{2}, []float64{-math.Log(2), -math.Log(2)}},
	}
	for _, c := range cases {
		if got := c.got.Shape(); !SameShape(got, c.shape) {
			t.Fatalf("%s: shape %v, want %v", c.name, got, c.shape)
		}
		near(t, c.name, c.got.Float64s(), c.want, 1e-12)
	}
}

func TestShapeAndIndexOps(t *testing.T) {
	defer LockThread()()
	s := NewScope()
	defer s.Close()
	x := Arange(0, 6, 1, Float64, CPU).Reshape(2, 3)
	idx := FromSlice([]int64{2, 0})
	cases := []struct {
		name  string
		got   *Tensor
		shape []int64
		want  []float64
	}{
		{"Reshape-1", x.Reshape(-1), []int64{6}, []float64{0, 1, 2, 3, 4, 5}},
		{"T", x.T().Contiguous(), []int64{3, 2}, []float64{0, 3, 1, 4, 2, 5}},
		{"Permute", x.Permute(1, 0), []int64{3, 2}, []float64{0, 3, 1, 4, 2, 5}},
		{"Unsqueeze", x.Unsqueeze(0), []int64{1, 2, 3}, []float64{0, 1, 2, 3, 4, 5}},
		{"Squeeze", x.Unsqueeze(1).Squeeze(1), []int64{2, 3}, []float64{0, 1, 2, 3, 4, 5}},
		{"Flatten", x.Unsqueeze(0).Flatten(1, 2), []int64{1, 6}, []float64{0, 1, 2, 3, 4, 5}},
		{"Expand", f64(1, 2).Unsqueeze(1).Expand(2, 3), []int64{2, 3}, []float64{1, 1, 1, 2, 2, 2}},
		{"Repeat", f64(1, 2).Repeat(2), []int64{4}, []float64{1, 2, 1, 2}},
		{"Narrow", x.Narrow(1, 1, 2), []int64{2, 2}, []float64{1, 2, 4, 5}},
		{"Slice", x.Slice(1, 0, 3, 2), []int64{2, 2}, []float64{0, 2, 3, 5}},
		{"Select", x.Select(0, 1), []int64{3}, []float64{3, 4, 5}},
		{"IndexSelect", x.IndexSelect(1, idx), []int64{2, 2}, []float64{2, 0, 5, 3}},
		{"Gather", x.Gather(1, FromSlice([]int64{1, 2}, 2, 1)), []int64{2, 1}, []float64{1, 5}},
		{"Cat", Cat([]*Tensor{x, x}, 0), []int64{4, 3}, []float64{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5}},
		{"Stack", Stack([]*Tensor{f64(1, 2), f64(3, 4)}, 1), []int64{2, 2}, []float64{1, 3, 2, 4}},
		{"Flip", x.Flip(1), []int64{2, 3}, []float64{2, 1, 0, 5, 4, 3}},
		{"Diagonal", Arange(0, 9, 1, Float64, CPU).Reshape(3, 3).Diagonal(), []int64{3}, []float64{0, 4, 8}},
		{"DiagEmbed", f64(1, 2).DiagEmbed(), []int64{2, 2}, []float64{1, 0, 0, 2}},
		{"Eye", Eye(2, Float64, CPU), []int64{2, 2}, []float64{1, 0, 0, 1}},
		{"Full", Full(2.5, Float64, CPU, 2), []int64{2}, []float64{2.5, 2.5}},
		{"Clone", x.Clone(), []int64{2, 3}, []float64{0, 1, 2, 3, 4, 5}},
		{"ToFloat32", x.ToDType(Float32), []int64{2, 3}, []float64{0, 1, 2, 3, 4, 5}},
	}
	for _, c := range cases {
		if got := c.got.Shape(); !SameShape(got, c.shape) {
			t.Fatalf("%s: shape %v, want %v", c.name, got, c.shape)
		}
		near(t, c.name, c.got.Float64s(), c.want, 0)
	}
	if dt := x.ToDType(BFloat16).DType(); dt != BFloat16 {
		t.Fatalf("ToDType(BFloat16) gave %v", dt)
	}
	cl := Zeros(Float32, CPU, 2, 3, 4, 4).ChannelsLast()
	if !cl.IsChannelsLast() || !SameShape(cl.Shape(), []int64{2, 3, 4, 4}) {
		t.Fatalf("ChannelsLast: %v channels_last=%v", cl.Shape(), cl.IsChannelsLast())
	}
	// In-place ops change the tensor itself and mint no handle.
	y := f64(1, 2)
	before := LiveTensors()
	y.Add_(f64(1, 1)).MulScalar_(3).AddScalar_(-1).Relu_().ClampMax_(7)
	if got := LiveTensors() - before; got != 1 { // only the f64(1, 1) operand
		t.Fatalf("in-place chain minted %d handles, want 1", got)
	}
	near(t, "in-place chain", y.Float64s(), []float64{5, 7}, 0)
	z := Zeros(Float64, CPU, 2)
	z.Copy_(f64(3, 4))
	near(t, "Copy_", z.Float64s(), []float64{3, 4}, 0)
	near(t, "Fill_", z.Fill_(9).Float64s(), []float64{9, 9}, 0)
}

func TestRoundTripTypes(t *testing.T) {
	defer LockThread()()
	s := NewScope()
	defer s.Close()
	if got := ToSlice[uint8](FromSlice([]uint8{0, 7, 255})); got[1] != 7 || got[2] != 255 {
		t.Fatalf("uint8 round trip: %v", got)
	}
	if got := ToSlice[int64](FromSlice([]int64{-3, 1 << 40})); got[0] != -3 || got[1] != 1<<40 {
		t.Fatalf("int64 round trip: %v", got)
	}
	if got := ToSlice[bool](FromSlice([]bool{true, false})); !got[0] || got[1] {
		t.Fatalf("bool round trip: %v", got)
	}
	b := FromBytes(Float32, []byte{0, 0, 128, 63}, 1) // 1.0f little-endian
	if v := b.Item(); v != 1 {
		t.Fatalf("FromBytes: %v", v)
	}
	if got := f64(1, 2).ToDType(Float32).Bytes(); len(got) != 8 {
		t.Fatalf("Bytes: %d bytes", len(got))
	}
	if err := Catch(func() { FromSlice([]float32{1, 2, 3}, 2, 2) }); err == nil {
		t.Fatal("FromSlice accepted 3 values for shape [2 2]")
	}
}

func TestNNFunctional(t *testing.T) {
	defer LockThread()()
	s := NewScope()
	defer s.Close()
	x := Arange(1, 17, 1, Float64, CPU).Reshape(1, 1, 4, 4)
	w := Ones(Float64, CPU, 1, 1, 2, 2)
	// 2×2 box sum with stride 2 over 1..16.
	near(t, "Conv2d", Conv2d(x, w, f64(1), Conv2dOpts{Stride: [2]int64{2, 2}}).Float64s(), []float64{15, 23, 47, 55}, 1e-12)
	near(t, "Conv2d pad", Conv2d(f64(1).Reshape(1, 1, 1, 1), Ones(Float64, CPU, 1, 1, 3, 3), nil, Conv2dOpts{Padding: [2]int64{1, 1}}).Float64s(),
		[]float64{1}, 0)
	near(t, "MaxPool2d", MaxPool2d(x, [2]int64{2, 2}, [2]int64{2, 2}, [2]int64{}).Float64s(), []float64{6, 8, 14, 16}, 0)
	near(t, "AvgPool2d", AvgPool2d(x, [2]int64{2, 2}, [2]int64{2, 2}, [2]int64{}).Float64s(), []float64{3.5, 5.5, 11.5, 13.5}, 1e-12)
	near(t, "AdaptiveAvgPool2d", AdaptiveAvgPool2d(x, 1, 1).Float64s(), []float64{8.5}, 1e-12)
	near(t, "Linear", Linear(FromSlice([]float64{1, 2}, 1, 2), FromSlice([]float64{1, 1, 2, -1}, 2, 2), f64(0.5, 0)).Float64s(),
		[]float64{3.5, 0}, 1e-12)
	// BatchNorm in training: per-channel batch stats; running stats move by momentum.
	bx := FromSlice([]float64{1, 3}, 2, 1, 1, 1)
	rm, rv := Zeros(Float64, CPU, 1), Ones(Float64, CPU, 1)
	near(t, "BatchNorm train", BatchNorm(bx, nil, nil, rm, rv, true, 0.1, 0).Float64s(), []float64{-1, 1}, 1e-9)
	near(t, "running mean", rm.Float64s(), []float64{0.2}, 1e-12)      // 0.9*0 + 0.1*2
	near(t, "running var", rv.Float64s(), []float64{0.9 + 0.2}, 1e-12) // 0.9*1 + 0.1*unbiased var 2
	near(t, "BatchNorm eval", BatchNorm(bx, f64(2), f64(1), rm, rv, false, 0.1, 0).Float64s(),
		[]float64{2*(1-0.2)/math.Sqrt(1.1) + 1, 2*(3-0.2)/math.Sqrt(1.1) + 1}, 1e-9)
	near(t, "running mean unchanged in eval", rm.Float64s(), []float64{0.2}, 1e-12)
	// Cross-entropy: uniform logits over 4 classes give log 4.
	logits := Zeros(Float64, CPU, 2, 4)
	target := FromSlice([]int64{1, 3})
	near(t, "CrossEntropy", CrossEntropy(logits, target, ReduceMean, 0).Float64s(), []float64{math.Log(4)}, 1e-12)
	l2 := FromSlice([]float64{2, 0}, 1, 2)
	want := -(0.95*math.Log(math.Exp(2)/(math.Exp(2)+1)) + 0.05*math.Log(1/(math.Exp(2)+1)))
	near(t, "CrossEntropy smoothing", CrossEntropy(l2, FromSlice([]int64{0}), ReduceSum, 0.1).Float64s(), []float64{want}, 1e-12)
	near(t, "ResizeBilinear", ResizeBilinear(FromSlice([]float64{0, 2}, 1, 1, 1, 2), 1, 3, true).Float64s(), []float64{0, 1, 2}, 1e-12)
	// Identity affine grid reproduces the input; a horizontal flip (theta x→-x) mirrors it.
	img := FromSlice([]float64{1, 2, 3, 4}, 1, 1, 2, 2)
	id := FromSlice([]float64{1, 0, 0, 0, 1, 0}, 1, 2, 3)
	near(t, "GridSample identity", GridSample(img, AffineGrid(id, []int64{1, 1, 2, 2}, false), false, PadZeros, false).Float64s(),
		[]float64{1, 2, 3, 4}, 1e-12)
	flip := FromSlice([]float64{-1, 0, 0, 0, 1, 0}, 1, 2, 3)
	near(t, "GridSample flip", GridSample(img, AffineGrid(flip, []int64{1, 1, 2, 2}, false), false, PadZeros, false).Float64s(),
		[]float64{2, 1, 4, 3}, 1e-12)
	g := NewGenerator(CPU, 1)
	d := Dropout(g, Ones(Float64, CPU, 1000), 0.5, true).Float64s()
	zeros := 0
	for _, v := range d {
		if v == 0 {
			zeros++
		} else if v != 2 {
			t.Fatalf("Dropout kept value %v, want 2", v)
		}
	}
	if zeros < 400 || zeros > 600 {
		t.Fatalf("Dropout zeroed %d of 1000 at p=0.5", zeros)
	}
}

func TestRandomGenerators(t *testing.T) {
	defer LockThread()()
	s := NewScope()
	defer s.Close()
	a := Randn(NewGenerator(CPU, 7), Float64, CPU, 5).Float64s()
	b := Randn(NewGenerator(CPU, 7), Float64, CPU, 5).Float64s()
	c := Randn(NewGenerator(CPU, 8), Float64, CPU, 5).Float64s()
	near(t, "same seed", a, b, 0)
	if a[0] == c[0] {
		t.Fatal("different seeds gave the same draw")
	}
	g := NewGenerator(CPU, 3)
	st := g.State()
	x := Uniform(g, 0, 1, Float64, CPU, 4).Float64s()
	g.SetState(st)
	y := Uniform(g, 0, 1, Float64, CPU, 4).Float64s()
	near(t, "state restore", x, y, 0)
	for _, v := range x {
		if v < 0 || v >= 1 {
			t.Fatalf("uniform draw %v outside [0,1)", v)
		}
	}
	n := Normal(NewGenerator(CPU, 1), 3, 2, Float64, CPU, 20000)
	if m, sd := n.Mean().Item(), n.Std(1).Item(); math.Abs(m-3) > 0.05 || math.Abs(sd-2) > 0.05 {
		t.Fatalf("Normal(3,2): mean %v std %v", m, sd)
	}
	r := RandInt(g, 2, 5, CPU, 1000).Int64s()
	seen := map[int64]bool{}
	for _, v := range r {
		if v < 2 || v >= 5 {
			t.Fatalf("RandInt draw %d outside [2,5)", v)
		}
		seen[v] = true
	}
	if len(seen) != 3 {
		t.Fatalf("RandInt drew %v", seen)
	}
	p := RandPerm(g, 6, CPU).Int64s()
	sum := int64(0)
	for _, v := range p {
		sum += v
	}
	if len(p) != 6 || sum != 15 {
		t.Fatalf("RandPerm: %v", p)
	}
}

// numGrad is the central finite difference of f at x (float64).
func numGrad(f func(x *Tensor) *Tensor, x []float64, shape ...int64) []float64 {
	g := make([]float64, len(x))
	const h = 1e-6
	for i := range x {
		xp := append([]float64(nil), x...)
		xm := append([]float64(nil), x...)
		xp[i] += h
		xm[i] -= h
		var fp, fm float64
		WithScope(func() {
			fp = f(FromSlice(xp, shape...)).Item()
			fm = f(FromSlice(xm, shape...)).Item()
		})
		g[i] = (fp - fm) / (2 * h)
	}
	return g
}

func TestGradientsMatchFiniteDifferences(t *testing.T) {
	defer LockThread()()
	s := NewScope()
	defer s.Close()
	x0 := []float64{0.3, -1.2, 0.7, 2.0, -0.4, 1.1}
	w := FromSlice([]float64{0.5, -0.3, 0.8, 0.1, -0.7, 0.2}, 3, 2)
	cases := []struct {
		name string
		f    func(x *Tensor) *Tensor
	}{
		{"poly", func(x *Tensor) *Tensor { return x.Mul(x).Mul(x).MulScalar(0.1).Add(x.Sin()).Sum() }},
		// A Barlow-Twins-like correlation loss: centre, normalise, cross-correlate, penalise.
		{"correlation", func(x *Tensor) *Tensor {
			z := x.Reshape(3, 2)
			a := z.Sub(z.MeanKeep(0)).Div(z.Sub(z.MeanKeep(0)).NormKeep(0))
			zb := z.MatMul(w.T()).Tanh()
			b := zb.Sub(zb.MeanKeep(0)).Div(zb.Sub(zb.MeanKeep(0)).NormKeep(0))
			c := a.T().MatMul(b)
			on := c.Diagonal().ScalarSub(1).Square().Sum()
			off := c.Square().Sum().Sub(c.Diagonal().Square().Sum())
			return on.Add(off.MulScalar(0.0051))
		}},
		{"softmax-ce", func(x *Tensor) *Tensor {
			return CrossEntropy(x.Reshape(2, 3), FromSlice([]int64{2, 0}), ReduceMean, 0.1)
		}},
		{"logsumexp-norm", func(x *Tensor) *Tensor {
			return x.Reshape(2, 3).LogSumExp(1).Sum().Add(x.Norm()).Add(x.Exp().Log1p().Mean())
		}},
	}
	for _, c := range cases {
		x := FromSlice(x0).RequiresGrad_(true)
		c.f(x).Backward()
		near(t, c.name, x.Grad().Float64s(), numGrad(c.f, x0), 1e-6)
	}
}

func TestNoGradAndDetach(t *testing.T) {
	defer LockThread()()
	s := NewScope()
	defer s.Close()
	x := f64(1, 2).RequiresGrad_(true)
	var y *Tensor
	NoGrad(func() {
		if GradEnabled() {
			t.Fatal("grad enabled inside NoGrad")
		}
		y = x.MulScalar(2)
	})
	if !GradEnabled() {
		t.Fatal("NoGrad did not restore grad mode")
	}
	if y.RequiresGrad() || x.Detach().RequiresGrad() {
		t.Fatal("NoGrad or Detach result requires grad")
	}
	if x.Grad() != nil {
		t.Fatal("fresh leaf has a gradient")
	}
	x.Square().Sum().Backward()
	near(t, "grad", x.Grad().Float64s(), []float64{2, 4}, 0)
	x.SetGrad(nil)
	if x.Grad() != nil {
		t.Fatal("SetGrad(nil) kept the gradient")
	}
}

func TestGradModeIsThreadLocal(t *testing.T) {
	defer LockThread()()
	NoGrad(func() {
		other := make(chan bool)
		go func() {
			defer LockThread()()
			other <- GradEnabled()
		}()
		if !<-other {
			t.Fatal("grad mode off on another OS thread: it must be thread-local")
		}
	})
}

func TestAutocastCPUState(t *testing.T) {
	defer LockThread()()
	if AutocastEnabled(CPU) {
		t.Fatal("autocast on before Autocast")
	}
	Autocast(CPU, BFloat16, func() {
		if !AutocastEnabled(CPU) {
			t.Fatal("autocast off inside Autocast")
		}
		WithScope(func() {
			a := Ones(Float32, CPU, 4, 4)
			if dt := a.MatMul(a).DType(); dt != BFloat16 {
				t.Fatalf("CPU autocast matmul gave %v, want bfloat16", dt)
			}
		})
	})
	if AutocastEnabled(CPU) {
		t.Fatal("Autocast did not restore the previous state")
	}
}

func TestErrorsAreTypedAndShort(t *testing.T) {
	defer LockThread()()
	s := NewScope()
	defer s.Close()
	a, b := Ones(Float32, CPU, 2, 3), Ones(Float32, CPU, 2, 3)
	err := Catch(func() { a.MatMul(b) })
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("MatMul shape mismatch gave %v, want *Error", err)
	}
	if te.Op != "MatMul" || !strings.Contains(te.Msg, "cannot be multiplied") || strings.Contains(te.Msg, "frame #") ||
		strings.Contains(te.Msg, "Exception raised from") {
		t.Fatalf("error not short or not about shapes: %q", te.Msg)
	}
	err = Catch(func() { a.Add(Ones(Float32, CPU, 2)) })
	if !errors.As(err, &te) || !strings.Contains(te.Msg, "must match the size") {
		t.Fatalf("broadcast mismatch: %v", err)
	}
	err = Catch(func() { a.Select(0, 5) })
	if !errors.As(err, &te) || te.Kind != ErrIndex {
		t.Fatalf("out-of-range select: %v (kind %v)", err, te.Kind)
	}
	// The process lives on and later ops work.
	if v := a.Sum().Item(); v != 6 {
		t.Fatalf("after errors, sum = %v", v)
	}
	// A freed tensor panics cleanly with ErrFreed.
	c := Ones(Float32, CPU, 1)
	c.Free()
	err = Catch(func() { c.Add(a) })
	if !errors.As(err, &te) || te.Kind != ErrFreed {
		t.Fatalf("use after free: %v", err)
	}
	// Catch lets other panics through.
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("Catch swallowed a foreign panic: %v", r)
			}
		}()
		_ = Catch(func() { panic("boom") })
		t.Fatal("unreachable")
	}()
}

func TestScopesFreeEverything(t *testing.T) {
	defer LockThread()()
	base := LiveTensors()
	var kept, inner *Tensor
	WithScope(func() {
		a := Randn(nil, Float32, CPU, 8, 8)
		b := a.MatMul(a).Relu().Sum(0)
		b.Add_(Ones(Float32, CPU, 8))
		kept = b.MulScalar(2).Keep()
		WithScope(func() {
			inner = a.Add(a).Keep() // moves into the outer scope, freed with it
		})
		if !inner.Defined() {
			t.Fatal("Keep into the enclosing scope freed the tensor early")
		}
	})
	if inner.Defined() {
		t.Fatal("tensor kept into the outer scope survived the outer scope")
	}
	if !kept.Defined() || LiveTensors() != base+1 {
		t.Fatalf("after scope: kept=%v live=%d base=%d", kept.Defined(), LiveTensors(), base)
	}
	kept.Free()
	if LiveTensors() != base {
		t.Fatalf("after Free: live=%d base=%d", LiveTensors(), base)
	}
	r := Scoped(func() *Tensor { return Ones(Float32, CPU, 3).MulScalar(2).Sum() })
	if r.Item() != 6 || LiveTensors() != base+1 {
		t.Fatalf("Scoped: %v live=%d base=%d", r.Item(), LiveTensors(), base)
	}
	r.Free()
	// Scopes must close innermost first.
	outer := NewScope()
	innerS := NewScope()
	if err := Catch(outer.Close); err == nil {
		t.Fatal("closing an outer scope before its inner one was accepted")
	}
	innerS.Close()
	outer.Close()
}

func TestUnscopedTensorsFreedByGC(t *testing.T) {
	defer LockThread()()
	base := LiveTensors()
	for range 50 {
		_ = Ones(Float32, CPU, 16)
	}
	deadline := time.Now().Add(10 * time.Second)
	for LiveTensors() > base && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if LiveTensors() > base {
		t.Fatalf("GC left %d unscoped tensors alive", LiveTensors()-base)
	}
}

func TestRuntimeControls(t *testing.T) {
	defer LockThread()()
	SetNumThreads(2)
	if NumThreads() != 2 {
		t.Fatalf("NumThreads = %d after SetNumThreads(2)", NumThreads())
	}
	SetNumThreads(runtime.NumCPU())
	SetCudnnBenchmark(true)
	if !CudnnBenchmark() {
		t.Fatal("cuDNN benchmark flag did not stick")
	}
	SetCudnnBenchmark(false)
	for _, c := range []struct {
		in   string
		want Device
	}{{"cpu", CPU}, {"cuda", CUDA(0)}, {"cuda:2", CUDA(2)}} {
		if d, err := ParseDevice(c.in); err != nil || d != c.want {
			t.Fatalf("ParseDevice(%q) = %v, %v", c.in, d, err)
		}
	}
	if _, err := ParseDevice("gpu"); err == nil {
		t.Fatal("ParseDevice accepted gpu")
	}
	if _, err := ParseDType("bf16"); err != nil {
		t.Fatal(err)
	}
	if !CUDAAvailable() {
		if _, err := CUDAMemory(CUDA(0)); err == nil {
			t.Fatal("CUDAMemory succeeded without CUDA")
		}
	}
}

func TestFlushDenormal(t *testing.T) {
	defer LockThread()()
	tiny := math.SmallestNonzeroFloat32 * 4
	defer SetFlushDenormal(true)
	if !SetFlushDenormal(false) {
		t.Skip("CPU without flush-to-zero")
	}
	if v := Scoped(func() *Tensor { return FromSlice([]float32{float32(tiny)}).MulScalar(1) }).Item(); v == 0 {
		t.Fatal("denormal flushed with flushing off")
	}
	SetFlushDenormal(true)
	if v := Scoped(func() *Tensor { return FromSlice([]float32{float32(tiny)}).MulScalar(1) }).Item(); v != 0 {
		t.Fatalf("denormal %g kept with flushing on", v)
	}
}

func TestGradNormAndClip(t *testing.T) {
	defer LockThread()()
	s := NewScope()
	defer s.Close()
	a := f64(1, 2).RequiresGrad_(true)
	b := f64(3).RequiresGrad_(true)
	c := f64(5).RequiresGrad_(true)                        // no gradient: skipped
	a.Mul(f64(3, 4)).Sum().Add(b.MulScalar(12)).Backward() // grads (3, 4) and 12: norm 13
	ps := []*Tensor{a, b, c}
	n := GradNorm(ps)
	near(t, "GradNorm", n.Float64s(), []float64{13}, 1e-6)
	ClipGrad(ps, n, 6.5) // halve every gradient
	near(t, "clipped a", a.Grad().Float64s(), []float64{1.5, 2}, 1e-6)
	near(t, "clipped b", b.Grad().Float64s(), []float64{6}, 1e-6)
	ClipGrad(ps, GradNorm(ps), 100) // under the limit: unchanged
	near(t, "unclipped", b.Grad().Float64s(), []float64{6}, 1e-6)
	ZeroGrad(ps)
	if a.Grad() != nil || b.Grad() != nil {
		t.Fatal("ZeroGrad left gradients")
	}
}

func TestRunUsesOneThreadAndRaisesPanics(t *testing.T) {
	var tids [2]int
	for i := range tids {
		Run(func() { tids[i] = syscall.Gettid() })
	}
	if tids[0] != tids[1] || tids[0] == 0 {
		t.Fatalf("Run used threads %v, want one", tids)
	}
	var v float64
	Run(func() { v = Scoped(func() *Tensor { return FromSlice([]float32{2}).MulScalar(3) }).Item() })
	if v != 6 {
		t.Fatalf("Run result %v", v)
	}
	defer func() {
		if _, ok := recover().(*Error); !ok {
			t.Fatal("a libtorch error inside Run did not reach the caller as *Error")
		}
	}()
	Run(func() { WithScope(func() { Ones(Float32, CPU, 2).Add(Ones(Float32, CPU, 3)) }) })
}

func TestDefaultsOnTheWorkingThread(t *testing.T) {
	if os.Getenv("SEMCOM_KEEP_DENORMALS") != "" {
		t.Skip("SEMCOM_KEEP_DENORMALS set")
	}
	// Flushing denormals is on by default on whatever thread LockThread pins (here the torch thread).
	var v float64
	Run(func() {
		v = Scoped(func() *Tensor { return FromSlice([]float32{math.SmallestNonzeroFloat32 * 4}).MulScalar(1) }).Item()
	})
	if v != 0 && cpuFlushesDenormals() {
		t.Fatalf("denormal %g kept on the torch thread", v)
	}
	if !KeepFreedCPUMemory() {
		t.Fatal("glibc refused the malloc settings")
	}
}

// cpuFlushesDenormals asks libtorch without changing the setting (x86: yes; most ARM builds: no).
func cpuFlushesDenormals() bool {
	supported := false
	Run(func() { supported = SetFlushDenormal(true) })
	return supported
}

func TestConstantIsSharedAndOutlivesScopes(t *testing.T) {
	defer LockThread()()
	var a, b, c *Tensor
	WithScope(func() {
		WithScope(func() { a = Constant(CPU, []float32{1, 2, 3}, 1, 3) })
		b = Constant(CPU, []float32{1, 2, 3}, 1, 3)
		c = Constant(CPU, []float32{1, 2, 3}, 3)
	})
	if a != b {
		t.Fatal("the same constant was made twice")
	}
	if a == c {
		t.Fatal("a constant of another shape was shared")
	}
	// Still alive after the scopes that made them closed.
	if got := a.Float32s(); len(got) != 3 || got[2] != 3 || a.Size(0) != 1 {
		t.Fatalf("constant %v %v", got, a.Shape())
	}
	if d := Constant(CPU, []int64{1, 2, 3}, 3); d.DType() != Int64 || d == c {
		t.Fatalf("an int64 constant of the same numbers: %v", d.DType())
	}
}
