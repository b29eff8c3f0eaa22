package report

import (
	"encoding/json"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Estimate is a mean over independent runs (seeds) with a two-sided 95% confidence interval from Student's t
// distribution with n−1 degrees of freedom: mean ± t(0.975, n−1)·s/√n. With one run the interval is unknown
// (NaN half-width).
type Estimate struct {
	N         int     `json:"n"`
	Mean      float64 `json:"mean"`
	HalfWidth float64 `json:"ci95_half_width"`
}

// MarshalJSON writes NaN (no value, or no interval from one run) as null.
func (e Estimate) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		N         int `json:"n"`
		Mean      Num `json:"mean"`
		HalfWidth Num `json:"ci95_half_width"`
	}{e.N, Num(e.Mean), Num(e.HalfWidth)})
}

// MeanCI estimates the mean of v (NaN values are left out) with its 95% confidence interval.
func MeanCI(v []float64) Estimate {
	var xs []float64
	for _, x := range v {
		if !math.IsNaN(x) {
			xs = append(xs, x)
		}
	}
	e := Estimate{N: len(xs), Mean: math.NaN(), HalfWidth: math.NaN()}
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
	sd := math.Sqrt(ss / float64(len(xs)-1))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(xs) - 1)}.Quantile(0.975)
	e.HalfWidth = t * sd / math.Sqrt(float64(len(xs)))
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
