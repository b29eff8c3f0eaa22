package models

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/nn"
	"github.com/semcom/semcom/torch/optim"
	"github.com/semcom/semcom/torch/safetensors"
)

func shapeString(s []int64) string {
	if len(s) == 0 {
		return "scalar"
	}
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, "x")
}

func TestResNet18MatchesTorchvision(t *testing.T) {
	defer torch.LockThread()()
	f, err := os.Open("../../shared/reference/torchvision-resnet18-state-dict.tsv")
	if err != nil {
		t.Skipf("torchvision reference not available: %v", err)
	}
	defer f.Close()
	type row struct{ name, shape, kind string }
	var want []row
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		p := strings.Split(line, "\t")
		want = append(want, row{p[0], p[1], p[2]})
	}
	r := NewResNet18(ResNetConfig{InChannels: 3, Width: 64, NumClasses: 1000}, torch.NewGenerator(torch.CPU, 0))
	got := r.Store.Entries()
	if len(got) != len(want) {
		t.Fatalf("%d entries, torchvision has %d", len(got), len(want))
	}
	for i, w := range want {
		e := got[i]
		kind := map[nn.Kind]string{nn.Param: "param", nn.Buffer: "buffer"}[e.Kind]
		if e.Name != w.name || shapeString(e.Tensor.Shape()) != w.shape || kind != w.kind {
			t.Fatalf("entry %d: %s %s %s, torchvision %s %s %s", i, e.Name, shapeString(e.Tensor.Shape()), kind, w.name, w.shape, w.kind)
		}
	}
	if n := r.Store.NumParams(); n != 11689512 {
		t.Fatalf("with fc: %d parameters, want 11,689,512", n)
	}
	if r.NumBN() != 20 {
		t.Fatalf("%d BN layers, want 20", r.NumBN())
	}
}

func TestResNet18ParameterCounts(t *testing.T) {
	defer torch.LockThread()()
	cases := []struct {
		in   int64
		want int64
	}{{3, 11176512}, {1, 11170240}}
	for _, c := range cases {
		r := NewResNet18(ResNetConfig{InChannels: c.in, Width: 64}, torch.NewGenerator(torch.CPU, 0))
		if n := r.Store.NumParams(); n != c.want {
			t.Errorf("in=%d: %d parameters, want %d", c.in, n, c.want)
		}
		if r.FeatureDim() != 512 {
			t.Errorf("feature dim %d", r.FeatureDim())
		}
	}
}

func TestResNet18ForwardAndInit(t *testing.T) {
	defer torch.LockThread()()
	g := torch.NewGenerator(torch.CPU, 1)
	r := NewResNet18(ResNetConfig{InChannels: 1, Width: 8, ZeroInitResidual: true}, g)
	// torchvision init: conv weights N(0, 2/fan_out); BN weight 1 (0 for zero-init bn2), bias 0.
	w := r.Store.Get("layer3.0.conv1.weight")
	if std, want := w.Std(1).Item(), math.Sqrt(2.0/float64(32*9)); math.Abs(std-want)/want > 0.1 {
		t.Fatalf("conv init std %v, want %v", std, want)
	}
	if v := r.Store.Get("layer1.0.bn2.weight").Abs().Sum().Item(); v != 0 {
		t.Fatal("zero-init residual left bn2.weight non-zero")
	}
	if v := r.Store.Get("layer1.0.bn1.weight").Mean().Item(); v != 1 {
		t.Fatal("bn1.weight not initialised to 1")
	}
	torch.WithScope(func() {
		x := torch.Randn(g, torch.Float32, torch.CPU, 2, 1, 32, 32)
		y := r.Forward(x, false)
		if s := y.Shape(); len(s) != 2 || s[0] != 2 || s[1] != 64 {
			t.Fatalf("output shape %v, want [2 64]", s)
		}
		before := r.Store.Get("bn1.running_mean").Float32s()
		r.Forward(x, false)
		after := r.Store.Get("bn1.running_mean").Float32s()
		if before[0] != after[0] {
			t.Fatal("eval forward changed running statistics")
		}
		r.Forward(x, true)
		if r.Store.Get("bn1.running_mean").Float32s()[0] == before[0] {
			t.Fatal("train forward left running statistics unchanged")
		}
	})
}

// toyBatch: class 1 images are brighter in the top half, class 0 in the bottom half, plus noise.
func toyBatch(g *torch.Generator, n int64) (x, y *torch.Tensor) {
	y = torch.RandInt(g, 0, 2, torch.CPU, n)
	top := y.ToDType(torch.Float32).MulScalar(2).SubScalar(1).Reshape(n, 1, 1, 1) // ±1
	rows := torch.Arange(0, 32, 1, torch.Float32, torch.CPU).LtScalar(16).ToDType(torch.Float32).MulScalar(2).SubScalar(1)
	pattern := top.Mul(rows.Reshape(1, 1, 32, 1)).Expand(n, 3, 32, 32)
	x = pattern.Add(torch.Randn(g, torch.Float32, torch.CPU, n, 3, 32, 32).MulScalar(0.5))
	return x, y
}

