package report

import (
	"math"
	"strings"
	"testing"
)

func reached(r int64, budget int64) RoundsObs {
	return RoundsObs{Rounds: r, Reached: true, Budget: budget}
}
func never(budget int64) RoundsObs { return RoundsObs{Rounds: -1, Budget: budget} }

func TestCensoredRoundsByHand(t *testing.T) {
	for _, c := range []struct {
		name              string
		obs               []RoundsObs
		median, q1, q3    string
		reached, fraction float64
	}{
		// Sorted: 10, 30, 50, >100, >100. Ranks ⌈p·5⌉: q1 2nd, median 3rd, q3 4th (a censored seed).
		{"5 seeds, 2 censored", []RoundsObs{reached(30, 100), reached(10, 100), never(100), reached(50, 100), never(100)}, "50", "30", ">100", 3, 0.6},
		// Exactly half censored: the median is the 2nd of 20, 40, >100, >100 (not censored); q3 the 3rd.
		{"4 seeds, half censored", []RoundsObs{never(100), reached(40, 100), reached(20, 100), never(100)}, "40", "20", ">100", 2, 0.5},
		// More than half censored: the median is censored.
		{"4 seeds, 3 censored", []RoundsObs{never(100), reached(40, 100), never(100), never(100)}, ">100", "40", ">100", 1, 0.25},
		{"all reached", []RoundsObs{reached(5, 9), reached(7, 9), reached(6, 9)}, "6", "5", "7", 3, 1},
		{"none reached", []RoundsObs{never(80), never(80)}, ">80", ">80", ">80", 0, 0},
	} {
		d := Rounds(c.obs)
		if d.Median.String() != c.median || d.Q1.String() != c.q1 || d.Q3.String() != c.q3 || float64(d.Reached) != c.reached ||
			math.Abs(float64(d.ReachedFraction)-c.fraction) > 1e-12 || d.N != len(c.obs) {
			t.Errorf("%s: %+v (%s), want median %s [%s, %s], %g reached (%g)", c.name, d, d, c.median, c.q1, c.q3, c.reached, c.fraction)
		}
	}
	d := Rounds([]RoundsObs{reached(30, 100), reached(10, 100), never(100), reached(50, 100), never(100)})
	if s := d.String(); s != "50 [30, >100], 3/5 within 100" {
		t.Fatalf("%q", s)
	}
	if e := Rounds(nil); e.N != 0 || e.String() != "—" || !math.IsNaN(e.Median.Rounds) {
		t.Fatalf("no seeds: %+v", e)
	}
}

func TestAccuracyAtBudget(t *testing.T) {
	c := Curve{Rounds: []int64{40, 80, 120, 160, 200}, Accuracy: []float64{0.1, 0.2, 0.3, 0.4, 0.5}}
	for _, x := range []struct {
		budget int64
		want   float64
	}{{50, 0.1}, {80, 0.2}, {100, 0.2}, {200, 0.5}, {30, math.NaN()}, {201, math.NaN()}} {
		if got := c.AccuracyAt(x.budget); !(got == x.want || math.IsNaN(got) && math.IsNaN(x.want)) {
			t.Errorf("at %d rounds: %g, want %g (last evaluation at or before; NaN before the first or past the end)", x.budget, got, x.want)
		}
	}
}

// seedRuns are three seeds of one config, made by hand: supervised's best validation accuracy sets each
// seed's target (90% of it); proposed reaches it on two seeds and never on the third.
func seedRuns() []RunResult {
	rounds := []int64{50, 100, 150, 200}
	mk := func(sup, prop []float64, propTest []float64) RunResult {
		cs := []Curve{
			{Method: "supervised", LabelFraction: 1, SNR: 0, Epochs: []int{1, 2, 3, 4}, Rounds: rounds, Accuracy: sup, ValAccuracy: sup},
			{Method: "proposed", LabelFraction: 1, SNR: 0, Epochs: []int{1, 2, 3, 4}, Rounds: rounds, Accuracy: propTest, ValAccuracy: prop},
		}
		return RunResult{Dir: "run", Summary: Summarize(cs), Curves: cs}
	}
	return []RunResult{
		// target 0.9·0.8 = 0.72: proposed's validation reaches 0.75 at 100 rounds.
		mk([]float64{0.2, 0.5, 0.7, 0.8}, []float64{0.6, 0.75, 0.8, 0.8}, []float64{0.60, 0.70, 0.80, 0.80}),
		// target 0.72: reached at 150.
		mk([]float64{0.2, 0.5, 0.7, 0.8}, []float64{0.3, 0.5, 0.73, 0.74}, []float64{0.30, 0.50, 0.70, 0.75}),
		// target 0.72: never within 200 rounds.
		mk([]float64{0.2, 0.5, 0.7, 0.8}, []float64{0.3, 0.4, 0.5, 0.6}, []float64{0.30, 0.40, 0.50, 0.65}),
	}
}

func TestAggregateCensoredRounds(t *testing.T) {
	rows, pairs, _, _ := Aggregate(seedRuns(), DefaultOptions("proposed"))
	var prop, sup SeedRow
	for _, r := range rows {
		switch r.Method {
		case "proposed":
			prop = r
		case "supervised":
			sup = r
		}
	}
	// Proposed: 100, 150, >200 → median 150 [100, >200], 2 of 3 reached within 200 — never a mean of them.
	if prop.Rounds.String() != "150 [100, >200], 2/3 within 200" {
		t.Fatalf("proposed rounds: %s", prop.Rounds)
	}
	// Supervised reaches its own target (0.72) at 200 on every seed (validation 0.7 < 0.72 at 150).
	if sup.Rounds.String() != "200 [200, 200], 3/3 within 200" {
		t.Fatalf("supervised rounds: %s", sup.Rounds)
	}
	// Test accuracy at 50 rounds: 0.6, 0.3, 0.3 → mean 0.4; at 100: 0.7, 0.5, 0.4; at 200: 0.8, 0.75, 0.65.
	want := map[int64]float64{50: 0.4, 100: 1.6 / 3, 200: 2.2 / 3}
	if len(prop.AtRounds) != 3 {
		t.Fatalf("budgets: %+v", prop.AtRounds)
	}
	for _, a := range prop.AtRounds {
		if a.Accuracy.N != 3 || math.Abs(a.Accuracy.Mean-want[a.Rounds]) > 1e-12 {
			t.Errorf("proposed at %d rounds: %+v, want mean %g", a.Rounds, a.Accuracy, want[a.Rounds])
		}
	}
	md := SeedsMarkdown("t", 3, rows, pairs, nil)
	for _, s := range []string{"150 [100, >200], 2/3 within 200", "test acc at 50 rounds (%)", "40.0 ± ", "more than half are", "sd of differences", "seeds for ±3.0", "n ≥ (t(0.975, n−1)·sd/h)²"} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
	csv := SeedsCSVHeader(DefaultRoundBudgets) + SeedsCSVRow(prop)
	if !strings.Contains(csv, "rounds_median,rounds_median_censored") || !strings.Contains(csv, ",3,2,0.6666666666666666,200,150,false,100,false,200,true,") {
		t.Errorf("csv:\n%s", csv)
	}
}
