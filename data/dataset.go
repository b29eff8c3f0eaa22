// Package data provides multi-modal scene datasets (samples × modalities, labels, train/test split): the
// embedded synthetic RGB-D scenes that need no download, batched augmentation as tensor ops on the
// training device, and seeded class-stratified label subsets.
package data

import (
	"fmt"
	"math"

	"github.com/semcom/semcom/torch"
)

// Modality describes one sensor's images.
type Modality struct {
	Name     string // "rgb", "depth", "hha"
	Channels int64
	// Mean and Std per channel, of the [0,1] pixel values over the training split, for normalisation.
	Mean, Std []float64
}

// Split is one part of a dataset held as tensors: per modality uint8 images (N, H, W, C) and int64 labels (N).
type Split struct {
	Images []*torch.Tensor
	Labels *torch.Tensor
	// Factors holds each sample's generating factor levels by factor name, where the data has them (the
	// version-2 synthetic scenes), for probes that test which factor a representation holds.
	Factors map[string][]int64
}

// Dataset is a multi-modal classification dataset.
type Dataset struct {
	Name        string
	Modalities  []Modality
	ClassNames  []string
	Train, Test *Split
	// Val is a labelled part held out of Train for every selection (best epoch, targets); nil until
	// HoldOutValidation.
	Val *Split
	// Design is the generating design of synthetic version-2 data (nil otherwise).
	Design *Design
}

// N is the number of samples.
func (s *Split) N() int64 { return s.Labels.Size(0) }

// Size is the image height and width (square images).
func (s *Split) Size() int64 { return s.Images[0].Size(1) }

// To moves the split to dev in place (keeping uint8, so a whole dataset fits on a GPU).
func (s *Split) To(dev torch.Device) {
	for i, im := range s.Images {
		s.Images[i] = im.ToDevice(dev).Keep()
		im.Free()
	}
	l := s.Labels
	s.Labels = l.ToDevice(dev).Keep()
	l.Free()
}

// Subset returns the samples at the given indices (new tensors, outside any scope).
func (s *Split) Subset(idx []int64) *Split {
	var out *Split
	torch.WithScope(func() {
		ix := torch.FromSlice(idx).ToDevice(s.Labels.Device())
		out = &Split{Labels: s.Labels.IndexSelect(0, ix).Keep()}
		for _, im := range s.Images {
			out.Images = append(out.Images, im.IndexSelect(0, ix).Keep())
		}
	})
	if s.Factors != nil {
		out.Factors = map[string][]int64{}
		for name, f := range s.Factors {
			sub := make([]int64, len(idx))
			for i, j := range idx {
				sub[i] = f[j]
			}
			out.Factors[name] = sub
		}
	}
	return out
}

// Free releases the split's tensors.
func (s *Split) Free() {
	for _, im := range s.Images {
		im.Free()
	}
	s.Labels.Free()
}

// Batch gathers the samples at idx (an int64 tensor on the data's device) as float images in [0,1],
// (B, C, H, W) per modality — laid out channels_last in memory, since the source is NHWC — and their labels.
func (s *Split) Batch(idx *torch.Tensor) ([]*torch.Tensor, *torch.Tensor) {
	xs := make([]*torch.Tensor, len(s.Images))
	for i, im := range s.Images {
		xs[i] = im.IndexSelect(0, idx).ToDType(torch.Float32).DivScalar(255).Permute(0, 3, 1, 2)
	}
	return xs, s.Labels.IndexSelect(0, idx)
}

// Normalize maps [0,1] images of modality m to zero mean and unit variance per channel.
func (m Modality) Normalize(x *torch.Tensor) *torch.Tensor {
	dev := x.Device()
	mean := torch.Constant(dev, toF32(m.Mean), 1, m.Channels, 1, 1)
	std := torch.Constant(dev, toF32(m.Std), 1, m.Channels, 1, 1)
	return x.Sub(mean).Div(std)
}

func toF32(v []float64) []float32 {
	r := make([]float32, len(v))
	for i, x := range v {
		r[i] = float32(x)
	}
	return r
}

// ClassCounts counts labels per class.
func ClassCounts(labels []int64, classes int) []int {
	c := make([]int, classes)
	for _, l := range labels {
		c[l]++
	}
	return c
}

// LabelFraction picks a class-stratified, seeded subset holding the fraction frac of each class's samples
// (at least one per non-empty class), returned as sorted indices. frac = 1 returns every index.
func LabelFraction(labels []int64, frac float64, seed uint64) ([]int64, error) {
	if frac <= 0 || frac > 1 {
		return nil, fmt.Errorf("label fraction %v: want a value in (0, 1]", frac)
	}
	classes, byClass := byClassShuffled(labels, seed, fractionStream)
	var out []int64
	for _, c := range classes {
		idx := byClass[c]
		k := int(frac*float64(len(idx)) + 0.5)
		out = append(out, idx[:max(1, min(k, len(idx)))]...)
	}
	out = sorted(out)
	return out, nil
}

// channelStats computes per-channel mean and std of NHWC uint8 pixels scaled to [0,1].
func channelStats(pix []uint8, channels int) (mean, std []float64) {
	mean, std = make([]float64, channels), make([]float64, channels)
	n := float64(len(pix) / channels)
	for i, p := range pix {
		mean[i%channels] += float64(p) / 255
	}
	for c := range mean {
		mean[c] /= n
	}
	for i, p := range pix {
		d := float64(p)/255 - mean[i%channels]
		std[i%channels] += d * d
	}
	for c := range std {
		std[c] = max(1e-3, math.Sqrt(std[c]/n))
	}
	return mean, std
}

// HoldOutValidation moves a seeded, class-stratified fraction of the training split (at least one sample per
// class) into Val, so that every selection — best epoch, accuracy targets — reads data that no training step
// and no report of the test split uses. Every class keeps at least one training sample.
func (ds *Dataset) HoldOutValidation(frac float64, seed uint64) error {
	if frac == 0 {
		return nil
	}
	labels := ds.Train.Labels.Int64s()
	val, err := LabelFraction(labels, frac, seed)
	if err != nil {
		return fmt.Errorf("validation fraction: %w", err)
	}
	inVal := make([]bool, len(labels))
	for _, i := range val {
		inVal[i] = true
	}
	var rest []int64
	for i := range labels {
		if !inVal[i] {
			rest = append(rest, int64(i))
		}
	}
	kept := make([]int64, len(rest))
	for i, j := range rest {
		kept[i] = labels[j]
	}
	for c, n := range ClassCounts(kept, len(ds.ClassNames)) {
		if n == 0 && ClassCounts(labels, len(ds.ClassNames))[c] > 0 {
			return fmt.Errorf("validation fraction %g leaves class %q without training samples", frac, ds.ClassNames[c])
		}
	}
	old := ds.Train
	ds.Val, ds.Train = old.Subset(val), old.Subset(rest)
	old.Free()
	return nil
}