func TestTinyResNetLearnsAndDoesNotLeak(t *testing.T) {
	defer torch.LockThread()()
	g := torch.NewGenerator(torch.CPU, 2)
	r := NewResNet18(ResNetConfig{InChannels: 3, Width: 8, NumClasses: 2}, g)
	o := optim.NewSGD(r.Store.Params(), 0.05, 0.9, 1e-4, false)
	base := torch.LiveTensors()
	var first, last float64
	const steps = 200
	losses := make([]float64, 0, steps)
	for step := range steps {
		s := torch.NewScope()
		x, y := toyBatch(g, 16)
		loss := torch.CrossEntropy(r.Forward(x, true), y, torch.ReduceMean, 0)
		o.ZeroGrad()
		loss.Backward()
		o.Step()
		losses = append(losses, loss.Item())
		s.Close()
		if step == 0 {
			base = torch.LiveTensors() // momentum buffers exist from construction; gradients persist between steps
		}
		if step > 0 && torch.LiveTensors() != base {
			t.Fatalf("step %d: %d live tensors, %d after step 0 (leak)", step, torch.LiveTensors(), base)
		}
	}
	for _, l := range losses[:10] {
		first += l / 10
	}
	for _, l := range losses[steps-10:] {
		last += l / 10
	}
	if last > first/4 {
		t.Fatalf("loss fell from %.3f to %.3f only", first, last)
	}
}

func TestMLPNamesAndShapes(t *testing.T) {
	defer torch.LockThread()()
	s := nn.NewStore()
	m := NewMLP(s.Root().Sub("projector"), torch.NewGenerator(torch.CPU, 0), []int64{16, 32, 32, 8})
	var names []string
	for _, e := range s.NamedParams() {
		names = append(names, e.Name+":"+shapeString(e.Tensor.Shape()))
	}
	want := "projector.0.weight:32x16 projector.1.weight:32 projector.1.bias:32 projector.3.weight:32x32 " +
		"projector.4.weight:32 projector.4.bias:32 projector.6.weight:8x32 projector.6.bias:8"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("MLP params\n got %s\nwant %s", got, want)
	}
	torch.WithScope(func() {
		y := m.Forward(torch.Randn(nil, torch.Float32, torch.CPU, 4, 16), true)
		if s := y.Shape(); s[0] != 4 || s[1] != 8 {
			t.Fatalf("MLP output %v", s)
		}
	})
}

func TestLoadPretrainedAdaptsConv1(t *testing.T) {
	defer torch.LockThread()()
	src := NewResNet18(ResNetConfig{InChannels: 3, Width: 8, NumClasses: 10}, torch.NewGenerator(torch.CPU, 1))
	path := filepath.Join(t.TempDir(), "rgb.safetensors")
	if err := safetensors.Save(path, src.Store.StateDict(), nil); err != nil {
		t.Fatal(err)
	}
	depth := NewResNet18(ResNetConfig{InChannels: 1, Width: 8}, torch.NewGenerator(torch.CPU, 2))
	loaded, err := depth.LoadPretrained(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != len(depth.Store.Entries()) {
		t.Fatalf("loaded %d of %d entries", len(loaded), len(depth.Store.Entries()))
	}
	torch.WithScope(func() {
		want := src.Store.Get("conv1.weight").SumKeep(1).Float32s()
		got := depth.Store.Get("conv1.weight").Float32s()
		for i := range want {
			if math.Abs(float64(want[i]-got[i])) > 1e-6 {
				t.Fatalf("conv1 adaptation: %v vs %v", got[i], want[i])
			}
		}
		a, b := src.Store.Get("layer2.0.downsample.1.running_var").Float32s(), depth.Store.Get("layer2.0.downsample.1.running_var").Float32s()
		if a[0] != b[0] {
			t.Fatal("buffers not loaded")
		}
	})
	wide := NewResNet18(ResNetConfig{InChannels: 3, Width: 16}, torch.NewGenerator(torch.CPU, 2))
	if _, err := wide.LoadPretrained(path); err == nil || !strings.Contains(err.Error(), "rgb.safetensors") {
		t.Fatalf("width mismatch: %v", err)
	}
}

func TestResNet18ParamsFormula(t *testing.T) {
	for _, c := range []struct{ in, width int64 }{{3, 64}, {1, 64}, {3, 16}, {1, 4}, {3, 5}} {
		r := NewResNet18(ResNetConfig{InChannels: c.in, Width: c.width}, torch.NewGenerator(torch.CPU, 0))
		if got, want := ResNet18Params(c.in, c.width), r.Store.NumParams(); got != want {
			t.Errorf("ResNet18Params(%d, %d) = %d, the built model has %d", c.in, c.width, got, want)
		}
	}
	// Activations grow with the image area and the width; a 224 px image at width 64 keeps some millions.
	if a, b := ResNet18Activations(3, 64, 224), ResNet18Activations(3, 64, 112); a < 3*b || a < 2e6 || a > 2e7 {
		t.Errorf("activations at 224 px: %d, at 112 px: %d", a, b)
	}
}
