package digital

import (
	"fmt"
	"math"
	"strings"
)

// Modulation is a Gray-mapped constellation with unit average symbol energy.
type Modulation int

const (
	BPSK Modulation = iota + 1
	QPSK
	QAM16
	QAM64
)

// Modulations lists the supported modulations in increasing order.
var Modulations = []Modulation{BPSK, QPSK, QAM16, QAM64}

// String is the configuration name of the modulation.
func (m Modulation) String() string {
	switch m {
	case BPSK:
		return "bpsk"
	case QPSK:
		return "qpsk"
	case QAM16:
		return "16qam"
	case QAM64:
		return "64qam"
	}
	return fmt.Sprintf("Modulation(%d)", int(m))
}

// ParseModulation reads a configuration name (case-insensitive).
func ParseModulation(s string) (Modulation, error) {
	for _, m := range Modulations {
		if strings.EqualFold(s, m.String()) {
			return m, nil
		}
	}
	return 0, fmt.Errorf("digital: unknown modulation %q, expected one of bpsk, qpsk, 16qam, 64qam", s)
}

// BitsPerSymbol is log2 of the constellation size.
func (m Modulation) BitsPerSymbol() int {
	switch m {
	case BPSK:
		return 1
	case QPSK:
		return 2
	case QAM16:
		return 4
	case QAM64:
		return 6
	}
	return 0
}

// Constellation holds the points of a modulation indexed by their bit label (first bit = most significant).
type Constellation struct {
	Mod    Modulation
	Bits   int          // bits per symbol
	Points []complex128 // Points[label], unit average energy
}

// NewConstellation builds the Gray-mapped constellation. BPSK: bit 0 → +1, bit 1 → −1. Square M-QAM: the
// first half of the label's bits pick the in-phase level, the second half the quadrature level, each by a
// binary-reflected Gray code over the PAM levels L−1, L−3, …, −(L−1) (so bit 0 is the positive side, as for
// BPSK), scaled by 1/√(2(M−1)/3) to unit average energy. This is the labelling Cho & Yoon's BER
// expression assumes.
func NewConstellation(m Modulation) (*Constellation, error) {
	bits := m.BitsPerSymbol()
	if bits == 0 {
		return nil, fmt.Errorf("digital: unknown modulation %d", int(m))
	}
	c := &Constellation{Mod: m, Bits: bits, Points: make([]complex128, 1<<bits)}
	if m == BPSK {
		c.Points[0], c.Points[1] = 1, -1
		return c, nil
	}
	half := bits / 2
	L := 1 << half
	level := make([]float64, L) // level[gray label]
	for i := 0; i < L; i++ {
		level[i^(i>>1)] = float64(L - 1 - 2*i)
	}
	scale := 1 / math.Sqrt(2*float64(len(c.Points)-1)/3)
	for label := range c.Points {
		c.Points[label] = complex(level[label>>half]*scale, level[label&(L-1)]*scale)
	}
	return c, nil
}

// Map writes the symbols for bits (0/1 values, len a multiple of Bits) into syms (len(bits)/Bits).
func (c *Constellation) Map(bits []uint8, syms []complex128) error {
	if len(bits)%c.Bits != 0 || len(syms) != len(bits)/c.Bits {
		return fmt.Errorf("digital: map %s: %d bits into %d symbols, expected a multiple of %d bits and one symbol per %d", c.Mod, len(bits), len(syms), c.Bits, c.Bits)
	}
	for s := range syms {
		label := 0
		for _, b := range bits[s*c.Bits : (s+1)*c.Bits] {
			label = label<<1 | int(b&1)
		}
		syms[s] = c.Points[label]
	}
	return nil
}

// Demap writes one LLR per bit, L = ln P(b=0|y)/P(b=1|y) under equiprobable bits, for y = x + n with
// n ~ CN(0, N0): exact, L = LSE_{x: b=0}(−|y−x|²/N0) − LSE_{x: b=1}(−|y−x|²/N0), or max-log, the same with
// max in place of log-sum-exp. llr has len(y)·Bits entries. It allocates nothing.
func (c *Constellation) Demap(y []complex128, n0 float64, exact bool, llr []float64) error {
	if !(n0 > 0) {
		return fmt.Errorf("digital: demap %s: noise variance N0 = %g, expected N0 > 0", c.Mod, n0)
	}
	if len(llr) != len(y)*c.Bits {
		return fmt.Errorf("digital: demap %s: %d LLRs for %d symbols, expected %d", c.Mod, len(llr), len(y), len(y)*c.Bits)
	}
	var metric [64]float64
	M := len(c.Points)
	for s, ys := range y {
		for j, x := range c.Points {
			d := ys - x
			metric[j] = -(real(d)*real(d) + imag(d)*imag(d)) / n0
		}
		for k := 0; k < c.Bits; k++ {
			mask := 1 << (c.Bits - 1 - k)
			max0, max1 := math.Inf(-1), math.Inf(-1)
			for j := 0; j < M; j++ {
				if j&mask == 0 {
					max0 = math.Max(max0, metric[j])
				} else {
					max1 = math.Max(max1, metric[j])
				}
			}
			l := max0 - max1
			if exact {
				var sum0, sum1 float64
				for j := 0; j < M; j++ {
					if j&mask == 0 {
						sum0 += math.Exp(metric[j] - max0)
					} else {
						sum1 += math.Exp(metric[j] - max1)
					}
				}
				l += math.Log(sum0) - math.Log(sum1)
			}
			llr[s*c.Bits+k] = l
		}
	}
	return nil
}

// UncodedBER is the exact bit error rate of Gray-mapped hard decisions at SNR gamma = Es/N0 (linear).
// BPSK: Q(√(2γ)). Square M-QAM: Cho & Yoon, IEEE TCOM 50(7) 2002, eq. (14) with Eb/N0 = γ/log2 M:
// P_b = (1/log2√M) Σ_{k=1}^{log2√M} P_b(k),
// P_b(k) = (1/√M) Σ_{i=0}^{(1−2^{−k})√M−1} (−1)^{⌊i·2^{k−1}/√M⌋}·(2^{k−1} − ⌊i·2^{k−1}/√M + ½⌋)·erfc((2i+1)·√(3γ/(2(M−1)))).
func UncodedBER(m Modulation, gamma float64) (float64, error) {
	bits := m.BitsPerSymbol()
	switch {
	case bits == 0:
		return 0, fmt.Errorf("digital: unknown modulation %d", int(m))
	case m == BPSK:
		return Q(math.Sqrt(2 * gamma)), nil
	}
	M := float64(int(1) << bits)
	sqrtM := 1 << (bits / 2)
	arg := math.Sqrt(3 * gamma / (2 * (M - 1)))
	var pb float64
	for k := 1; k <= bits/2; k++ {
		p2 := 1 << (k - 1)
		var pk float64
		top := sqrtM - sqrtM>>k // (1 − 2^{−k})·√M
		for i := 0; i < top; i++ {
			f := i * p2 / sqrtM
			sign := 1.0
			if f%2 == 1 {
				sign = -1
			}
			weight := float64(p2) - math.Floor(float64(i*p2)/float64(sqrtM)+0.5)
			pk += sign * weight * math.Erfc(float64(2*i+1)*arg)
		}
		pb += pk / float64(sqrtM)
	}
	return pb / float64(bits/2), nil
}
