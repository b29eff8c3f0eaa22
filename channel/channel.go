// Package channel simulates the wireless uplink of eq. (2), ẑ = h·z + n, as differentiable tensor ops: power
// normalisation of each device's K real features into K/2 unit-power complex symbols, block fading (none,
// Rayleigh, Rician; one h per sample) with receiver equalisation under perfect or pilot-estimated CSI (LS,
// LMMSE), AWGN at a given SNR (Es/N0 per complex symbol), and erasures of a device's whole transmission of a
// sample (independent or Gilbert–Elliott bursts). Gradients flow from the server back to the encoder.
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

// CSI is what the receiver's equaliser knows of h.
type CSI string

// Channel-state information.
const (
	PerfectCSI CSI = "perfect" // the true h (also the zero value "")
	LSCSI      CSI = "ls"      // least squares from pilots: ĥ = mean of the received pilots (unit pilots)
	MMSECSI    CSI = "mmse"    // linear MMSE from the same pilots, using the prior of h
)

// Config describes one channel.
type Config struct {
	Fading    Fading
	RicianK   float64 // K-factor (linear) for Rician fading
	Equalizer Equalizer
	PowerNorm PowerNorm
	Noiseless bool // no noise at all (SNR ignored)

	CSI         CSI     // "" or perfect: the equaliser uses the true h (the default, unchanged)
	Pilots      int     // N_p unit-power pilot symbols per device per fading block (sample) when CSI is estimated
	CSIErrorVar float64 // > 0: ĥ_LS = h + e, e ~ CN(0, σ_e²) instead of simulated pilots (sweeps independent of N_p)

	Erasure Erasure // not applied by Transmit: the caller draws losses per device (Erasure.NewEraser) and Erase()s
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
	switch c.CSI {
	case "", PerfectCSI:
	case LSCSI, MMSECSI:
		if c.Pilots < 1 && c.CSIErrorVar == 0 {
			return fmt.Errorf("pilots %d: want ≥ 1 with csi %s", c.Pilots, c.CSI)
		}
	default:
		return fmt.Errorf("csi %q: want perfect, ls or mmse", c.CSI)
	}
	if !(c.CSIErrorVar >= 0) {
		return fmt.Errorf("csi_error_var %v: want ≥ 0", c.CSIErrorVar)
	}
	return c.Erasure.Validate()
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
// fading, the noise and then (estimated CSI only) the pilot noise; pass a freshly seeded generator for
// reproducible evaluation noise. Under perfect CSI (the default) nothing else is drawn.
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
	errVar := 0.0 // E|h − ĥ|² as the equaliser assumes it
	if c.estimated() {
		// Drawn after the data noise so that a seed gives the same h and n under perfect and estimated CSI.
		hr, hi, errVar = c.Estimate(g, hr, hi, sigma2)
	}
	switch c.Equalizer {
	case ZeroForcing, MMSE:
		// y·ĥ* / (|ĥ|² + reg): reg = 0 is zero-forcing; σ² + σ_e² the linear MMSE estimate of x given y and ĥ
		// (y = ĥx + (h−ĥ)x + n, the last two uncorrelated with ĥx for the LMMSE ĥ; σ_e² = 0 under perfect CSI).
		den := hr.Square().Add(hi.Square())
		if c.Equalizer == MMSE {
			den = den.AddScalar(sigma2 + errVar)
		} else {
			den = den.AddScalar(1e-12)
		}
		yr, yi = complexMul(yr, yi, hr.Div(den), hi.Neg().Div(den))
	}
	return torch.Cat([]*torch.Tensor{yr, yi}, 1)
}

// SymbolsPerSample is the number of complex channel uses for K real features.
func SymbolsPerSample(k int64) int64 { return k / 2 }

// estimated says whether the equaliser works from an estimate of h.
func (c Config) estimated() bool { return c.CSI == LSCSI || c.CSI == MMSECSI }

// PilotUses is the number of complex channel uses spent on pilots per device and sample (one fading block
// per sample): N_p under estimated CSI, 0 under perfect CSI. A ledger adds it to SymbolsPerSample.
func (c Config) PilotUses() int64 {
	if !c.estimated() {
		return 0
	}
	return int64(c.Pilots)
}

// prior is the mean μ (real) and variance σ_h² of h around it: Rayleigh (0, 1), Rician (√(K/(K+1)),
// 1/(K+1)), none (1, 0).
func (c Config) prior() (mu, v float64) {
	switch c.Fading {
	case Rayleigh:
		return 0, 1
	case Rician:
		return math.Sqrt(c.RicianK / (c.RicianK + 1)), 1 / (c.RicianK + 1)
	}
	return 1, 0
}

// LSErrorVar is E|ĥ_LS − h|²: σ_e² of the error model when set, else N0/N_p (N_p unit pilots, each
// received as h + n, n ~ CN(0, N0)).
func (c Config) LSErrorVar(noiseVar float64) float64 {
	if c.CSIErrorVar > 0 {
		return c.CSIErrorVar
	}
	return noiseVar / float64(c.Pilots)
}

// Estimate returns the receiver's estimate ĥ of the true h (hr, hi, shaped (n, 1)) at complex noise
// variance noiseVar, and the error variance the MMSE equaliser assumes. LS: ĥ = (1/N_p)·Σ y_p with
// y_p = h + n_p (unit pilots), so ĥ − h ~ CN(0, N0/N_p); with CSIErrorVar > 0, ĥ = h + e, e ~ CN(0, σ_e²).
// LMMSE of h ~ CN(μ, σ_h²) from ĥ_LS with error variance v (Kay, Fundamentals of Statistical Signal
// Processing I, §12.5): ĥ = μ + σ_h²/(σ_h² + v)·(ĥ_LS − μ), error variance σ_h²·v/(σ_h² + v). For
// Rayleigh (μ = 0, σ_h² = 1) this is ĥ_LS/(1 + N0/N_p) with error 1/(1 + N_p·γ); for Rician the LOS part
// μ = √(K/(K+1)) is known and only the scattered part (σ_h² = 1/(K+1)) is shrunk; with no fading ĥ = 1.
// The error variance reported for LS is v (the standard plug-in; LS ignores the prior).
func (c Config) Estimate(g *torch.Generator, hr, hi *torch.Tensor, noiseVar float64) (er, ei *torch.Tensor, errVar float64) {
	m := hr.Meta()
	n := m.Shape[0]
	v := c.LSErrorVar(noiseVar)
	if v > 0 {
		if c.CSIErrorVar > 0 {
			s := math.Sqrt(v / 2)
			hr = hr.Add(torch.Normal(g, 0, s, m.DType, m.Device, n, 1))
			hi = hi.Add(torch.Normal(g, 0, s, m.DType, m.Device, n, 1))
		} else {
			// The N_p received pilots themselves, averaged: y_p·1*/|1|² = h + n_p.
			s := math.Sqrt(noiseVar / 2)
			np := int64(c.Pilots)
			hr = hr.Add(torch.Normal(g, 0, s, m.DType, m.Device, n, np).MeanKeep(1))
			hi = hi.Add(torch.Normal(g, 0, s, m.DType, m.Device, n, np).MeanKeep(1))
		}
	}
	if c.CSI == LSCSI {
		return hr, hi, v
	}
	mu, vh := c.prior()
	if vh+v == 0 {
		return hr, hi, 0
	}
	w := vh / (vh + v)
	return hr.SubScalar(mu).MulScalar(w).AddScalar(mu), hi.MulScalar(w), vh * v / (vh + v)
}
