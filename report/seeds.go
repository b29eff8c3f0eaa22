package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/semcom/semcom/internal/fsutil"
)

// RunResult is what one finished run folder reports (its summary.json).
type RunResult struct {
	Dir     string
	Summary []Summary `json:"summary"`
	Curves  []Curve   `json:"curves"`
	Probes  []Probe   `json:"probes"`
}

// ReadRun loads a run folder's summary.json.
func ReadRun(dir string) (RunResult, error) {
	r := RunResult{Dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		return r, fmt.Errorf("%s: no finished run (%w)", dir, err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s: %w", filepath.Join(dir, "summary.json"), err)
	}
	return r, nil
}

// Setting is one cell of the protocol.
type Setting struct {
	Method        string  `json:"method"`
	LabelFraction float64 `json:"label_fraction"`
	SNR           float64 `json:"snr_db"`
}

func settingOf(s Summary) Setting { return Setting{s.Method, s.LabelFraction, s.SNR} }

// Options are the choices of an aggregation over seeds.
type Options struct {
	// Reference is the method whose paired differences to every other method are reported.
	Reference string
	// TargetHalfWidth is the 95% half-width (accuracy units: 0.03 = ±3 points) a paired difference within
	// noise must reach to be called equal; the seeds needed for it are reported (SeedsForHalfWidth).
	TargetHalfWidth float64
	// RoundBudgets are the fixed round budgets at which test accuracy is reported.
	RoundBudgets []int64
}

// DefaultTargetHalfWidth is ±3 points (issue 20 item 5).
const DefaultTargetHalfWidth = 0.03

// DefaultOptions pairs against reference, with a ±3-point target half-width and the default round budgets.
func DefaultOptions(reference string) Options {
	return Options{Reference: reference, TargetHalfWidth: DefaultTargetHalfWidth, RoundBudgets: DefaultRoundBudgets}
}

// Check says what is wrong with o (naming the flag that sets it).
func (o Options) Check() error {
	if !(o.TargetHalfWidth > 0 && o.TargetHalfWidth < 1) {
		return fmt.Errorf("--target-halfwidth: %g: want a half-width in accuracy units, 0 < h < 1 (0.03 = ±3 points)", o.TargetHalfWidth)
	}
	for i, b := range o.RoundBudgets {
		if b <= 0 || (i > 0 && b <= o.RoundBudgets[i-1]) {
			return fmt.Errorf("--round-budgets: %v: want positive round counts in increasing order", o.RoundBudgets)
		}
	}
	return nil
}

// SeedRow aggregates one setting over runs that differ only in their seeds.
type SeedRow struct {
	Setting
	Selected Estimate `json:"selected_test_accuracy"` // test accuracy at the validation-selected epoch
	Final    Estimate `json:"final_test_accuracy"`
	ValBest  Estimate `json:"best_val_accuracy"`
	// Rounds to the target over the seeds, right-censored at each run's budget (never averaged).
	Rounds   RoundsDist         `json:"rounds_to_target"`
	AtRounds []AtRoundsEstimate `json:"test_accuracy_at_rounds"`
	Diverged int                `json:"diverged"`
}

// PairedRow is a method's difference to the reference method in one setting, run by run (the same seed,
// data and validation split on both sides), so the seed-to-seed variation they share cancels.
type PairedRow struct {
	Setting
	Reference string   `json:"reference"`
	Diff      Estimate `json:"reference_minus_method"` // selected test accuracy, reference − method
	Verdict   string   `json:"verdict"`                // for the reference: wins, loses, equal within ±h, under-powered, …
	// DiffSD is the sample sd of the per-seed differences; SeedsNeeded the seeds for a 95% half-width of
	// TargetHalfWidth at that sd (SeedsForHalfWidth; 0 when unknown).
	DiffSD          Num     `json:"diff_sd"`
	TargetHalfWidth float64 `json:"target_half_width"`
	SeedsNeeded     int     `json:"seeds_needed"`
}

func pairedRow(k Setting, reference string, diffs []float64, h float64) PairedRow {
	d := MeanCI(diffs)
	v, n := d.PowerVerdict(h)
	return PairedRow{Setting: k, Reference: reference, Diff: d, Verdict: v, DiffSD: Num(d.SD), TargetHalfWidth: h, SeedsNeeded: n}
}

// ProbeRow aggregates a probe over runs.
type ProbeRow struct {
	Method, Features, Target string
	Linear, KNN              Estimate
}

// Aggregate merges runs (seeds of one config) into mean ± 95% CI rows, paired differences against the
// reference method, aggregated probes and mean curves with CI bands. Diverged jobs are counted, not dropped:
// their accuracy is NaN and leaves their setting's n smaller.
func Aggregate(runs []RunResult, o Options) ([]SeedRow, []PairedRow, []ProbeRow, []Curve) {
	var order []Setting
	by := map[Setting][]Summary{}
	curve := map[Setting][]*Curve{}
	for _, r := range runs {
		for _, s := range r.Summary {
			k := settingOf(s)
			if _, ok := by[k]; !ok {
				order = append(order, k)
			}
			by[k] = append(by[k], s)
			curve[k] = append(curve[k], findCurve(r.Curves, k))
		}
	}
	var rows []SeedRow
	for _, k := range order {
		row := SeedRow{Setting: k}
		var sel, fin, val []float64
		var obs []RoundsObs
		at := make([][]float64, len(o.RoundBudgets))
		for i, s := range by[k] {
			if s.Diverged != "" {
				row.Diverged++
				continue
			}
			sel, fin, val = append(sel, float64(s.Selected)), append(fin, float64(s.Final)), append(val, float64(s.ValBest))
			c := curve[k][i]
			if !math.IsNaN(float64(s.Target)) { // no target (no baseline or validation split): no observation
				budget := s.RoundsBudget
				if budget == 0 && c != nil && len(c.Rounds) > 0 { // a summary.json written before rounds_budget existed
					budget = c.Rounds[len(c.Rounds)-1]
				}
				obs = append(obs, RoundsObs{Rounds: s.RoundsToTarget, Reached: s.RoundsToTarget >= 0, Budget: budget})
			}
			for j, b := range o.RoundBudgets {
				a := math.NaN()
				if c != nil {
					a = c.AccuracyAt(b)
				}
				at[j] = append(at[j], a)
			}
		}
		row.Selected, row.Final, row.ValBest, row.Rounds = MeanCI(sel), MeanCI(fin), MeanCI(val), Rounds(obs)
		for j, b := range o.RoundBudgets {
			row.AtRounds = append(row.AtRounds, AtRoundsEstimate{Rounds: b, Accuracy: MeanCI(at[j])})
		}
		rows = append(rows, row)
	}
	var pairs []PairedRow
	for _, k := range order {
		if k.Method == o.Reference {
			continue
		}
		ref := Setting{o.Reference, k.LabelFraction, k.SNR}
		var diffs []float64
		for _, r := range runs {
			if d, ok := selectedDiff(find(r.Summary, ref), find(r.Summary, k)); ok {
				diffs = append(diffs, d)
			}
		}
		if len(diffs) == 0 {
			continue
		}
		pairs = append(pairs, pairedRow(k, o.Reference, diffs, o.TargetHalfWidth))
	}
	return rows, pairs, aggregateProbes(runs), meanCurves(runs, order)
}

func findCurve(cs []Curve, k Setting) *Curve {
	for i := range cs {
		if (Setting{cs[i].Method, cs[i].LabelFraction, cs[i].SNR}) == k {
			return &cs[i]
		}
	}
	return nil
}

// selectedDiff is x − y of the test accuracy at the validation-selected epoch, when both jobs exist and
// neither diverged.
func selectedDiff(x, y *Summary) (float64, bool) {
	if x == nil || y == nil || x.Diverged != "" || y.Diverged != "" {
		return 0, false
	}
	return float64(x.Selected) - float64(y.Selected), true
}

func find(ss []Summary, k Setting) *Summary {
	for i := range ss {
		if settingOf(ss[i]) == k {
			return &ss[i]
		}
	}
	return nil
}

func aggregateProbes(runs []RunResult) []ProbeRow {
	type key struct{ m, f, t string }
	var order []key
	lin, knn := map[key][]float64{}, map[key][]float64{}
	for _, r := range runs {
		for _, p := range r.Probes {
			k := key{p.Method, p.Features, p.Target}
			if _, ok := lin[k]; !ok {
				order = append(order, k)
			}
			lin[k], knn[k] = append(lin[k], p.Linear), append(knn[k], p.KNN)
		}
	}
	var out []ProbeRow
	for _, k := range order {
		out = append(out, ProbeRow{k.m, k.f, k.t, MeanCI(lin[k]), MeanCI(knn[k])})
	}
	return out
}

// meanCurves averages each setting's test curve point by point over the runs (the rounds of a point are
// the same in every run), with the CI half-width as the band.
func meanCurves(runs []RunResult, order []Setting) []Curve {
	var out []Curve
	for _, k := range order {
		var base *Curve
		var pts [][]float64
		for _, r := range runs {
			for i := range r.Curves {
				c := &r.Curves[i]
				if (Setting{c.Method, c.LabelFraction, c.SNR}) != k || c.Diverged != "" {
					continue
				}
				if base == nil || len(c.Accuracy) < len(base.Accuracy) {
					base = c
				}
				pts = append(pts, c.Accuracy)
			}
		}
		if base == nil {
			continue
		}
		m := Curve{Method: k.Method, LabelFraction: k.LabelFraction, SNR: k.SNR, Epochs: base.Epochs, Rounds: base.Rounds}
		for j := range base.Accuracy {
			var v []float64
			for _, p := range pts {
				v = append(v, p[j])
			}
			e := MeanCI(v)
			m.Accuracy = append(m.Accuracy, e.Mean)
			m.Band = append(m.Band, e.HalfWidth)
		}
		out = append(out, m)
	}
	return out
}

func ci(e Estimate, scale float64, unit string) string {
	if math.IsNaN(e.Mean) {
		return "—"
	}
	if math.IsNaN(e.HalfWidth) {
		return fmt.Sprintf("%.1f%s", scale*e.Mean, unit)
	}
	return fmt.Sprintf("%.1f ± %.1f%s", scale*e.Mean, scale*e.HalfWidth, unit)
}

// powerNote states how the power columns are computed.
func powerNote(h float64) string {
	return fmt.Sprintf("Power: sd is the sample sd of the per-seed differences; \"seeds for ±%.1f\" is the smallest n with "+
		"n ≥ (t(0.975, n−1)·sd/h)², h = %.1f points (the fixed point of n ← ⌈(t(0.975, n−1)·sd/h)²⌉), planning with the observed sd "+
		"as if it were the true one. Within noise, a difference is \"equal within ±%.1f\" when its whole interval lies inside ±%.1f, "+
		"\"under-powered\" when its half-width is wider than that.\n", 100*h, 100*h, 100*h, 100*h)
}

func pairedTable(b *strings.Builder, pairs []PairedRow, diffHeader, verdictHeader string) {
	h := pairs[0].TargetHalfWidth
	fmt.Fprintf(b, "| labels | SNR (dB) | method | n | %s | sd of differences | seeds for ±%.1f | %s |\n|---:|---:|---|---:|---:|---:|---:|---|\n",
		diffHeader, 100*h, verdictHeader)
	for _, p := range pairs {
		sd, need := "—", "—"
		if !math.IsNaN(float64(p.DiffSD)) {
			sd, need = fmt.Sprintf("%.1f", 100*float64(p.DiffSD)), fmt.Sprint(p.SeedsNeeded)
		}
		fmt.Fprintf(b, "| %g%% | %g | %s | %d | %s | %s | %s | %s |\n", 100*p.LabelFraction, p.SNR, p.Method, p.Diff.N, ci(p.Diff, 100, ""), sd, need, p.Verdict)
	}
	b.WriteString("\n" + powerNote(h))
}

// SeedsMarkdown renders the aggregated tables.
func SeedsMarkdown(title string, runs int, rows []SeedRow, pairs []PairedRow, probes []ProbeRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%d runs (seeds). Mean ± the half-width of a 95%% confidence interval from Student's t over seeds. "+
		"Test accuracy at the epoch of the best validation accuracy; targets and rounds read validation only.\n\n", title, runs)
	var budgets []int64
	if len(rows) > 0 {
		for _, a := range rows[0].AtRounds {
			budgets = append(budgets, a.Rounds)
		}
	}
	b.WriteString("| labels | SNR (dB) | method | n | test acc at val-selected epoch (%) | test acc, last epoch (%) | rounds to 90% of supervised best val: median [IQR], reached |")
	for _, r := range budgets {
		fmt.Fprintf(&b, " test acc at %d rounds (%%) |", r)
	}
	b.WriteString(" diverged |\n|---:|---:|---|---:|---:|---:|---:|" + strings.Repeat("---:|", len(budgets)) + "---:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %g%% | %g | %s | %d | %s | %s | %s |", 100*r.LabelFraction, r.SNR, r.Method, r.Selected.N,
			ci(r.Selected, 100, ""), ci(r.Final, 100, ""), r.Rounds)
		for _, a := range r.AtRounds {
			fmt.Fprintf(&b, " %s |", ciN(a.Accuracy, r.Selected.N))
		}
		fmt.Fprintf(&b, " %d |\n", r.Diverged)
	}
	b.WriteString("\nRounds to the target are censored where a seed never reaches it: \">N\" is a quantile that falls on such a seed " +
		"(it is past that seed's N-round budget; the median is censored when more than half are). Quantiles are order statistics " +
		"(the ⌈p·n⌉-th smallest, nothing interpolated or averaged). Accuracy at a round budget is each seed's last evaluation at or " +
		"before it; seeds whose run is shorter are left out (shown as n when fewer).\n")
	if len(pairs) > 0 {
		fmt.Fprintf(&b, "\n### Paired differences: %s − method (test accuracy at the val-selected epoch, points; same seed on both sides)\n\n", pairs[0].Reference)
		pairedTable(&b, pairs, "difference", pairs[0].Reference)
	}
	if len(probes) > 0 {
		var targets []string
		for _, p := range probes {
			if !slices.Contains(targets, p.Target) {
				targets = append(targets, p.Target)
			}
		}
		b.WriteString("\n### Probes after Stage I (linear probe, test accuracy %, mean ± CI over seeds)\n\n| method | features |")
		for _, t := range targets {
			b.WriteString(" " + t + " |")
		}
		b.WriteString("\n|---|---|" + strings.Repeat("---:|", len(targets)) + "\n")
		type key struct{ m, f string }
		var order []key
		cells := map[key]map[string]ProbeRow{}
		for _, p := range probes {
			k := key{p.Method, p.Features}
			if cells[k] == nil {
				cells[k] = map[string]ProbeRow{}
				order = append(order, k)
			}
			cells[k][p.Target] = p
		}
		for _, k := range order {
			fmt.Fprintf(&b, "| %s | %s |", k.m, k.f)
			for _, t := range targets {
				fmt.Fprintf(&b, " %s |", ci(cells[k][t].Linear, 100, ""))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// ciN is ci in points, with "(n=k)" when fewer seeds than all contribute.
func ciN(e Estimate, all int) string {
	s := ci(e, 100, "")
	if e.N > 0 && e.N < all {
		s += fmt.Sprintf(" (n=%d)", e.N)
	}
	return s
}

// SeedsCSVHeader is the header line of SeedsCSVRow's records.
func SeedsCSVHeader(budgets []int64) string {
	h := "method,label_fraction,snr_db,n,selected_mean,selected_ci95,selected_sd,final_mean,final_ci95," +
		"rounds_n,rounds_reached,rounds_reached_fraction,rounds_budget,rounds_median,rounds_median_censored,rounds_q1,rounds_q1_censored,rounds_q3,rounds_q3_censored"
	for _, b := range budgets {
		h += fmt.Sprintf(",acc_at_%d_n,acc_at_%d_mean,acc_at_%d_ci95", b, b, b)
	}
	return h + ",diverged\n"
}

// SeedsCSVRow is one CSV record (NaN for an unknown number; a censored quantile's value is its budget).
func SeedsCSVRow(r SeedRow) string {
	var b strings.Builder
	d := r.Rounds
	fmt.Fprintf(&b, "%s,%g,%g,%d,%g,%g,%g,%g,%g,%d,%d,%g,%d,%g,%t,%g,%t,%g,%t", r.Method, r.LabelFraction, r.SNR, r.Selected.N, r.Selected.Mean,
		r.Selected.HalfWidth, r.Selected.SD, r.Final.Mean, r.Final.HalfWidth, d.N, d.Reached, float64(d.ReachedFraction), d.Budget,
		d.Median.Rounds, d.Median.Censored, d.Q1.Rounds, d.Q1.Censored, d.Q3.Rounds, d.Q3.Censored)
	for _, a := range r.AtRounds {
		fmt.Fprintf(&b, ",%d,%g,%g", a.Accuracy.N, a.Accuracy.Mean, a.Accuracy.HalfWidth)
	}
	fmt.Fprintf(&b, ",%d\n", r.Diverged)
	return b.String()
}

// PairedCSV renders paired rows (the difference, its sd and the seeds needed for the target half-width).
func PairedCSV(pairs []PairedRow) string {
	var b strings.Builder
	b.WriteString("reference,method,label_fraction,snr_db,n,diff_mean,diff_ci95,diff_sd,target_half_width,seeds_needed,verdict\n")
	for _, p := range pairs {
		fmt.Fprintf(&b, "%q,%s,%g,%g,%d,%g,%g,%g,%g,%d,%q\n", p.Reference, p.Method, p.LabelFraction, p.SNR, p.Diff.N, p.Diff.Mean, p.Diff.HalfWidth,
			float64(p.DiffSD), p.TargetHalfWidth, p.SeedsNeeded, p.Verdict)
	}
	return b.String()
}

// WriteSeeds aggregates runs and writes seeds-summary.md, .json and .csv, seeds-paired.csv and one
// accuracy-vs-rounds figure per label fraction (mean curves with their CI bands; PNG and PDF) into dir; it
// returns the Markdown and the figures' paths.
func WriteSeeds(dir, title string, o Options, runs []RunResult) (string, []string, error) {
	if err := o.Check(); err != nil {
		return "", nil, err
	}
	rows, pairs, probes, curves := Aggregate(runs, o)
	md := SeedsMarkdown(title, len(runs), rows, pairs, probes)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	var dirs []string
	for _, r := range runs {
		dirs = append(dirs, r.Dir)
	}
	js, err := json.MarshalIndent(struct {
		Runs            []string    `json:"runs"`
		TargetHalfWidth float64     `json:"target_half_width"`
		RoundBudgets    []int64     `json:"round_budgets"`
		Rows            []SeedRow   `json:"rows"`
		Paired          []PairedRow `json:"paired"`
		Probes          []ProbeRow  `json:"probes,omitempty"`
	}{dirs, o.TargetHalfWidth, o.RoundBudgets, rows, pairs, probes}, "", "  ")
	if err != nil {
		return "", nil, err
	}
	var csv bytes.Buffer
	csv.WriteString(SeedsCSVHeader(o.RoundBudgets))
	for _, r := range rows {
		csv.WriteString(SeedsCSVRow(r))
	}
	for name, body := range map[string][]byte{"seeds-summary.md": []byte(md), "seeds-summary.json": js, "seeds-summary.csv": csv.Bytes(),
		"seeds-paired.csv": []byte(PairedCSV(pairs))} {
		if err := fsutil.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			return "", nil, err
		}
	}
	var plots []string
	fracs := fractions(curves)
	sort.Float64s(fracs)
	for _, frac := range fracs {
		p := filepath.Join(dir, fmt.Sprintf("seeds-accuracy-vs-rounds-labels%g.png", 100*frac))
		files, err := Plot(p, fmt.Sprintf("%s, %g%% labels, mean ± 95%% CI over %d seeds", title, 100*frac, len(runs)), filter(curves, frac))
		if err != nil {
			return "", nil, err
		}
		plots = append(plots, files...)
	}
	return md, plots, nil
}

// ReadSeeds loads the runs a collect output folder (seeds-summary.json) merged.
func ReadSeeds(dir string) ([]RunResult, error) {
	b, err := os.ReadFile(filepath.Join(dir, "seeds-summary.json"))
	if err != nil {
		return nil, fmt.Errorf("%s: not a 'semcom collect' folder (%w)", dir, err)
	}
	var s struct{ Runs []string }
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "seeds-summary.json"), err)
	}
	var runs []RunResult
	for _, r := range s.Runs {
		run, err := ReadRun(r)
		if err != nil {
			return nil, err
		}
		runs = append(runs, run)
	}
	return runs, nil
}

