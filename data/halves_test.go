package data

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/semcom/semcom/data/mnist"
	"github.com/semcom/semcom/torch"
)

func classCounts(labels []int64, idx []int64, classes int) []int {
	sub := make([]int64, len(idx))
	for i, j := range idx {
		sub[i] = labels[j]
	}
	return ClassCounts(sub, classes)
}

func TestLabelsPerClassExactAndNested(t *testing.T) {
	labels := make([]int64, 0, 400)
	for c, n := range []int{150, 120, 100, 30} { // class 3 has fewer than the largest budget
		for range n {
			labels = append(labels, int64(c))
		}
	}
	var prev []int64
	for _, k := range []int{1, 10, 100} {
		idx, err := LabelsPerClass(labels, k, 3)
		if err != nil {
			t.Fatal(err)
		}
		want := []int{k, k, k, min(k, 30)}
		if got := classCounts(labels, idx, 4); !slices.Equal(got, want) {
			t.Fatalf("k=%d: per-class counts %v, want %v", k, got, want)
		}
		if !slices.IsSorted(idx) {
			t.Fatalf("k=%d: indices not sorted", k)
		}
		for _, i := range prev { // the smaller budget's labels are among the larger one's (paired budgets)
			if _, ok := slices.BinarySearch(idx, i); !ok {
				t.Fatalf("k=%d does not contain the smaller budget's sample %d", k, i)
			}
		}
		prev = idx
	}
	a, _ := LabelsPerClass(labels, 10, 3)
	b, _ := LabelsPerClass(labels, 10, 3)
	c, _ := LabelsPerClass(labels, 10, 4)
	if !slices.Equal(a, b) || slices.Equal(a, c) {
		t.Fatal("the draw is not a function of the seed alone")
	}
	if _, err := LabelsPerClass(labels, 0, 1); err == nil {
		t.Fatal("0 labels per class accepted")
	}
}

