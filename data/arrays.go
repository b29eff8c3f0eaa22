package data

import (
	"fmt"

	"github.com/semcom/semcom/torch"
)

// RawSplit is a split as host arrays: per modality N×H×W×C uint8 pixels, and labels.
type RawSplit struct {
	Images [][]uint8
	Labels []int64
}

// FromArrays builds a dataset of size×size images from host arrays, computing each modality's
// normalisation statistics on the training split.
func FromArrays(name string, classes []string, mods []Modality, size int, train, test RawSplit) (*Dataset, error) {
	ds := &Dataset{Name: name, ClassNames: classes}
	for si, r := range []RawSplit{train, test} {
		n := len(r.Labels)
		if len(r.Images) != len(mods) {
			return nil, fmt.Errorf("%s: %d image arrays for %d modalities", name, len(r.Images), len(mods))
		}
		s := &Split{Labels: torch.FromSlice(r.Labels).Keep()}
		for m, mod := range mods {
			want := n * size * size * int(mod.Channels)
			if len(r.Images[m]) != want {
				return nil, fmt.Errorf("%s: %s has %d bytes, want %d (%d images of %d×%d×%d)", name, mod.Name, len(r.Images[m]), want, n, size, size, mod.Channels)
			}
			s.Images = append(s.Images, torch.FromSlice(r.Images[m], int64(n), int64(size), int64(size), mod.Channels).Keep())
		}
		if si == 0 {
			ds.Train = s
		} else {
			ds.Test = s
		}
	}
	for m, mod := range mods {
		mod.Mean, mod.Std = channelStats(train.Images[m], int(mod.Channels))
		ds.Modalities = append(ds.Modalities, mod)
	}
	return ds, nil
}
