package report

import (
	"encoding/json"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Estimate is a mean over independent runs (seeds) with a two-sided 95% confidence interval from Student's t
// distribution with n−1 degrees of freedom: mean ± t(0.975, n−1)·s/√n. With one run the interval is unknown
// (NaN half-width and sd).
type Estimate struct {
	N         int     `json:"n"`
	Mean      float64 `json:"mean"`
	HalfWidth float64 `json:"ci95_half_width"`
	SD        float64 `json:"sd"` // sample standard deviation (n−1 in the denominator)
}

// MarshalJSON writes NaN (no value, or no interval from one run) as null.
func (e Estimate) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		N         int `json:"n"`
		Mean      Num `json:"mean"`
		HalfWidth Num `json:"ci95_half_width"`
		SD        Num `json:"sd"`
	}{e.N, Num(e.Mean), Num(e.HalfWidth), Num(e.SD)})
}

// t975 is the 0.975 quantile of Student's t with df degrees of freedom.
func t975(df int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(0.975)
}

// MeanCI estimates the mean of v (NaN values are left out) with its 95% confidence interval.
func MeanCI(v []float64) Estimate {
	var xs []float64
	for _, x := range v {
		if !math.IsNaN(x) {
			xs = append(xs, x)
		}
	}
	e := Estimate{N: len(xs), Mean: math.NaN(), HalfWidth: math.NaN(), SD: math.NaN()}
	if len(xs) == 0 {
		return e
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	e.Mean = sum / float64(len(xs))
	if len(xs) < 2 {
		return e
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - e.Mean) * (x - e.Mean)
	}
	e.SD = math.Sqrt(ss / float64(len(xs)-1))
	e.HalfWidth = t975(len(xs)-1) * e.SD / math.Sqrt(float64(len(xs)))
	return e
}

// Lo and Hi are the interval's ends.
func (e Estimate) Lo() float64 { return e.Mean - e.HalfWidth }

// Hi is the interval's upper end.
func (e Estimate) Hi() float64 { return e.Mean + e.HalfWidth }

// Verdict reads a paired difference: "wins" when the whole interval is above zero, "loses" when below, and
// "within noise" when it contains zero (or is unknown).
func (e Estimate) Verdict() string {
	switch {
	case math.IsNaN(e.HalfWidth):
		return "one seed: no interval"
	case e.Lo() > 0:
		return "wins"
	case e.Hi() < 0:
		return "loses"
	}
	return "within noise"
}

// maxSeeds caps SeedsForHalfWidth: beyond it the answer is "more than anyone will run".
const maxSeeds = 1_000_000

// SeedsForHalfWidth is the number of paired seeds n whose 95% Student-t half-width t(0.975, n−1)·sd/√n is at
// most h, planning with the observed sd as if it were the true one: the smallest n ≥ 2 with
//
//	n ≥ (t(0.975, n−1)·sd/h)²,
//
// i.e. the fixed point of the usual iteration n ← ⌈(t(0.975, n−1)·sd/h)²⌉ started from the normal quantile
// (sample-size formula for a confidence interval of given width, e.g. Julious, Stat. Med. 23:1921, 2004).
// The plain iteration can alternate between two values (sd = 5, h = 3 points: 13 ↔ 14); taking the smallest
// n that meets its own condition settles it (14). Returns 0 when sd is unknown (NaN) or h ≤ 0, and maxSeeds
// when even that many would not do.
func SeedsForHalfWidth(sd, h float64) int {
	if math.IsNaN(sd) || math.IsInf(sd, 0) || !(h > 0) {
		return 0
	}
	// n − (t(n−1)·sd/h)² increases with n (t falls), so the condition, once met, holds for every larger n:
	// search for the first n that meets it.
	ok := func(n int) bool { r := t975(n-1) * sd / h; return float64(n) >= r*r }
	lo, hi := 2, 2
	for !ok(hi) {
		lo = hi + 1
		if hi *= 2; hi >= maxSeeds {
			if !ok(maxSeeds) {
				return maxSeeds
			}
			hi = maxSeeds
		}
	}
	for lo < hi { // the first n in [lo, hi] that meets the condition (hi does)
		mid := (lo + hi) / 2
		if ok(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return hi
}

// PowerVerdict reads a paired difference against a target half-width h (accuracy units, e.g. 0.03 for ±3
// points). Outside noise it is Verdict's "wins" or "loses". Within noise it says which of three things
// "within noise" means: "equal within ±h" (the whole interval lies inside [−h, h]), "under-powered (need ≈N
// seeds for ±h)" (the half-width exceeds h; N from SeedsForHalfWidth on the observed sd), or "inconclusive"
// (the half-width meets h but the interval reaches past ±h because the mean is not near zero). seedsNeeded is
// SeedsForHalfWidth(e.SD, h) for every row with an sd (0 without one).
func (e Estimate) PowerVerdict(h float64) (verdict string, seedsNeeded int) {
	seedsNeeded = SeedsForHalfWidth(e.SD, h)
	v := e.Verdict()
	if v != "within noise" {
		return v, seedsNeeded
	}
	switch {
	case e.HalfWidth > h:
		return fmt.Sprintf("under-powered (need ≈%d seeds for ±%.1f)", seedsNeeded, 100*h), seedsNeeded
	case e.Lo() >= -h && e.Hi() <= h:
		return fmt.Sprintf("equal within ±%.1f", 100*h), seedsNeeded
	}
	return fmt.Sprintf("inconclusive (interval %+.1f…%+.1f reaches past ±%.1f)", 100*e.Lo(), 100*e.Hi(), 100*h), seedsNeeded
}
