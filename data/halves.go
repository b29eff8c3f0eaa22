package data

import (
	"fmt"

	"github.com/semcom/semcom/data/mnist"
)

// HalvesConfig selects the two-device MNIST or Fashion-MNIST halves.
type HalvesConfig struct {
	Kind string // mnist or fashion-mnist
	Dir  string // the folder with the idx files ("": GoMNIST in the module cache, or Debian's fashion-mnist)
	// Square makes each 28×14 half square (mnist.Pad: the other half blanked; mnist.Stretch: columns doubled).
	Square mnist.Square
	// Train and Test keep a seeded class-stratified subset of exactly that many images (0: all 60000 / 10000),
	// for CPU-sized runs; Seed draws them.
	Train, Test int
	Seed        uint64
}

// Halves loads the Deep CCA two-view split of MNIST or Fashion-MNIST (Andrew et al., ICML 2013): device 1
// ("left") sees the left 28×14 half of each image and device 2 ("right") the right half of the same image,
// so a pair needs no label, and a half alone can be ambiguous (each device holds class information of its
// own). The official 60000/10000 train/test split is kept; the files are checked against their pinned
// SHA-256 first.
func Halves(c HalvesConfig) (*Dataset, error) {
	src, err := mnist.Lookup(c.Kind)
	if err != nil {
		return nil, err
	}
	if _, err := mnist.ParseSquare(string(c.Square)); err != nil {
		return nil, err
	}
	raw, err := src.Load(c.Dir, true)
	if err != nil {
		return nil, err
	}
	part := func(name string, im *mnist.Images, labels []uint8, keep int, seed uint64) (RawSplit, error) {
		l := make([]int64, len(labels))
		for i, x := range labels {
			l[i] = int64(x)
		}
		var idx []int
		if keep != 0 {
			sub, err := StratifiedSubset(l, keep, seed)
			if err != nil {
				return RawSplit{}, fmt.Errorf("%s %s: %w", src.Title, name, err)
			}
			idx = make([]int, len(sub))
			kept := make([]int64, len(sub))
			for i, j := range sub {
				idx[i], kept[i] = int(j), l[j]
			}
			l = kept
		}
		left, right, _, err := mnist.Halves(im, idx, c.Square)
		if err != nil {
			return RawSplit{}, err
		}
		return RawSplit{Images: [][]uint8{left, right}, Labels: l}, nil
	}
	train, err := part("train", raw.Train, raw.TrainLabels, c.Train, c.Seed)
	if err != nil {
		return nil, err
	}
	test, err := part("test", raw.Test, raw.TestLabels, c.Test, c.Seed+1)
	if err != nil {
		return nil, err
	}
	return FromArrays(src.Kind+"-halves", src.Classes, []Modality{{Name: "left", Channels: 1}, {Name: "right", Channels: 1}}, raw.Train.Rows, train, test)
}
