package data

import (
	"math"
	"testing"

	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/optim"
)

func small(t *testing.T, seed uint64) *Dataset {
	t.Helper()
	ds, err := Synthetic(SyntheticConfig{Train: 600, Test: 300, Size: 32, Classes: 10, Noise: 0.1, Seed: seed, Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestSyntheticDeterministicAndBalanced(t *testing.T) {
	defer torch.LockThread()()
	a, b, c := small(t, 1), small(t, 1), small(t, 2)
	if string(a.Train.Images[0].Bytes()) != string(b.Train.Images[0].Bytes()) ||
		string(a.Test.Images[1].Bytes()) != string(b.Test.Images[1].Bytes()) {
		t.Fatal("same seed rendered different data")
	}
	if string(a.Train.Images[0].Bytes()) == string(c.Train.Images[0].Bytes()) {
		t.Fatal("different seeds rendered the same data")
	}
	if s := a.Train.Images[0].Shape(); s[0] != 600 || s[1] != 32 || s[3] != 3 || a.Train.Images[1].Size(3) != 1 {
		t.Fatalf("shapes %v %v", s, a.Train.Images[1].Shape())
	}
	for k, n := range ClassCounts(a.Test.Labels.Int64s(), 10) {
		if n != 30 {
			t.Fatalf("class %d has %d test samples, want 30", k, n)
		}
	}
	seen := map[string]bool{}
	for _, n := range a.ClassNames {
		if seen[n] {
			t.Fatalf("duplicate class name %q in %v", n, a.ClassNames)
		}
		seen[n] = true
	}
	for _, m := range a.Modalities {
		for c := range m.Mean {
			if m.Mean[c] <= 0 || m.Mean[c] >= 1 || m.Std[c] <= 0.01 {
				t.Fatalf("%s stats mean %v std %v", m.Name, m.Mean, m.Std)
			}
		}
	}
	for _, bad := range []SyntheticConfig{{Train: 10, Test: 10, Size: 32, Classes: 1, Version: 1}, {Train: 10, Test: 10, Size: 8, Classes: 2, Version: 1},
		{Train: 3, Test: 10, Size: 32, Classes: 5, Version: 1}, {Train: 10, Test: 10, Size: 32, Classes: 2, Noise: 2, Version: 1},
		{Train: 24, Test: 24, Size: 32, Classes: 10}, {Train: 24, Test: 24, Size: 32, Classes: 8, Levels: [3]int{2, 4, 1}},
		{Train: 24, Test: 24, Size: 8, Classes: 8}, {Train: 24, Test: 24, Size: 32, Classes: 8, Difficulty: 2}} {
		if _, err := Synthetic(bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

// probe trains a linear classifier (softmax regression) on pooled pixels of the chosen modalities and
// returns its test accuracy.
func probe(ds *Dataset, mods []int) float64 {
	feats := func(s *Split) *torch.Tensor {
		var fs []*torch.Tensor
		all := torch.Arange(0, float64(s.N()), 1, torch.Int64, torch.CPU)
		xs, _ := s.Batch(all)
		for _, m := range mods {
			x := ds.Modalities[m].Normalize(xs[m])
			fs = append(fs, torch.AvgPool2d(x, [2]int64{2, 2}, [2]int64{2, 2}, [2]int64{}).Flatten(1, -1))
		}
		return torch.Cat(fs, 1)
	}
	var acc float64
	torch.WithScope(func() {
		xtr, xte := feats(ds.Train), feats(ds.Test)
		g := torch.NewGenerator(torch.CPU, 0)
		w := torch.Normal(g, 0, 0.01, torch.Float32, torch.CPU, 10, xtr.Size(1)).RequiresGrad_(true)
		b := torch.Zeros(torch.Float32, torch.CPU, 10).RequiresGrad_(true)
		o := optim.NewAdamW([]*torch.Tensor{w, b}, 0.01, 0.01)
		for range 300 {
			torch.WithScope(func() {
				o.ZeroGrad()
				torch.CrossEntropy(torch.Linear(xtr, w, b), ds.Train.Labels, torch.ReduceMean, 0).Backward()
				o.Step()
			})
		}
		pred := torch.Linear(xte, w, b).ArgMax(1)
		acc = pred.Eq(ds.Test.Labels).ToDType(torch.Float32).Mean().Item()
	})
	return acc
}

func TestLinearProbeNeedsBothModalities(t *testing.T) {
	defer torch.LockThread()()
	ds := small(t, 3)
	rgb, depth, both := probe(ds, []int{0}), probe(ds, []int{1}), probe(ds, []int{0, 1})
	t.Logf("linear probe test accuracy: rgb %.3f, depth %.3f, both %.3f", rgb, depth, both)
	if both < math.Max(rgb, depth)+0.15 {
		t.Fatalf("both modalities (%.3f) not clearly better than rgb (%.3f) or depth (%.3f) alone", both, rgb, depth)
	}
	if rgb < 0.2 || depth < 0.2 {
		t.Fatalf("a single modality is near chance: rgb %.3f depth %.3f (it should carry part of the class)", rgb, depth)
	}
}

func TestBatchLayoutAndSubset(t *testing.T) {
	defer torch.LockThread()()
	ds := small(t, 4)
	s := torch.NewScope()
	defer s.Close()
	idx := torch.FromSlice([]int64{5, 0})
	xs, y := ds.Train.Batch(idx)
	if sh := xs[0].Shape(); sh[0] != 2 || sh[1] != 3 || sh[2] != 32 || sh[3] != 32 {
		t.Fatalf("rgb batch shape %v", sh)
	}
	if !xs[0].IsChannelsLast() {
		t.Fatal("batch from NHWC storage should be channels_last")
	}
	raw := ds.Train.Images[0].Select(0, 5).Select(2, 1).Float32s()[0] / 255 // pixel (0,0) green of sample 5
	if got := xs[0].Select(0, 0).Select(0, 1).Float32s()[0]; math.Abs(float64(got-raw)) > 1e-6 {
		t.Fatalf("pixel %v, want %v", got, raw)
	}
	if l := y.Int64s(); l[0] != 5%10 || l[1] != 0 {
		t.Fatalf("labels %v", l)
	}
	sub := ds.Train.Subset([]int64{1, 2, 3})
	defer sub.Free()
	if sub.N() != 3 || sub.Labels.Int64s()[2] != 3 {
		t.Fatalf("subset labels %v", sub.Labels.Int64s())
	}
}

func TestLabelFractionStratified(t *testing.T) {
	labels := make([]int64, 100)
	for i := range labels {
		labels[i] = int64(i % 4)
		if i >= 80 {
			labels[i] = 3 // class 3 has 35 samples
		}
	}
	idx, err := LabelFraction(labels, 0.5, 7)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]int64, len(idx))
	for i, j := range idx {
		got[i] = labels[j]
	}
	counts := ClassCounts(got, 4)
	full := ClassCounts(labels, 4)
	for c := range counts {
		if want := int(float64(full[c])*0.5 + 0.5); counts[c] != want {
			t.Fatalf("class %d: %d of %d kept, want %d", c, counts[c], full[c], want)
		}
	}
	again, _ := LabelFraction(labels, 0.5, 7)
	other, _ := LabelFraction(labels, 0.5, 8)
	same, diff := true, false
	for i := range idx {
		same = same && idx[i] == again[i]
		diff = diff || idx[i] != other[i]
	}
	if !same || !diff {
		t.Fatalf("seeding: same=%v differs-with-other-seed=%v", same, diff)
	}
	if all, _ := LabelFraction(labels, 1, 0); len(all) != 100 {
		t.Fatalf("fraction 1 kept %d", len(all))
	}
	for _, f := range []float64{0, -0.5, 1.5} {
		if _, err := LabelFraction(labels, f, 0); err == nil {
			t.Errorf("fraction %v accepted", f)
		}
	}
}

func TestAugment(t *testing.T) {
	defer torch.LockThread()()
	ds := small(t, 5)
	s := torch.NewScope()
	defer s.Close()
	idx := torch.Arange(0, 64, 1, torch.Int64, torch.CPU)
	xs, _ := ds.Train.Batch(idx)
	rgb, depth := xs[0], xs[1]
	// Everything off and no crop: identity up to resampling.
	id := Augment{}.Apply(torch.NewGenerator(torch.CPU, 1), rgb, ds.Modalities[0], 32)
	if d := id.Sub(rgb).Abs().Amax().Item(); d > 1e-5 {
		t.Fatalf("identity augmentation changed pixels by %g", d)
	}
	flip := Augment{Flip: 1}.Apply(torch.NewGenerator(torch.CPU, 1), rgb, ds.Modalities[0], 32)
	if d := flip.Sub(rgb.Flip(3)).Abs().Amax().Item(); d > 1e-5 {
		t.Fatalf("flip with p=1 is not a mirror (%g)", d)
	}
	g := Augment{Grayscale: 1}.Apply(torch.NewGenerator(torch.CPU, 1), rgb, ds.Modalities[0], 32)
	if d := g.Select(1, 0).Sub(g.Select(1, 2)).Abs().Amax().Item(); d > 1e-6 {
		t.Fatal("grayscale p=1 left colour")
	}
	drop := Augment{DepthDropout: 0.3}.Apply(torch.NewGenerator(torch.CPU, 1), depth.AddScalar(0.01).Clamp(0.01, 1), ds.Modalities[1], 32)
	if z := drop.EqScalar(0).ToDType(torch.Float32).Mean().Item(); math.Abs(z-0.3) > 0.02 {
		t.Fatalf("depth dropout zeroed %.3f of pixels, want 0.3", z)
	}
	full := Augment{CropScale: [2]float64{0.5, 1}, Flip: 0.5, ColorJitter: 0.8, Grayscale: 0.2, Blur: 0.5, Noise: 0.02}
	a1 := full.Apply(torch.NewGenerator(torch.CPU, 9), rgb, ds.Modalities[0], 24)
	a2 := full.Apply(torch.NewGenerator(torch.CPU, 9), rgb, ds.Modalities[0], 24)
	if sh := a1.Shape(); sh[2] != 24 || sh[3] != 24 || a1.Amin().Item() < 0 || a1.Amax().Item() > 1 {
		t.Fatalf("augmented batch %v range [%v, %v]", sh, a1.Amin().Item(), a1.Amax().Item())
	}
	if d := a1.Sub(a2).Abs().Amax().Item(); d != 0 {
		t.Fatal("same generator seed, different augmentation")
	}
	if d := a1.Sub(torch.ResizeBilinear(rgb, 24, 24, false)).Abs().Mean().Item(); d < 0.01 {
		t.Fatal("full augmentation left the batch almost unchanged")
	}
	dj := Augment{DepthJitter: 1, CropScale: [2]float64{0.5, 1}}.Apply(torch.NewGenerator(torch.CPU, 2), depth, ds.Modalities[1], 32)
	if dj.Size(1) != 1 {
		t.Fatal("depth augmentation changed the channel count")
	}
}
