package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Design is the second synthetic benchmark: a full-factorial class design in which every class is one
// combination of three factors, each with continuous, overlapping levels.
//
//   - Shared (both modalities see it): the vertical position of the scene's main object, a textured patch in
//     RGB and a near surface in depth.
//   - RGB only: the angle of the object's stripes to the horizontal, 10° to 80° (drawn at +θ or −θ at random,
//     so a horizontal flip keeps the class; crops, colour jitter and grayscale keep it too).
//   - Depth only: the tilt of the background plane.
//
// A shared nuisance, visible to both modalities but independent of the class, is what a naive cross-modal
// alignment latches onto: a disc at a random place, of random size, drawn in RGB (random colour) and in depth
// (a near bump). RGB also gets a random lighting gradient and depth a random offset.
//
// Each factor's latent value is its level plus N(0, σ²) with σ = 0.5·Difficulty level spacings, so levels
// overlap and the best achievable accuracy is known: see Oracle.
type Design struct {
	Levels     [3]int // shared, RGB-only, depth-only
	Difficulty float64
}

// FactorNames name the three factors in the order of Design.Levels.
var FactorNames = [3]string{"shared", "rgb_only", "depth_only"}

// NewDesign checks a class count against the levels (or derives levels from it: three factors of at least
// two levels each, as balanced as possible). A count that is no such product is an error naming valid ones.
func NewDesign(classes int, levels [3]int, difficulty float64) (Design, error) {
	if difficulty < 0 || difficulty > 1 || math.IsNaN(difficulty) {
		return Design{}, fmt.Errorf("synthetic.difficulty = %v: want a value in [0, 1]", difficulty)
	}
	if levels != [3]int{} {
		if levels[0] < 2 || levels[1] < 2 || levels[2] < 2 || levels[0]*levels[1]*levels[2] != classes {
			return Design{}, fmt.Errorf("synthetic.levels = %v: want three levels of at least 2 whose product is synthetic.classes (%d)", levels, classes)
		}
		return Design{Levels: levels, Difficulty: difficulty}, nil
	}
	best, ok := deriveLevels(classes)
	if !ok {
		return Design{}, fmt.Errorf("synthetic.classes = %d: version 2 needs shared × RGB-only × depth-only levels of at least 2 each; valid class counts: %s, …",
			classes, strings.Join(strings.Fields(strings.Trim(fmt.Sprint(ValidClassCounts(12)), "[]")), ", "))
	}
	return Design{Levels: best, Difficulty: difficulty}, nil
}

// ValidClassCounts lists the first n class counts that version 2 can design (8, 12, 16, 18, …).
func ValidClassCounts(n int) []int {
	var out []int
	for c := 8; len(out) < n; c++ {
		if _, ok := deriveLevels(c); ok {
			out = append(out, c)
		}
	}
	return out
}

// deriveLevels factors a class count into three levels of at least 2, as balanced as possible (ties: more
// RGB-only levels, so the RGB-only factor is the richer one, as texture is in real scenes).
func deriveLevels(classes int) ([3]int, bool) {
	best := [3]int{}
	for s := 2; s <= classes; s++ {
		for a := 2; s*a <= classes; a++ {
			if classes%(s*a) != 0 || classes/(s*a) < 2 {
				continue
			}
			l := [3]int{s, a, classes / (s * a)}
			if best == ([3]int{}) || spread(l) < spread(best) || spread(l) == spread(best) && l[1] > best[1] {
				best = l
			}
		}
	}
	return best, best != [3]int{}
}

func spread(l [3]int) int { return slices.Max(l[:]) - slices.Min(l[:]) }

// Classes is the number of classes, the product of the levels.
func (d Design) Classes() int { return d.Levels[0] * d.Levels[1] * d.Levels[2] }

// Factors of a class: class = shared + S·(rgb + A·depth).
func (d Design) Factors(class int) [3]int {
	s, a := d.Levels[0], d.Levels[1]
	return [3]int{class % s, (class / s) % a, class / (s * a)}
}

// sigma is the latent noise in level spacings.
func (d Design) sigma() float64 { return 0.5 * d.Difficulty }

// FactorAccuracy is the probability that the nearest level to a factor's latent value is its true level: for
// L equally spaced levels with noise σ (in spacings), end levels are right with Φ(1/2σ) and interior ones with
// 2Φ(1/2σ) − 1.
func FactorAccuracy(levels int, sigma float64) float64 {
	if sigma == 0 {
		return 1
	}
	phi := 0.5 * (1 + math.Erf(1/(2*sigma)/math.Sqrt2))
	return (2*phi + float64(levels-2)*(2*phi-1)) / float64(levels)
}