// Compare pairs two variants' runs seed by seed (runs with the same seed key) and returns, per method and
// setting, the difference b − a of the test accuracy at the validation-selected epoch, with its CI, sd and
// the seeds needed for a half-width of h (accuracy units).
func Compare(a, b map[uint64]RunResult, labelA, labelB string, h float64) []PairedRow {
	var seeds []uint64
	for s := range a {
		if _, ok := b[s]; ok {
			seeds = append(seeds, s)
		}
	}
	sort.Slice(seeds, func(i, j int) bool { return seeds[i] < seeds[j] })
	if len(seeds) == 0 {
		return nil
	}
	var out []PairedRow
	for _, sa := range a[seeds[0]].Summary {
		k := settingOf(sa)
		var diffs []float64
		for _, s := range seeds {
			if d, ok := selectedDiff(find(b[s].Summary, k), find(a[s].Summary, k)); ok {
				diffs = append(diffs, d)
			}
		}
		if len(diffs) == 0 {
			continue
		}
		out = append(out, pairedRow(k, labelB+" − "+labelA, diffs, h))
	}
	return out
}

// CompareMarkdown renders Compare's rows; the verdict is for the second variant.
func CompareMarkdown(title string, rows []PairedRow, labelB string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", title)
	pairedTable(&b, rows, rows[0].Reference+" (points)", labelB)
	return b.String()
}
