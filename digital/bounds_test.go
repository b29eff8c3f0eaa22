package digital

import (
	"math"
	"testing"
)

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.12g, want %.12g (±%g)", name, got, want, tol)
	}
}

// Hand computations (log2 11 = ln 11/ln 2 = 2.397895273/0.693147181 = 3.459431619):
//
//	capacity, n = 32, γ = 10 (10 dB): 32·log2(11) = 32·3.459431619 = 110.7018118 bits
//	capacity, n = 32, γ = 1 (0 dB): 32·log2(2) = 32 bits
//	capacity, γ = 0: 0 bits
func TestCapacityBitsHandValues(t *testing.T) {
	for _, c := range []struct {
		n           int
		gamma, want float64
	}{{32, 10, 110.7018118}, {32, 1, 32}, {1, 3, 2}, {64, 0, 0}} {
		near(t, "CapacityBits", CapacityBits(c.n, c.gamma), c.want, 1e-6)
	}
}

// Hand computations of 1 − exp(−(2^{bits/n}−1)/γ):
//
//	n = 32, bits = 32, γ = 1:  (2^1 − 1)/1 = 1,     1 − e^{−1}   = 0.6321205588
//	n = 32, bits = 64, γ = 10: (2^2 − 1)/10 = 0.3,  1 − e^{−0.3} = 0.2591817793
//	n = 16, bits = 48, γ = 70: (2^3 − 1)/70 = 0.1,  1 − e^{−0.1} = 0.0951625820
func TestRayleighOutageHandValues(t *testing.T) {
	for _, c := range []struct {
		n                 int
		bits, gamma, want float64
	}{{32, 32, 1, 0.6321205588}, {32, 64, 10, 0.2591817793}, {16, 48, 70, 0.0951625820}, {8, 0, 1, 0}, {8, 4, 0, 1}} {
		got, err := RayleighOutage(c.n, c.bits, c.gamma)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "RayleighOutage", got, c.want, 1e-9)
	}
	if _, err := RayleighOutage(0, 1, 1); err == nil {
		t.Error("RayleighOutage accepted n = 0")
	}
}

// Outage is a probability and falls strictly with SNR at a fixed rate.
func TestRayleighOutageMonotone(t *testing.T) {
	prev := 2.0
	for db := -10.0; db <= 40; db += 5 {
		p, _ := RayleighOutage(32, 64, DBToLinear(db))
		if !(p < prev) || p < 0 || p > 1 {
			t.Fatalf("outage at %g dB = %g, not decreasing in SNR (previous %g)", db, p, prev)
		}
		prev = p
	}
}

// Hand computations of the normal approximation k* ≈ nC − √(nV)·Q⁻¹(ε) + ½log2 n
// (log2²e = 1.442695041² = 2.081368981):
//
//	n = 100, ε = 1e-3, γ = 1: C = 1, V = 2.081368981·(1·3)/(2²) = 1.561026736,
//	  √(nV) = √156.1026736 = 12.49410555, Q⁻¹(1e-3) = 3.090232306,
//	  k* = 100 − 12.49410555·3.090232306 + ½·6.643856190 = 100 − 38.60968862 + 3.321928095 = 64.71223948
//	n = 32, ε = 0.1, γ = 10: C = 3.459431619, V = 2.081368981·120/121 = 2.064167584,
//	  √(nV) = √66.05336270 = 8.127321988, Q⁻¹(0.1) = 1.281551566,
//	  k* = 110.7018118 − 10.41558244 + 2.5 = 102.7862294
func TestNormalApproxBitsHandValues(t *testing.T) {
	near(t, "Dispersion(1)", Dispersion(1), 1.561026736, 1e-8)
	near(t, "Dispersion(10)", Dispersion(10), 2.064167584, 1e-8)
	near(t, "QInv(1e-3)", QInv(1e-3), 3.090232306, 1e-8)
	near(t, "QInv(0.1)", QInv(0.1), 1.281551566, 1e-8)
	for _, c := range []struct {
		n                int
		eps, gamma, want float64
	}{{100, 1e-3, 1, 64.7122}, {32, 0.1, 10, 102.7862}} {
		got, err := NormalApproxBits(c.n, c.eps, c.gamma)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "NormalApproxBits", got, c.want, 1e-3)
		if cap := CapacityBits(c.n, c.gamma); got >= cap+0.5*math.Log2(float64(c.n)) {
			t.Errorf("k* = %g not below n·C + ½log2 n = %g for ε < ½", got, cap)
		}
		// The inverse gives ε back.
		e, _ := NormalApproxBLER(c.n, got, c.gamma)
		near(t, "NormalApproxBLER(k*)", e, c.eps, 1e-9*math.Max(1, 1/c.eps)*c.eps+1e-12)
	}
	for _, bad := range []struct {
		n          int
		eps, gamma float64
	}{{0, 0.1, 1}, {10, 0, 1}, {10, 1, 1}, {10, 0.1, -1}} {
		if _, err := NormalApproxBits(bad.n, bad.eps, bad.gamma); err == nil {
			t.Errorf("NormalApproxBits(%d, %g, %g) accepted bad input", bad.n, bad.eps, bad.gamma)
		}
	}
}

// At ε = ½ the back-off term vanishes (Q⁻¹(½) = 0): k* = nC + ½log2 n exactly.
func TestNormalApproxHalf(t *testing.T) {
	got, _ := NormalApproxBits(64, 0.5, 3)
	near(t, "k*(ε=½)", got, 64*2+3, 1e-9)
}
