package data

import (
	"math"

	"github.com/semcom/semcom/torch"
)

// Augment configures batched augmentation. Probabilities are per sample; zero switches a transform off.
// Everything runs as tensor ops on the batch's device, drawing from one generator.
type Augment struct {
	CropScale    [2]float64 // random resized crop: area fraction range; {0,0} resizes the whole image
	Flip         float64    // horizontal flip probability
	ColorJitter  float64    // RGB: brightness, contrast and saturation each scaled by U[1−s, 1+s]
	JitterAmount float64    // s above (0.4 as DeCUR and Barlow Twins)
	Grayscale    float64    // RGB: grayscale probability
	Blur         float64    // 3×3 Gaussian blur probability
	Noise        float64    // Gaussian pixel noise standard deviation
	DepthJitter  float64    // depth: scale U[0.9,1.1] and shift U[−0.05,0.05] probability
	DepthDropout float64    // depth: fraction of pixels set to 0 (missing measurements)
}

// Apply augments a batch x (B, C, H, W) in [0,1] of a modality and resizes it to size×size, with a
// geometric draw of its own.
func (a Augment) Apply(g *torch.Generator, x *torch.Tensor, m Modality, size int64) *torch.Tensor {
	return a.ApplyGeometry(g, a.DrawGeometry(g, x.Size(0), x.Device()), x, m, size)
}

// Geometry is one draw of the geometric augmentation for a batch: each sample's crop box and flip, as the
// affine matrices (B, 2, 3) that resample it in normalised coordinates. Applying one draw to every spatially
// registered modality keeps them registered: the two cameras see the same scene, so a crop of RGB must show
// the same part of it as the crop of depth.
type Geometry struct{ theta *torch.Tensor }

// DrawGeometry draws a random resized crop (area in CropScale, aspect ratio in [3/4, 4/3]) with an optional
// horizontal flip per sample.
func (a Augment) DrawGeometry(g *torch.Generator, b int64, dev torch.Device) Geometry {
	lo, hi := a.CropScale[0], a.CropScale[1]
	rlo, rhi := math.Log(3.0/4), math.Log(4.0/3)
	if hi == 0 { // no crop: the whole image
		lo, hi, rlo, rhi = 1, 1, 0, 0
	}
	u := func(l, h float64) *torch.Tensor { return torch.Uniform(g, l, h, torch.Float32, dev, b) }
	area := u(lo, hi)
	ratio := u(rlo, rhi).Exp()
	w := area.Mul(ratio).Sqrt().ClampMax(1) // width and height as fractions of the image
	h := area.Div(ratio).Sqrt().ClampMax(1)
	cx := u(-1, 1).Mul(w.ScalarSub(1))
	cy := u(-1, 1).Mul(h.ScalarSub(1))
	sx := w
	if a.Flip > 0 {
		flip := u(0, 1).LtScalar(a.Flip).ToDType(torch.Float32) // 1 → mirror
		sx = w.Mul(flip.MulScalar(-2).AddScalar(1))
	}
	zero := torch.Zeros(torch.Float32, dev, b)
	return Geometry{torch.Stack([]*torch.Tensor{sx, zero, cx, zero, h, cy}, 1).Reshape(b, 2, 3)}
}

// ApplyGeometry is Apply with a given geometric draw; photometric and depth-specific transforms are drawn
// for this modality alone.
func (a Augment) ApplyGeometry(g *torch.Generator, geo Geometry, x *torch.Tensor, m Modality, size int64) *torch.Tensor {
	sh := x.Shape()
	b, c := sh[0], sh[1]
	dev := x.Device()
	grid := torch.AffineGrid(geo.theta, []int64{b, c, size, size}, false)
	x = torch.GridSample(x, grid, false, torch.PadBorder, false)
	rgb := c == 3 && m.Name == "rgb"
	if rgb && a.ColorJitter > 0 {
		x = where(g, a.ColorJitter, x, a.jitter(g, x, b))
	}
	if rgb && a.Grayscale > 0 {
		x = where(g, a.Grayscale, x, gray(x).Expand(b, 3, size, size))
	}
	if !rgb && a.DepthJitter > 0 {
		scale := torch.Uniform(g, 0.9, 1.1, torch.Float32, dev, b, 1, 1, 1)
		shift := torch.Uniform(g, -0.05, 0.05, torch.Float32, dev, b, 1, 1, 1)
		x = where(g, a.DepthJitter, x, x.Mul(scale).Add(shift))
	}
	if a.Blur > 0 {
		x = where(g, a.Blur, x, blur(x, c))
	}
	if a.Noise > 0 {
		x = x.Add(torch.Normal(g, 0, a.Noise, torch.Float32, dev, b, c, size, size))
	}
	if !rgb && a.DepthDropout > 0 {
		keep := torch.Uniform(g, 0, 1, torch.Float32, dev, b, 1, size, size).GeScalar(a.DepthDropout)
		x = x.Mul(keep.ToDType(torch.Float32))
	}
	return x.Clamp(0, 1)
}

// jitter scales brightness, contrast and saturation by independent factors in [1−s, 1+s].
func (a Augment) jitter(g *torch.Generator, x *torch.Tensor, b int64) *torch.Tensor {
	s := a.JitterAmount
	if s == 0 {
		s = 0.4
	}
	dev := x.Device()
	f := func() *torch.Tensor { return torch.Uniform(g, 1-s, 1+s, torch.Float32, dev, b, 1, 1, 1) }
	x = x.Mul(f()).Clamp(0, 1)
	m := gray(x).MeanKeep(2, 3)
	x = x.Sub(m).Mul(f()).Add(m).Clamp(0, 1)
	gr := gray(x)
	return x.Sub(gr).Mul(f()).Add(gr).Clamp(0, 1)
}

// gray is ITU-R 601 luma, (B, 1, H, W).
func gray(x *torch.Tensor) *torch.Tensor {
	w := torch.Constant(x.Device(), []float32{0.299, 0.587, 0.114}, 1, 3, 1, 1)
	return x.Mul(w).SumKeep(1)
}

// blur convolves each channel with a 3×3 binomial kernel (replicated borders).
func blur(x *torch.Tensor, c int64) *torch.Tensor {
	k := torch.Constant(x.Device(), []float32{1, 2, 1, 2, 4, 2, 1, 2, 1}, 1, 1, 3, 3).DivScalar(16).Repeat(c, 1, 1, 1)
	return torch.Conv2d(x, k, nil, torch.Conv2dOpts{Padding: [2]int64{1, 1}, Groups: c})
}

// where keeps x for samples not drawn with probability p, and takes y for the others.
func where(g *torch.Generator, p float64, x, y *torch.Tensor) *torch.Tensor {
	b := x.Size(0)
	mask := torch.Uniform(g, 0, 1, torch.Float32, x.Device(), b, 1, 1, 1).LtScalar(p)
	return torch.Where(mask, y, x)
}