// Oracle is the best accuracy a classifier that sees the generating factors' latent values can reach (the
// Bayes rule: the nearest level of each factor): with RGB alone the depth-only factor is a guess among its
// levels, with depth alone the RGB-only factor is. Rendering and pixel noise only lower what images allow, so
// these are upper bounds.
func (d Design) Oracle() (rgb, depth, both float64) {
	p := [3]float64{}
	for i, l := range d.Levels {
		p[i] = FactorAccuracy(l, d.sigma())
	}
	return p[0] * p[1] / float64(d.Levels[2]), p[0] * p[2] / float64(d.Levels[1]), p[0] * p[1] * p[2]
}

// syntheticV2 renders the version-2 scenes.
func syntheticV2(c SyntheticConfig) (*Dataset, error) {
	d, err := NewDesign(c.Classes, c.Levels, c.Difficulty)
	if err != nil {
		return nil, err
	}
	if err := c.checkSizes(); err != nil {
		return nil, err
	}
	ds := &Dataset{Name: "synthetic-v2", ClassNames: make([]string, c.Classes), Design: &d}
	for k := range c.Classes {
		f := d.Factors(k)
		ds.ClassNames[k] = fmt.Sprintf("pos%d-angle%d-tilt%d", f[0], f[1], f[2])
	}
	return assemble(ds, c, func(n int, seed uint64) ([]uint8, []uint8, []int64, map[string][]int64) {
		return d.render(c, n, seed)
	}), nil
}

// render draws n samples with balanced classes in a seeded order, with each sample's factor levels.
func (d Design) render(c SyntheticConfig, n int, seed uint64) (rgb, depth []uint8, labels []int64, factors map[string][]int64) {
	r := rand.New(rand.NewPCG(seed, 0xd47b))
	s := c.Size
	fs := float64(s)
	rgb = make([]uint8, n*s*s*3)
	depth = make([]uint8, n*s*s)
	labels = make([]int64, n)
	factors = map[string][]int64{}
	for _, name := range FactorNames {
		factors[name] = make([]int64, n)
	}
	// latent maps a level to a position in [0, 1] across the factor's range, with the design's noise.
	latent := func(level, levels int) float64 {
		return (float64(level) + d.sigma()*r.NormFloat64()) / float64(levels-1)
	}
	for i := range n {
		k := i % c.Classes
		labels[i] = int64(k)
		f := d.Factors(k)
		for j, name := range FactorNames {
			factors[name][i] = int64(f[j])
		}
		// Shared: the object's vertical centre, from 25% to 75% of the height.
		cy := (0.25 + 0.5*latent(f[0], d.Levels[0])) * fs
		w := (0.45 + 0.2*r.Float64()) * fs
		h := (0.32 + 0.1*r.Float64()) * fs
		cx := w/2 + r.Float64()*(fs-w)
		// RGB only: the stripes' angle to the horizontal, 10° to 80°, at +θ or −θ.
		theta := (10 + 70*latent(f[1], d.Levels[1])) * math.Pi / 180
		if r.IntN(2) == 0 {
			theta = -theta
		}
		period := fs / 4
		nx, ny := -math.Sin(theta), math.Cos(theta) // the stripes' normal
		// Depth only: the background's slope, from −0.3 to 0.3 over the height.
		slope := -0.3 + 0.6*latent(f[2], d.Levels[2])
		base := 0.55 + 0.1*r.Float64()
		near := base - 0.25 - 0.1*r.Float64()
		// The shared nuisance: a disc anywhere, in both modalities.
		dr := (0.08 + 0.08*r.Float64()) * fs
		dx, dy := r.Float64()*fs, r.Float64()*fs
		dnear := base - 0.15 - 0.15*r.Float64()
		var bright, dark, bg, disc [3]float64
		for ch := range 3 {
			bright[ch] = 0.7 + 0.3*r.Float64()
			dark[ch] = 0.3 * r.Float64()
			bg[ch] = 0.35 + 0.3*r.Float64()
			disc[ch] = r.Float64()
		}
		light := 0.15 * (r.Float64()*2 - 1)
		phase := r.Float64() * period
		for y := range s {
			for x := range s {
				fx, fy := float64(x)+0.5, float64(y)+0.5
				inObj := math.Abs(fx-cx) < w/2 && math.Abs(fy-cy) < h/2
				inDisc := (fx-dx)*(fx-dx)+(fy-dy)*(fy-dy) < dr*dr
				p := (i*s+y)*s + x
				stripe := math.Mod(fx*nx+fy*ny+phase+10*period, period) < period/2
				for ch := range 3 {
					v := bg[ch] + light*(fy/fs-0.5)
					switch {
					case inDisc:
						v = disc[ch]
					case inObj && stripe:
						v = bright[ch]
					case inObj:
						v = dark[ch]
					}
					rgb[p*3+ch] = quantize(v + c.Noise*r.NormFloat64())
				}
				dv := base + slope*(fy/fs-0.5)
				switch {
				case inDisc:
					dv = dnear
				case inObj:
					dv = near
				}
				depth[p] = quantize(dv + c.Noise/2*r.NormFloat64())
			}
		}
	}
	return rgb, depth, labels, factors
}
