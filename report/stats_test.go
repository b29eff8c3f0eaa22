package report

import (
	"math"
	"testing"
)

func TestMeanCIByHand(t *testing.T) {
	// 1, 2, 3, 4, 5: mean 3, s = √2.5 = 1.5811, t(0.975, 4) = 2.7764 → half-width 2.7764·1.5811/√5 = 1.9632.
	e := MeanCI([]float64{1, 2, 3, 4, 5, math.NaN()})
	if e.N != 5 || e.Mean != 3 || math.Abs(e.HalfWidth-1.9632) > 1e-4 || math.Abs(e.SD-1.5811) > 1e-4 {
		t.Fatalf("%+v", e)
	}
	if one := MeanCI([]float64{0.7}); one.Mean != 0.7 || !math.IsNaN(one.HalfWidth) || one.Verdict() != "one seed: no interval" {
		t.Fatalf("one value: %+v", one)
	}
	for _, c := range []struct {
		v    []float64
		want string
	}{{[]float64{0.1, 0.12, 0.09}, "wins"}, {[]float64{-0.1, -0.12, -0.09}, "loses"}, {[]float64{-0.1, 0.12, 0.01}, "within noise"}} {
		if got := MeanCI(c.v).Verdict(); got != c.want {
			t.Errorf("%v: %s, want %s", c.v, got, c.want)
		}
	}
}

func TestSeedsForHalfWidthByHand(t *testing.T) {
	// n is the smallest n with n ≥ (t(0.975, n−1)·sd/h)², t from a printed table:
	for _, c := range []struct {
		name   string
		sd, h  float64
		want   int
		reason string
	}{
		// t(12) = 2.1788: (2.1788·5/3)² = 13.19 > 13; t(13) = 2.1604: (2.1604·5/3)² = 12.97 ≤ 14. The plain
		// iteration from the normal quantile goes 11 → 14 → 13 → 14 → …
		{"sd 5, h 3 points", 0.05, 0.03, 14, "half-width 2.1604·5/√14 = 2.89 ≤ 3, at 13: 2.1788·5/√13 = 3.02"},
		// t(5) = 2.5706: 6.61 > 6; t(6) = 2.4469: 5.99 ≤ 7.
		{"sd = h", 0.03, 0.03, 7, "t(6)² = 5.99 ≤ 7, t(5)² = 6.61 > 6"},
		// t(1) = 12.706: 17.9 > 2; t(2) = 4.3027: (4.3027/3)² = 2.06 ≤ 3.
		{"sd 1, h 3 points", 0.01, 0.03, 3, "t(2)/3 squared = 2.06 ≤ 3"},
		// sd/h = 2.6352 (the under-powered case below): t(28) = 2.0484 → 29.14 > 29; t(29) = 2.0452 → 29.05 ≤ 30.
		{"sd 7.9, h 3 points", 0.0790569, 0.03, 30, "t(29) = 2.0452"},
		{"no spread", 0, 0.03, 2, "an interval needs two seeds"},
		{"unknown sd", math.NaN(), 0.03, 0, "one seed"},
		{"no target", 0.05, 0, 0, "h must be positive"},
		{"hopeless", 100, 0.001, maxSeeds, "capped"},
	} {
		if got := SeedsForHalfWidth(c.sd, c.h); got != c.want {
			t.Errorf("%s: %d seeds, want %d (%s)", c.name, got, c.want, c.reason)
		}
	}
}

func TestPowerVerdict(t *testing.T) {
	for _, c := range []struct {
		diffs []float64
		want  string
		need  int
	}{
		// mean 0, sd √2.5 = 1.58 points, half-width 1.96: the interval lies inside ±3; 4 seeds would do
		// (t(3) = 3.1824: (3.1824·1.5811/3)² = 2.81 ≤ 4; t(2): 5.14 > 3).
		{[]float64{0.01, -0.01, 0.02, -0.02, 0}, "equal within ±3.0", 4},
		// mean 0, sd √62.5 = 7.91 points, half-width 9.8 > 3: under-powered, 30 seeds (table above).
		{[]float64{0.1, -0.1, 0.05, -0.05, 0}, "under-powered (need ≈30 seeds for ±3.0)", 30},
		// mean 1.5, half-width 1.96: contains 0, narrower than ±3, but reaches +3.46.
		{[]float64{-0.005, 0.035, 0.005, 0.025, 0.015}, "inconclusive (interval -0.5…+3.5 reaches past ±3.0)", 4},
		// sd 1.53 points: t(2) = 4.3027 → (4.3027·1.5275/3)² = 4.80 > 3; t(3) → 2.63 ≤ 4.
		{[]float64{0.1, 0.12, 0.09}, "wins", 4},
		{[]float64{0.7}, "one seed: no interval", 0},
	} {
		e := MeanCI(c.diffs)
		v, n := e.PowerVerdict(0.03)
		if v != c.want || n != c.need {
			t.Errorf("%v (sd %.4f, half-width %.4f): %q, %d seeds; want %q, %d", c.diffs, e.SD, e.HalfWidth, v, n, c.want, c.need)
		}
	}
}
