package report

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// RoundsObs is one seed's rounds to the target: Rounds when Reached, otherwise right-censored at Budget (the
// run ended, after Budget rounds, without reaching the target: its rounds-to-target is > Budget).
type RoundsObs struct {
	Rounds  int64
	Reached bool
	Budget  int64
}

// Bound is a quantile of a right-censored sample: the value Rounds, or, when Censored, a value known only to
// exceed Rounds (written ">Rounds").
type Bound struct {
	Rounds   float64 `json:"rounds"`
	Censored bool    `json:"censored"` // true: the quantile is > rounds (a censored seed sits at its rank)
}

// MarshalJSON writes an unknown value (NaN) as null.
func (b Bound) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Rounds   Num  `json:"rounds"`
		Censored bool `json:"censored"`
	}{Num(b.Rounds), b.Censored})
}

// String is "120", ">200" (censored) or "—" (no seeds).
func (b Bound) String() string {
	switch {
	case math.IsNaN(b.Rounds):
		return "—"
	case b.Censored:
		return fmt.Sprintf(">%g", b.Rounds)
	}
	return fmt.Sprintf("%g", b.Rounds)
}

// RoundsDist summarises rounds-to-target over seeds without averaging censored values: the fraction of
// seeds that reached the target within their budget, and the median and quartiles of the censored sample.
type RoundsDist struct {
	N               int   `json:"n"`
	Reached         int   `json:"reached"`
	ReachedFraction Num   `json:"reached_fraction"`
	Budget          int64 `json:"budget_rounds"` // the largest budget over the seeds (all equal for seeds of one config)
	Median          Bound `json:"median"`
	Q1              Bound `json:"q1"`
	Q3              Bound `json:"q3"`
}

// Rounds summarises obs. A quantile p is the inverse of the empirical distribution function (Hyndman and
// Fan's type 1: the ⌈p·n⌉-th smallest value, no interpolation), so no censored value is ever averaged into
// it. Censored seeds rank above every reached one (valid when each censored seed's budget is at least every
// reached seed's rounds, as for seeds of one config); a quantile whose rank falls on a censored seed is
// censored, reported as > that seed's budget. Hence the median is censored exactly when more than half of
// the seeds are: ⌈n/2⌉ > n − censored.
func Rounds(obs []RoundsObs) RoundsDist {
	d := RoundsDist{N: len(obs), ReachedFraction: Num(math.NaN())}
	nan := Bound{Rounds: math.NaN()}
	d.Median, d.Q1, d.Q3 = nan, nan, nan
	if len(obs) == 0 {
		return d
	}
	sorted := append([]RoundsObs(nil), obs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.Reached != b.Reached {
			return a.Reached // reached before censored
		}
		if a.Reached {
			return a.Rounds < b.Rounds
		}
		return a.Budget < b.Budget
	})
	for _, o := range obs {
		if o.Reached {
			d.Reached++
		}
		d.Budget = max(d.Budget, o.Budget)
	}
	d.ReachedFraction = Num(float64(d.Reached) / float64(len(obs)))
	q := func(p float64) Bound {
		k := int(math.Ceil(p*float64(len(sorted)))) - 1
		o := sorted[max(k, 0)]
		if o.Reached {
			return Bound{Rounds: float64(o.Rounds)}
		}
		return Bound{Rounds: float64(o.Budget), Censored: true}
	}
	d.Q1, d.Median, d.Q3 = q(0.25), q(0.5), q(0.75)
	return d
}

// String is "median [q1, q3], k/n within B", e.g. "50 [30, >100], 3/5 within 100".
func (d RoundsDist) String() string {
	if d.N == 0 {
		return "—"
	}
	return fmt.Sprintf("%s [%s, %s], %d/%d within %d", d.Median, d.Q1, d.Q3, d.Reached, d.N, d.Budget)
}

// DefaultRoundBudgets are the fixed round budgets at which accuracy is reported (issue 20 item 4).
var DefaultRoundBudgets = []int64{50, 100, 200}

// AccuracyAt is the test accuracy of the last evaluation at or before budget rounds, nothing interpolated;
// NaN when the curve has no evaluation that early, or ends before the budget (the run was not given that
// many rounds, so its accuracy "at the budget" is unknown).
func (c Curve) AccuracyAt(budget int64) float64 {
	if len(c.Rounds) == 0 || c.Rounds[len(c.Rounds)-1] < budget || c.Diverged != "" {
		return math.NaN()
	}
	acc := math.NaN()
	for i, r := range c.Rounds {
		if r > budget || i >= len(c.Accuracy) {
			break
		}
		acc = c.Accuracy[i]
	}
	return acc
}

// AtRounds is a run's test accuracy at a fixed round budget.
type AtRounds struct {
	Rounds   int64 `json:"rounds"`
	Accuracy Num   `json:"test_accuracy"`
}

// AtRoundsEstimate is the test accuracy at a fixed round budget over seeds (seeds whose run is shorter than
// the budget are left out: n says how many remain).
type AtRoundsEstimate struct {
	Rounds   int64    `json:"rounds"`
	Accuracy Estimate `json:"test_accuracy"`
}
