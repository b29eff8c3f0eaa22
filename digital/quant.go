package digital

import (
	"fmt"
	"math"
)

// Quantizer is a uniform mid-rise b-bit scalar quantiser on the clipping range [−Clip, Clip], for features
// that are already power-normalised (Clip is in units of that normalisation, e.g. 3 ≈ three RMS). The range
// is cut into 2^b cells of width Δ = 2·Clip/2^b; a value is sent as its cell index q ∈ [0, 2^b−1] (values
// outside the range go to the end cells) and reconstructed at the cell centre −Clip + (q+½)·Δ. For input
// uniform on the range the error is uniform on [−Δ/2, Δ/2]: MSE = Δ²/12.
type Quantizer struct {
	Bits int     // b, bits per feature
	Clip float64 // c, clipping range [−c, c]
}

// NewQuantizer checks b ∈ [1, 16] and c > 0.
func NewQuantizer(bits int, clip float64) (Quantizer, error) {
	if bits < 1 || bits > 16 {
		return Quantizer{}, fmt.Errorf("digital: quantiser bits b = %d, expected 1 ≤ b ≤ 16", bits)
	}
	if !(clip > 0) || math.IsInf(clip, 0) {
		return Quantizer{}, fmt.Errorf("digital: quantiser clipping range c = %g, expected a finite c > 0", clip)
	}
	return Quantizer{Bits: bits, Clip: clip}, nil
}

// Levels is 2^b.
func (q Quantizer) Levels() int { return 1 << q.Bits }

// Step is the cell width Δ = 2c/2^b.
func (q Quantizer) Step() float64 { return 2 * q.Clip / float64(q.Levels()) }

// Index is the cell of one value (clipped; NaN goes to cell 0).
func (q Quantizer) Index(x float64) uint32 {
	f := math.Floor((x + q.Clip) / q.Step())
	top := float64(q.Levels() - 1)
	switch {
	case !(f > 0):
		return 0
	case f > top:
		return uint32(top)
	}
	return uint32(f)
}

// Value is the reconstruction (cell centre) of index i.
func (q Quantizer) Value(i uint32) float64 {
	return -q.Clip + (float64(i)+0.5)*q.Step()
}

// Quantize writes the cell indices of x into idx (same length).
func (q Quantizer) Quantize(x []float32, idx []uint32) error {
	if len(idx) != len(x) {
		return fmt.Errorf("digital: quantize: %d indices for %d values", len(idx), len(x))
	}
	for i, v := range x {
		idx[i] = q.Index(float64(v))
	}
	return nil
}

// Dequantize writes the reconstructions of idx into x (same length); an index ≥ 2^b is an error.
func (q Quantizer) Dequantize(idx []uint32, x []float32) error {
	if len(idx) != len(x) {
		return fmt.Errorf("digital: dequantize: %d values for %d indices", len(x), len(idx))
	}
	for i, v := range idx {
		if v >= uint32(q.Levels()) {
			return fmt.Errorf("digital: dequantize: index %d at position %d, expected < 2^%d", v, i, q.Bits)
		}
		x[i] = float32(q.Value(v))
	}
	return nil
}

// ToBits writes each index as b bits, natural binary, most significant first: len(bits) = b·len(idx).
func (q Quantizer) ToBits(idx []uint32, bits []uint8) error {
	if len(bits) != q.Bits*len(idx) {
		return fmt.Errorf("digital: to bits: %d bits for %d indices of %d bits", len(bits), len(idx), q.Bits)
	}
	for i, v := range idx {
		for k := 0; k < q.Bits; k++ {
			bits[i*q.Bits+k] = uint8(v>>(q.Bits-1-k)) & 1
		}
	}
	return nil
}

// FromBits is the inverse of ToBits (any 0/1 pattern is a valid index).
func (q Quantizer) FromBits(bits []uint8, idx []uint32) error {
	if len(bits) != q.Bits*len(idx) {
		return fmt.Errorf("digital: from bits: %d bits for %d indices of %d bits", len(bits), len(idx), q.Bits)
	}
	for i := range idx {
		var v uint32
		for _, b := range bits[i*q.Bits : (i+1)*q.Bits] {
			v = v<<1 | uint32(b&1)
		}
		idx[i] = v
	}
	return nil
}
