package data

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/semcom/semcom/torch"
)

// SyntheticConfig sizes the embedded synthetic RGB-D scenes.
type SyntheticConfig struct {
	Train, Test int     // samples per split
	Size        int     // image height = width
	Classes     int     // number of scene classes (2 or more)
	Noise       float64 // pixel noise standard deviation, in [0,1] units
	Seed        uint64
	// Version selects the scene design: 2 (default; see Design) or 1, the first design, kept so that runs
	// made with it stay reproducible.
	Version int
	// Levels of the shared, RGB-only and depth-only factors (version 2); zero values derive them from Classes.
	Levels [3]int
	// Difficulty (version 2) is the overlap of neighbouring factor levels: each factor's latent value is its
	// level plus Gaussian noise of 0.5·Difficulty level spacings, so the best achievable accuracy is below 100%.
	Difficulty float64
}

// Factors splits a class into the three parts of its information, so that each modality alone sees only
// part of it (the situation the paper's shared/unique decomposition is about):
//   - Shared (both modalities): the vertical band holding the scene's main object, drawn as a textured
//     patch in RGB and as a near surface in depth.
//   - Appearance (RGB only): the object's texture (horizontal stripes, vertical stripes, checks; finer or
//     coarser).
//   - Geometry (depth only): the tilt of the background plane (floor rising or falling towards the top).
//
// All three survive horizontal flips, colour jitter and grayscale, so the augmentations keep the labels.
type Factors struct{ Shared, Appearance, Geometry int }

// FactorLevels is how many levels each factor has for a class count: 2 shared positions, then appearance and
// geometry levels whose product covers the classes.
func FactorLevels(classes int) (shared, appearance, geometry int) {
	shared = 2
	appearance = int(math.Ceil(math.Sqrt(float64(classes) / 2)))
	geometry = int(math.Ceil(float64(classes) / float64(shared*appearance)))
	return
}

// ClassFactors maps a class to its factors (class = shared + 2·(appearance + A·geometry)).
func ClassFactors(class, classes int) Factors {
	_, a, _ := FactorLevels(classes)
	return Factors{Shared: class % 2, Appearance: (class / 2) % a, Geometry: class / (2 * a)}
}

// Synthetic renders the dataset deterministically from the config's seed.
func Synthetic(c SyntheticConfig) (*Dataset, error) {
	if c.Version != 1 {
		return syntheticV2(c)
	}
	if c.Classes < 2 {
		return nil, fmt.Errorf("synthetic.classes = %d: want at least 2", c.Classes)
	}
	if err := c.checkSizes(); err != nil {
		return nil, err
	}
	ds := &Dataset{Name: "synthetic", ClassNames: make([]string, c.Classes)}
	for k := range c.Classes {
		f := ClassFactors(k, c.Classes)
		ds.ClassNames[k] = fmt.Sprintf("%s-%s-%s", []string{"top", "bottom"}[f.Shared], textureName(f.Appearance), tiltName(f.Geometry))
	}
	return assemble(ds, c, func(n int, seed uint64) ([]uint8, []uint8, []int64, map[string][]int64) {
		rgb, depth, labels := render(c, n, seed)
		return rgb, depth, labels, nil
	}), nil
}

// checkSizes checks what both versions need: the image size, a sample per class in each split, the noise.
func (c SyntheticConfig) checkSizes() error {
	switch {
	case c.Size < 16:
		return fmt.Errorf("synthetic.size = %d: want at least 16 pixels", c.Size)
	case c.Train < c.Classes || c.Test < c.Classes:
		return fmt.Errorf("synthetic.train = %d, synthetic.test = %d: want at least one sample per class (%d)", c.Train, c.Test, c.Classes)
	case c.Noise < 0 || c.Noise > 1:
		return fmt.Errorf("synthetic.noise = %v: want a value in [0, 1]", c.Noise)
	}
	return nil
}

