package data

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/semcom/semcom/torch"
)

func TestDesignIsFullFactorial(t *testing.T) {
	for classes, want := range map[int][3]int{8: {2, 2, 2}, 12: {2, 3, 2}, 18: {2, 3, 3}, 27: {3, 3, 3}} {
		d, err := NewDesign(classes, [3]int{}, 0.5)
		if err != nil || d.Levels != want {
			t.Fatalf("%d classes: levels %v (%v), want %v", classes, d.Levels, err, want)
		}
		seen := map[[3]int]bool{}
		for k := range classes {
			f := d.Factors(k)
			for i := range 3 {
				if f[i] < 0 || f[i] >= d.Levels[i] {
					t.Fatalf("class %d: factor %v out of range", k, f)
				}
			}
			seen[f] = true
		}
		if len(seen) != d.Levels[0]*d.Levels[1]*d.Levels[2] { // every combination, each once
			t.Fatalf("%d classes cover %d of the %v combinations", classes, len(seen), d.Levels)
		}
	}
	_, err := NewDesign(10, [3]int{}, 0.5)
	if err == nil || !strings.Contains(err.Error(), "valid class counts: 8, 12, 16, 18, 20, 24, 27, 28") {
		t.Fatalf("10 classes: %v", err)
	}
	if d, err := NewDesign(12, [3]int{3, 2, 2}, 0); err != nil || d.Factors(11) != [3]int{2, 1, 1} {
		t.Fatalf("explicit levels: %v %v", d, err)
	}
}

// TestOracleWorkedByHand: levels (2, 3, 2) at difficulty 0.5 have σ = 0.25 spacings, so a factor is right
// with Φ(2) = 0.97725 at an end level and 2Φ(2) − 1 = 0.95450 inside: 0.97725 for two levels,
// (2·0.97725 + 0.95450)/3 = 0.96967 for three. Both modalities: 0.97725² · 0.96967 = 0.92607; RGB alone
// guesses the depth factor: 0.97725 · 0.96967 / 2 = 0.47380; depth alone: 0.97725² / 3 = 0.31834.
func TestOracleWorkedByHand(t *testing.T) {
	d, _ := NewDesign(12, [3]int{}, 0.5)
	rgb, depth, both := d.Oracle()
	for _, c := range []struct{ got, want float64 }{{both, 0.92607}, {rgb, 0.47380}, {depth, 0.31834}} {
		if math.Abs(c.got-c.want) > 5e-5 {
			t.Fatalf("oracle %.5f, want %.5f (by hand)", c.got, c.want)
		}
	}
	// The same by simulation of the nearest-level rule on noisy latents.
	r := rand.New(rand.NewPCG(1, 2))
	correct, n := 0, 200000
	for range n {
		ok := true
		for _, l := range d.Levels {
			level := r.IntN(l)
			guess := int(math.Round(float64(level) + d.sigma()*r.NormFloat64()))
			ok = ok && min(max(guess, 0), l-1) == level
		}
		if ok {
			correct++
		}
	}
	if sim := float64(correct) / float64(n); math.Abs(sim-both) > 0.003 {
		t.Fatalf("simulated oracle %.4f, analytic %.4f", sim, both)
	}
	if d0, _ := NewDesign(8, [3]int{}, 0); func() bool { _, _, b := d0.Oracle(); return b != 1 }() {
		t.Fatal("difficulty 0 should be separable")
	}
}

func TestSyntheticV2(t *testing.T) {
	defer torch.LockThread()()
	c := SyntheticConfig{Train: 48, Test: 24, Size: 32, Classes: 12, Noise: 0.05, Seed: 3, Difficulty: 0.5}
	a, err := Synthetic(c)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Synthetic(c)
	if string(a.Train.Images[0].Bytes()) != string(b.Train.Images[0].Bytes()) || a.Design == nil || a.Design.Levels != [3]int{2, 3, 2} {
		t.Fatal("version 2 is not deterministic or lacks its design")
	}
	labels := a.Train.Labels.Int64s()
	for i, l := range labels {
		f := a.Design.Factors(int(l))
		for j, name := range FactorNames {
			if a.Train.Factors[name][i] != int64(f[j]) {
				t.Fatalf("sample %d: factor %s = %d, class %d has %v", i, name, a.Train.Factors[name][i], l, f)
			}
		}
	}
	for k, n := range ClassCounts(labels, 12) {
		if n != 4 {
			t.Fatalf("class %d: %d samples", k, n)
		}
	}
	if err := a.HoldOutValidation(0.25, 1); err != nil {
		t.Fatal(err)
	}
	if a.Val.N() != 12 || a.Train.N() != 36 || len(a.Val.Factors["shared"]) != 12 {
		t.Fatalf("validation split: %d val, %d train", a.Val.N(), a.Train.N())
	}
	for k, n := range ClassCounts(a.Val.Labels.Int64s(), 12) {
		if n != 1 {
			t.Fatalf("validation class %d: %d samples, want 1 (stratified)", k, n)
		}
	}
}

// TestRegisteredAugmentation: one geometric draw applied to two modalities crops and flips them identically;
// two draws do not.
func TestRegisteredAugmentation(t *testing.T) {
	defer torch.LockThread()()
	ds := small(t, 6)
	s := torch.NewScope()
	defer s.Close()
	xs, _ := ds.Train.Batch(torch.Arange(0, 16, 1, torch.Int64, torch.CPU))
	rgb := xs[0]
	depth := rgb.Narrow(1, 0, 1).Contiguous() // a "depth" image equal to the red channel
	a := Augment{CropScale: [2]float64{0.3, 1}, Flip: 0.5, DepthJitter: 0}
	g := torch.NewGenerator(torch.CPU, 4)
	geo := a.DrawGeometry(g, 16, torch.CPU)
	r1 := a.ApplyGeometry(g, geo, rgb, ds.Modalities[0], 24)
	d1 := a.ApplyGeometry(g, geo, depth, ds.Modalities[1], 24)
	if diff := r1.Narrow(1, 0, 1).Sub(d1).Abs().Amax().Item(); diff > 1e-6 {
		t.Fatalf("registered: the crops differ by %g", diff)
	}
	r2 := a.Apply(g, rgb, ds.Modalities[0], 24)
	d2 := a.Apply(g, depth, ds.Modalities[1], 24)
	if diff := r2.Narrow(1, 0, 1).Sub(d2).Abs().Amax().Item(); diff < 0.05 {
		t.Fatalf("independent draws gave the same crops (%g)", diff)
	}
}
