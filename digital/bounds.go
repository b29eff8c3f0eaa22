package digital

import (
	"fmt"
	"math"
)

// log2e is log2(e), the nats→bits factor of the channel dispersion.
const log2e = math.Log2E

// CapacityBits is the AWGN capacity of n complex channel uses at SNR gamma (linear Es/N0):
// n·log2(1+γ) bits (Shannon; per complex use log2(1+γ)).
func CapacityBits(n int, gamma float64) float64 {
	return float64(n) * math.Log2(1+gamma)
}

// RayleighOutage is the probability that a block of n complex uses over one Rayleigh fade h ~ CN(0,1)
// (E|h|² = 1, constant over the block) cannot carry bits information bits:
// P[n·log2(1+γ|h|²) < bits] = P[|h|² < (2^{bits/n}−1)/γ] = 1 − exp(−(2^{bits/n}−1)/γ), since |h|² ~ Exp(1).
// bits ≤ 0 gives 0; gamma ≤ 0 with bits > 0 gives 1.
func RayleighOutage(n int, bits, gamma float64) (float64, error) {
	if n <= 0 {
		return 0, fmt.Errorf("digital: rayleigh outage: channel uses n = %d, expected n > 0", n)
	}
	if bits <= 0 {
		return 0, nil
	}
	if gamma <= 0 {
		return 1, nil
	}
	threshold := math.Expm1(bits/float64(n)*math.Ln2) / gamma // (2^{bits/n} − 1)/γ
	return -math.Expm1(-threshold), nil
}

// Dispersion is the complex AWGN channel dispersion in bits² per complex use,
// V = log2²(e)·γ(γ+2)/(γ+1)². Polyanskiy, Poor, Verdú (IEEE T-IT 2010) give the real AWGN dispersion
// (log2² e)/2·P(P+2)/(P+1)²; a complex use is two real uses, each at the same SNR γ (energy and noise both
// split in half), so the complex value is twice the real one.
func Dispersion(gamma float64) float64 {
	return log2e * log2e * gamma * (gamma + 2) / ((gamma + 1) * (gamma + 1))
}

// QInv is the inverse of the Gaussian tail Q(x) = P[N(0,1) > x]: Q⁻¹(ε) = √2·erf⁻¹(1−2ε).
func QInv(eps float64) float64 {
	return math.Sqrt2 * math.Erfinv(1-2*eps)
}

// Q is the Gaussian tail P[N(0,1) > x] = ½·erfc(x/√2).
func Q(x float64) float64 {
	return 0.5 * math.Erfc(x/math.Sqrt2)
}

// NormalApproxBits is the Polyanskiy–Poor–Verdú normal approximation of the largest number of information
// bits k*(n, ε) that n complex AWGN uses at SNR gamma carry with block error rate ε:
// k* ≈ n·C − √(n·V)·Q⁻¹(ε) + ½·log2 n, C = log2(1+γ), V = Dispersion(γ). It is an approximation (not a
// strict bound), accurate to O(1) bits for n of a few tens and more; it may be negative at very low SNR.
func NormalApproxBits(n int, eps, gamma float64) (float64, error) {
	if n <= 0 {
		return 0, fmt.Errorf("digital: normal approximation: channel uses n = %d, expected n > 0", n)
	}
	if !(eps > 0 && eps < 1) {
		return 0, fmt.Errorf("digital: normal approximation: block error rate ε = %g, expected 0 < ε < 1", eps)
	}
	if gamma < 0 {
		return 0, fmt.Errorf("digital: normal approximation: SNR γ = %g (linear), expected γ ≥ 0", gamma)
	}
	nf := float64(n)
	return nf*math.Log2(1+gamma) - math.Sqrt(nf*Dispersion(gamma))*QInv(eps) + 0.5*math.Log2(nf), nil
}

// NormalApproxBLER inverts NormalApproxBits: the block error rate the normal approximation predicts for
// k information bits in n complex uses, ε ≈ Q((n·C + ½·log2 n − k)/√(n·V)). It is the floor no practical
// code of that length, rate and SNR should beat (up to the approximation's O(1)-bit slack).
func NormalApproxBLER(n int, k, gamma float64) (float64, error) {
	if n <= 0 {
		return 0, fmt.Errorf("digital: normal approximation: channel uses n = %d, expected n > 0", n)
	}
	if gamma <= 0 {
		return 1, nil
	}
	nf := float64(n)
	return Q((nf*math.Log2(1+gamma) + 0.5*math.Log2(nf) - k) / math.Sqrt(nf*Dispersion(gamma))), nil
}

// DBToLinear converts decibels to a linear power ratio.
func DBToLinear(db float64) float64 { return math.Pow(10, db/10) }