// assemble renders the train and test splits (seeded from the config's seed) into ds and computes the
// normalisation statistics on the training split.
func assemble(ds *Dataset, c SyntheticConfig, render func(n int, seed uint64) ([]uint8, []uint8, []int64, map[string][]int64)) *Dataset {
	var trainRGB, trainDepth []uint8
	for i, n := range []int{c.Train, c.Test} {
		rgb, depth, labels, factors := render(n, c.Seed*2+uint64(i))
		s := &Split{
			Images: []*torch.Tensor{
				torch.FromSlice(rgb, int64(n), int64(c.Size), int64(c.Size), 3).Keep(),
				torch.FromSlice(depth, int64(n), int64(c.Size), int64(c.Size), 1).Keep(),
			},
			Labels:  torch.FromSlice(labels).Keep(),
			Factors: factors,
		}
		if i == 0 {
			ds.Train, trainRGB, trainDepth = s, rgb, depth
		} else {
			ds.Test = s
		}
	}
	rm, rs := channelStats(trainRGB, 3)
	dm, dsd := channelStats(trainDepth, 1)
	ds.Modalities = []Modality{{Name: "rgb", Channels: 3, Mean: rm, Std: rs}, {Name: "depth", Channels: 1, Mean: dm, Std: dsd}}
	return ds
}

func textureName(a int) string {
	return []string{"hstripes", "vstripes", "checks"}[a%3] + map[bool]string{true: "", false: fmt.Sprintf("%d", a/3+1)}[a < 3]
}

func tiltName(g int) string { return fmt.Sprintf("tilt%d", g) }

// render draws n samples with balanced classes in a seeded order.
func render(c SyntheticConfig, n int, seed uint64) (rgb, depth []uint8, labels []int64) {
	r := rand.New(rand.NewPCG(seed, 0xd47a))
	s := c.Size
	rgb = make([]uint8, n*s*s*3)
	depth = make([]uint8, n*s*s)
	labels = make([]int64, n)
	_, _, ng := FactorLevels(c.Classes)
	for i := range n {
		k := i % c.Classes
		labels[i] = int64(k)
		f := ClassFactors(k, c.Classes)
		// Object: a rectangle in the band of the shared factor.
		w := (0.35 + 0.25*r.Float64()) * float64(s)
		h := (0.25 + 0.12*r.Float64()) * float64(s)
		cx := w/2 + r.Float64()*(float64(s)-w)
		cy := (0.27 + 0.46*float64(f.Shared) + 0.08*(r.Float64()*2-1)) * float64(s)
		x0, x1 := int(cx-w/2), int(cx+w/2)
		y0, y1 := int(cy-h/2), int(cy+h/2)
		// Appearance: texture of the object (bright/dark alternation with a fixed sign, random colours).
		period := max(2, int(math.Round(float64(s)/8*(1+float64(f.Appearance/3)*0.5))))
		var bright, dark, bg [3]float64
		for ch := range 3 {
			bright[ch] = 0.7 + 0.3*r.Float64()
			dark[ch] = 0.3 * r.Float64()
			bg[ch] = 0.35 + 0.3*r.Float64()
		}
		light := 0.15 * (r.Float64()*2 - 1) // a random lighting gradient: nuisance
		// Geometry: background plane tilt, depth in [0,1].
		slope := 0.0
		if ng > 1 {
			slope = -0.3 + 0.6*float64(f.Geometry)/float64(ng-1)
		}
		slope += 0.04 * (r.Float64()*2 - 1)
		base := 0.55 + 0.1*r.Float64()
		near := base - 0.25 - 0.1*r.Float64()
		for y := range s {
			for x := range s {
				inside := x >= x0 && x < x1 && y >= y0 && y < y1
				p := (i*s+y)*s + x
				for ch := range 3 {
					v := bg[ch] + light*(float64(y)/float64(s)-0.5)
					if inside {
						if texture(f.Appearance, x, y, period) {
							v = bright[ch]
						} else {
							v = dark[ch]
						}
					}
					rgb[p*3+ch] = quantize(v + c.Noise*r.NormFloat64())
				}
				d := base + slope*(float64(y)/float64(s)-0.5)
				if inside {
					d = near
				}
				depth[p] = quantize(d + c.Noise/2*r.NormFloat64())
			}
		}
	}
	return rgb, depth, labels
}

func texture(a, x, y, period int) bool {
	half := max(1, period/2)
	switch a % 3 {
	case 0:
		return (y/half)%2 == 0
	case 1:
		return (x/half)%2 == 0
	}
	return ((x/half)+(y/half))%2 == 0
}

func quantize(v float64) uint8 { return uint8(math.Round(255 * min(1, max(0, v)))) }
