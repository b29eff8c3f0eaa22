// Package channel simulates the wireless uplink of eq. (2), ẑ = h·z + n, as differentiable tensor ops: power
// normalisation of each device's K real features into K/2 unit-power complex symbols, block fading (none,
// Rayleigh, Rician) with receiver equalisation under perfect CSI, and AWGN at a given SNR (Es/N0 per
// complex symbol). Gradients flow from the server back to the encoder through the channel.
package channel

import (
	"fmt"
	"math"

	"github.com/semcom/semcom/torch"
)

// Fading models the complex channel coefficient h of eq. (2), one per sample (block fading).
type Fading string

// Fading models.
const (
	NoFading Fading = "none"     // h = 1: the AWGN channel of the paper's experiments
	Rayleigh Fading = "rayleigh" // h ~ CN(0, 1)
	Rician   Fading = "rician"   // h = √(K/(K+1)) + √(1/(K+1))·CN(0, 1)
)

// Equalizer is the receiver's correction for h under perfect channel-state information.
type Equalizer string

// Equalizers.
const (
	NoEqualizer Equalizer = "none" // the server sees h·x + n
	ZeroForcing Equalizer = "zf"   // y/h
	MMSE        Equalizer = "mmse" // y·h*/(|h|² + σ²)
)

// PowerNorm says over what the transmit power is normalised to 1 per complex symbol.
type PowerNorm string

// Power normalisations.
const (
	PerSample PowerNorm = "sample" // each sample's K/2 symbols have unit average power
	PerBatch  PowerNorm = "batch"  // the whole batch has unit average power (as the authors' code)
)

// Config describes one channel.
type Config struct {
	Fading    Fading
	RicianK   float64 // K-factor (linear) for Rician fading
	Equalizer Equalizer
	PowerNorm PowerNorm
	Noiseless bool // no noise at all (SNR ignored)
}

// Validate checks the enumerations.
func (c Config) Validate() error {
	switch c.Fading {
	case NoFading, Rayleigh, Rician:
	default:
		return fmt.Errorf("fading %q: want none, rayleigh or rician", c.Fading)
	}
	switch c.Equalizer {
	case NoEqualizer, ZeroForcing, MMSE:
	default:
		return fmt.Errorf("equalizer %q: want none, zf or mmse", c.Equalizer)
	}
	switch c.PowerNorm {
	case PerSample, PerBatch:
	default:
		return fmt.Errorf("power_norm %q: want sample or batch", c.PowerNorm)
	}
	if c.Fading == Rician && c.RicianK < 0 {
		return fmt.Errorf("rician_k %v: want ≥ 0", c.RicianK)
	}
	return nil
}

// NoiseVariance is σ² of the complex noise for unit symbol energy at snrDB: 10^(−SNR/10).
func NoiseVariance(snrDB float64) float64 { return math.Pow(10, -snrDB/10) }

// Normalize scales real features (B, K) so that, read as K/2 complex symbols per sample (first half real
// parts, second half imaginary parts), the average symbol power is 1 per sample or over the batch.
func Normalize(z *torch.Tensor, norm PowerNorm) *torch.Tensor {
	var p *torch.Tensor
	if norm == PerBatch {
		p = z.Square().Mean().MulScalar(2)
	} else {
		p = z.Square().MeanKeep(1).MulScalar(2)
	}
	return z.Mul(p.AddScalar(1e-12).Rsqrt())
}

// complexMul multiplies (ar + j·ai)(br + j·bi).
func complexMul(ar, ai, br, bi *torch.Tensor) (*torch.Tensor, *torch.Tensor) {
	return ar.Mul(br).Sub(ai.Mul(bi)), ar.Mul(bi).Add(ai.Mul(br))
}

// Coefficients draws h = hr + j·hi for n samples, shaped (n, 1) for broadcasting over symbols.
func (c Config) Coefficients(g *torch.Generator, n int64, dt torch.DType, dev torch.Device) (hr, hi *torch.Tensor) {
	switch c.Fading {
	case Rayleigh:
		s := math.Sqrt(0.5)
		return torch.Normal(g, 0, s, dt, dev, n, 1), torch.Normal(g, 0, s, dt, dev, n, 1)
	case Rician:
		los := math.Sqrt(c.RicianK / (c.RicianK + 1))
		s := math.Sqrt(0.5 / (c.RicianK + 1))
		return torch.Normal(g, los, s, dt, dev, n, 1), torch.Normal(g, 0, s, dt, dev, n, 1)
	}
	return torch.Ones(dt, dev, n, 1), torch.Zeros(dt, dev, n, 1)
}

// Transmit sends features z (B, K) — the semantic feature z^m of one device — over the channel at snrDB and
// returns what the server receives after equalisation, as (B, K) reals in the same layout. g draws the
// fading and the noise; pass a freshly seeded generator for reproducible evaluation noise.
func (c Config) Transmit(z *torch.Tensor, snrDB float64, g *torch.Generator) *torch.Tensor {
	m := z.Meta()
	if len(m.Shape) != 2 || m.Shape[1]%2 != 0 {
		panic(&torch.Error{Op: "channel.Transmit", Kind: torch.ErrValue,
			Msg: fmt.Sprintf("features must be (batch, K) with K even, got %v", m.Shape)})
	}
	b, half := m.Shape[0], m.Shape[1]/2
	x := Normalize(z, c.PowerNorm)
	xr, xi := x.Narrow(1, 0, half), x.Narrow(1, half, half)
	hr, hi := c.Coefficients(g, b, m.DType, m.Device)
	yr, yi := complexMul(hr, hi, xr, xi)
	sigma2 := 0.0
	if !c.Noiseless {
		sigma2 = NoiseVariance(snrDB)
		s := math.Sqrt(sigma2 / 2)
		yr = yr.Add(torch.Normal(g, 0, s, m.DType, m.Device, b, half))
		yi = yi.Add(torch.Normal(g, 0, s, m.DType, m.Device, b, half))
	}
	switch c.Equalizer {
	case ZeroForcing, MMSE:
		// y·h* / (|h|² + reg): reg = 0 is zero-forcing, σ² the linear MMSE estimate.
		den := hr.Square().Add(hi.Square())
		if c.Equalizer == MMSE {
			den = den.AddScalar(sigma2)
		} else {
			den = den.AddScalar(1e-12)
		}
		yr, yi = complexMul(yr, yi, hr.Div(den), hi.Neg().Div(den))
	}
	return torch.Cat([]*torch.Tensor{yr, yi}, 1)
}

// SymbolsPerSample is the number of complex channel uses for K real features.
func SymbolsPerSample(k int64) int64 { return k / 2 }
