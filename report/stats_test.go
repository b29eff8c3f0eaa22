package report

import (
	"math"
	"testing"
)

func TestMeanCIByHand(t *testing.T) {
	// 1, 2, 3, 4, 5: mean 3, s = √2.5 = 1.5811, t(0.975, 4) = 2.7764 → half-width 2.7764·1.5811/√5 = 1.9632.
	e := MeanCI([]float64{1, 2, 3, 4, 5, math.NaN()})
	if e.N != 5 || e.Mean != 3 || math.Abs(e.HalfWidth-1.9632) > 1e-4 {
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
