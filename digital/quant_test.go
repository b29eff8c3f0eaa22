package digital

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestQuantizerRejectsBadSettings(t *testing.T) {
	for _, c := range []struct {
		bits int
		clip float64
	}{{0, 1}, {17, 1}, {4, 0}, {4, -1}, {4, math.Inf(1)}, {4, math.NaN()}} {
		if _, err := NewQuantizer(c.bits, c.clip); err == nil {
			t.Errorf("NewQuantizer(%d, %g) accepted", c.bits, c.clip)
		}
	}
}

// For x uniform on [−c, c] the error is uniform on [−Δ/2, Δ/2], MSE = Δ²/12. The Monte-Carlo MSE has
// relative standard deviation √(Var e²)/E e²/√n = √(1/180)·12/√n ≈ 0.89/√n = 0.4% at n = 5·10⁴; the test
// allows 3%.
func TestQuantizerMSEUniform(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n = 50000
	for _, b := range []int{1, 2, 4, 8} {
		for _, clip := range []float64{1, 3} {
			q, _ := NewQuantizer(b, clip)
			x := make([]float32, n)
			for i := range x {
				x[i] = float32((2*r.Float64() - 1) * clip)
			}
			idx := make([]uint32, n)
			xr := make([]float32, n)
			_ = q.Quantize(x, idx)
			_ = q.Dequantize(idx, xr)
			var mse float64
			for i := range x {
				d := float64(x[i]) - float64(xr[i])
				mse += d * d
			}
			mse /= n
			want := q.Step() * q.Step() / 12
			if math.Abs(mse/want-1) > 0.03 {
				t.Errorf("b=%d c=%g: MSE %g, expected Δ²/12 = %g", b, clip, mse, want)
			}
		}
	}
}

// Every index survives index → bits → index and reconstruction → index bit-exactly; the bit order is
// natural binary, MSB first (hand value: 5 in 4 bits is 0101); values beyond the range go to the end cells.
func TestQuantizerRoundTrip(t *testing.T) {
	for _, b := range []int{1, 3, 8, 12} {
		q, _ := NewQuantizer(b, 2.5)
		idx := make([]uint32, q.Levels())
		for i := range idx {
			idx[i] = uint32(i)
		}
		bits := make([]uint8, b*len(idx))
		back := make([]uint32, len(idx))
		if err := q.ToBits(idx, bits); err != nil {
			t.Fatal(err)
		}
		_ = q.FromBits(bits, back)
		x := make([]float32, len(idx))
		again := make([]uint32, len(idx))
		_ = q.Dequantize(back, x)
		_ = q.Quantize(x, again)
		for i := range idx {
			if back[i] != idx[i] || again[i] != idx[i] {
				t.Fatalf("b=%d: index %d came back as %d via bits, %d via its value", b, idx[i], back[i], again[i])
			}
		}
	}
	q, _ := NewQuantizer(4, 1)
	bits := make([]uint8, 4)
	_ = q.ToBits([]uint32{5}, bits)
	if bits[0] != 0 || bits[1] != 1 || bits[2] != 0 || bits[3] != 1 {
		t.Errorf("5 in 4 bits = %v, want 0101", bits)
	}
	// Clipping: c = 1, b = 4, Δ = 1/8; 7 → cell 15 (value 1 − 1/16), −7 → cell 0, 0.01 → cell 8 (0.0625).
	for _, c := range []struct {
		x    float64
		want uint32
		val  float64
	}{{7, 15, 0.9375}, {-7, 0, -0.9375}, {0.01, 8, 0.0625}, {math.NaN(), 0, -0.9375}} {
		i := q.Index(c.x)
		if i != c.want || q.Value(i) != c.val {
			t.Errorf("Index(%g) = %d (value %g), want %d (%g)", c.x, i, q.Value(i), c.want, c.val)
		}
	}
	if err := q.Dequantize([]uint32{16}, make([]float32, 1)); err == nil {
		t.Error("Dequantize accepted index 16 for b = 4")
	}
}