// Hamilton's apportionment worked by hand: classes of 5, 3 and 2 (N = 10), n = 5: quotas 2.5, 1.5, 1 →
// floors 2, 1, 1, and the one left over goes to the tied remainders' lower class → 3, 1, 1.
func TestStratifiedSubsetHandWorked(t *testing.T) {
	labels := []int64{0, 1, 0, 2, 0, 1, 0, 2, 0, 1}
	for _, c := range []struct {
		n    int
		want []int
	}{{5, []int{3, 1, 1}}, {10, []int{5, 3, 2}}, {1, []int{1, 0, 0}}, {7, []int{4, 2, 1}}} {
		idx, err := StratifiedSubset(labels, c.n, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := classCounts(labels, idx, 3); len(idx) != c.n || !slices.Equal(got, c.want) {
			t.Errorf("n=%d: %d samples, per class %v, want %v", c.n, len(idx), got, c.want)
		}
	}
	for _, n := range []int{0, 11} {
		if _, err := StratifiedSubset(labels, n, 1); err == nil {
			t.Errorf("subset of %d of 10 accepted", n)
		}
	}
}

func halvesOrSkip(t *testing.T, c HalvesConfig) *Dataset {
	t.Helper()
	ds, err := Halves(c)
	if err != nil {
		if strings.Contains(err.Error(), mnist.ErrNotFound.Error()) {
			t.Skipf("%v", err)
		}
		t.Fatal(err)
	}
	return ds
}

// The dataset the trainer gets: two one-channel 28×28 modalities that are the padded halves of the
// original images, the official test split whole, a subset of exactly the asked size with MNIST's class
// balance, and a validation hold-out that works on it.
func TestMNISTHalvesDataset(t *testing.T) {
	defer torch.LockThread()()
	ds := halvesOrSkip(t, HalvesConfig{Kind: "mnist", Square: mnist.Pad, Train: 1000, Seed: 5})
	if ds.Name != "mnist-halves" || len(ds.Modalities) != 2 || ds.Modalities[0].Name != "left" || ds.Modalities[1].Channels != 1 || len(ds.ClassNames) != 10 {
		t.Fatalf("dataset %s, modalities %+v, classes %v", ds.Name, ds.Modalities, ds.ClassNames)
	}
	if ds.Train.N() != 1000 || ds.Test.N() != 10000 || ds.Train.Size() != 28 || ds.Test.Images[1].Size(3) != 1 {
		t.Fatalf("%d train / %d test of %d px", ds.Train.N(), ds.Test.N(), ds.Train.Size())
	}
	// MNIST's 60000 training labels per class, apportioned to 1000 by hand: 98.72 112.37 99.30 102.18 97.37
	// 90.35 98.63 104.42 97.52 99.15 → floors sum to 996, the 4 largest remainders (.72 .63 .52 .42) add one.
	if got, want := ClassCounts(ds.Train.Labels.Int64s(), 10), []int{99, 112, 99, 102, 97, 90, 99, 105, 98, 99}; !slices.Equal(got, want) {
		t.Fatalf("training class counts %v, want %v", got, want)
	}
	if got := ds.Test.Labels.Int64s()[:10]; !slices.Equal(got, []int64{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}) {
		t.Fatalf("first test labels %v", got)
	}
	raw, err := mnist.MNIST.Load("", true)
	if err != nil {
		t.Fatal(err)
	}
	l, r, _, err := mnist.Halves(raw.Test, []int{0, 9999}, mnist.Pad)
	if err != nil {
		t.Fatal(err)
	}
	left, right := torch.ToSlice[uint8](ds.Test.Images[0]), torch.ToSlice[uint8](ds.Test.Images[1])
	n := 28 * 28
	if !bytes.Equal(left[:n], l[:n]) || !bytes.Equal(right[:n], r[:n]) || !bytes.Equal(left[9999*n:], l[n:]) || !bytes.Equal(right[9999*n:], r[n:]) {
		t.Fatal("test images are not the halves of the originals")
	}
	// The normalisation statistics are the left modality's own: its right half is blank.
	if m := ds.Modalities[0].Mean[0]; m <= 0 || m >= 0.1307 {
		t.Fatalf("left mean %g: want below the whole image's 0.1307", m)
	}
	if err := ds.HoldOutValidation(0.1, 3); err != nil {
		t.Fatal(err)
	}
	// LabelFraction rounds 10% of each class: 9.9 11.2 9.9 10.2 9.7 9 9.9 10.5 9.8 9.9 → 101 in all.
	if ds.Val.N() != 101 || ds.Train.N() != 899 {
		t.Fatalf("validation %d / train %d", ds.Val.N(), ds.Train.N())
	}
}

func TestFashionMNISTHalvesAndErrors(t *testing.T) {
	defer torch.LockThread()()
	if _, err := Halves(HalvesConfig{Kind: "mnist", Dir: t.TempDir(), Square: mnist.Pad}); err == nil || !strings.Contains(err.Error(), "go mod download") {
		t.Fatalf("empty folder: %v", err)
	}
	if _, err := Halves(HalvesConfig{Kind: "mnist", Square: "crop"}); err == nil || !strings.Contains(err.Error(), "want pad or stretch") {
		t.Fatalf("bad square: %v", err)
	}
	if _, err := Halves(HalvesConfig{Kind: "mnist", Square: mnist.Pad, Test: 10001}); err == nil || !strings.Contains(err.Error(), "MNIST test: subset of 10001 samples: want 1..10000") {
		t.Fatalf("oversized subset: %v", err)
	}
	ds := halvesOrSkip(t, HalvesConfig{Kind: "fashion-mnist", Square: mnist.Stretch, Train: 200, Test: 100, Seed: 1})
	if ds.Name != "fashion-mnist-halves" || ds.ClassNames[9] != "Ankle boot" || ds.Train.N() != 200 || ds.Test.N() != 100 {
		t.Fatalf("%s: %v, %d / %d", ds.Name, ds.ClassNames, ds.Train.N(), ds.Test.N())
	}
	for k, n := range ClassCounts(ds.Test.Labels.Int64s(), 10) {
		if n != 10 {
			t.Fatalf("class %d has %d of the 100 test images, want 10 (Fashion-MNIST is balanced)", k, n)
		}
	}
}
