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

// SeedRow aggregates one setting over runs that differ only in their seeds.
type SeedRow struct {
	Setting
	Selected Estimate `json:"selected_test_accuracy"` // test accuracy at the validation-selected epoch
	Final    Estimate `json:"final_test_accuracy"`
	ValBest  Estimate `json:"best_val_accuracy"`
	// Rounds to the target, over the runs that reached it (Reached of N).
	Rounds   Estimate `json:"rounds_to_target"`
	Reached  int      `json:"reached_target"`
	Diverged int      `json:"diverged"`
}

// PairedRow is a method's difference to the reference method in one setting, run by run (the same seed,
// data and validation split on both sides), so the seed-to-seed variation they share cancels.
type PairedRow struct {
	Setting
	Reference string   `json:"reference"`
	Diff      Estimate `json:"reference_minus_method"` // selected test accuracy, reference − method
	Verdict   string   `json:"verdict"`                // for the reference: wins, loses, within noise
}

// ProbeRow aggregates a probe over runs.
type ProbeRow struct {
	Method, Features, Target string
	Linear, KNN              Estimate
}

// Aggregate merges runs (seeds of one config) into mean ± 95% CI rows, paired differences against the
// reference method, aggregated probes and mean curves with CI bands. Diverged jobs are counted, not dropped:
// their accuracy is NaN and leaves their setting's n smaller.
func Aggregate(runs []RunResult, reference string) ([]SeedRow, []PairedRow, []ProbeRow, []Curve) {
	var order []Setting
	by := map[Setting][]Summary{}
	for _, r := range runs {
		for _, s := range r.Summary {
			k := settingOf(s)
			if _, ok := by[k]; !ok {
				order = append(order, k)
			}
			by[k] = append(by[k], s)
		}
	}
	var rows []SeedRow
	for _, k := range order {
		row := SeedRow{Setting: k}
		var sel, fin, val, rounds []float64
		for _, s := range by[k] {
			if s.Diverged != "" {
				row.Diverged++
				continue
			}
			sel, fin, val = append(sel, float64(s.Selected)), append(fin, float64(s.Final)), append(val, float64(s.ValBest))
			if s.RoundsToTarget >= 0 {
				row.Reached++
				rounds = append(rounds, float64(s.RoundsToTarget))
			}
		}
		row.Selected, row.Final, row.ValBest, row.Rounds = MeanCI(sel), MeanCI(fin), MeanCI(val), MeanCI(rounds)
		rows = append(rows, row)
	}
	var pairs []PairedRow
	for _, k := range order {
		if k.Method == reference {
			continue
		}
		ref := Setting{reference, k.LabelFraction, k.SNR}
		var diffs []float64
		for _, r := range runs {
			if d, ok := selectedDiff(find(r.Summary, ref), find(r.Summary, k)); ok {
				diffs = append(diffs, d)
			}
		}
		if len(diffs) == 0 {
			continue
		}
		d := MeanCI(diffs)
		pairs = append(pairs, PairedRow{Setting: k, Reference: reference, Diff: d, Verdict: d.Verdict()})
	}
	return rows, pairs, aggregateProbes(runs), meanCurves(runs, order)
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

// SeedsMarkdown renders the aggregated tables.
func SeedsMarkdown(title string, runs int, rows []SeedRow, pairs []PairedRow, probes []ProbeRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%d runs (seeds). Mean ± the half-width of a 95%% confidence interval from Student's t over seeds. "+
		"Test accuracy at the epoch of the best validation accuracy; targets and rounds read validation only.\n\n", title, runs)
	b.WriteString("| labels | SNR (dB) | method | n | test acc at val-selected epoch (%) | test acc, last epoch (%) | rounds to 90% of supervised best val | diverged |\n")
	b.WriteString("|---:|---:|---|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		rounds := "never"
		if r.Reached > 0 {
			rounds = fmt.Sprintf("%s (%d/%d)", ci(r.Rounds, 1, ""), r.Reached, r.Selected.N)
		}
		fmt.Fprintf(&b, "| %g%% | %g | %s | %d | %s | %s | %s | %d |\n", 100*r.LabelFraction, r.SNR, r.Method, r.Selected.N,
			ci(r.Selected, 100, ""), ci(r.Final, 100, ""), rounds, r.Diverged)
	}
	if len(pairs) > 0 {
		fmt.Fprintf(&b, "\n### Paired differences: %s − method (test accuracy at the val-selected epoch, points; same seed on both sides)\n\n", pairs[0].Reference)
		b.WriteString("| labels | SNR (dB) | method | n | difference | " + pairs[0].Reference + " |\n|---:|---:|---|---:|---:|---|\n")
		for _, p := range pairs {
			fmt.Fprintf(&b, "| %g%% | %g | %s | %d | %s | %s |\n", 100*p.LabelFraction, p.SNR, p.Method, p.Diff.N, ci(p.Diff, 100, ""), p.Verdict)
		}
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

// WriteSeeds aggregates runs and writes seeds-summary.md, .json and .csv and one accuracy-vs-rounds plot per
// label fraction (mean curves with their CI bands) into dir; it returns the Markdown.
func WriteSeeds(dir, title, reference string, runs []RunResult) (string, []string, error) {
	rows, pairs, probes, curves := Aggregate(runs, reference)
	md := SeedsMarkdown(title, len(runs), rows, pairs, probes)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	var dirs []string
	for _, r := range runs {
		dirs = append(dirs, r.Dir)
	}
	js, err := json.MarshalIndent(struct {
		Runs   []string    `json:"runs"`
		Rows   []SeedRow   `json:"rows"`
		Paired []PairedRow `json:"paired"`
		Probes []ProbeRow  `json:"probes,omitempty"`
	}{dirs, rows, pairs, probes}, "", "  ")
	if err != nil {
		return "", nil, err
	}
	var csv bytes.Buffer
	csv.WriteString("method,label_fraction,snr_db,n,selected_mean,selected_ci95,final_mean,final_ci95,rounds_mean,rounds_ci95,reached,diverged\n")
	for _, r := range rows {
		fmt.Fprintf(&csv, "%s,%g,%g,%d,%g,%g,%g,%g,%g,%g,%d,%d\n", r.Method, r.LabelFraction, r.SNR, r.Selected.N, r.Selected.Mean, r.Selected.HalfWidth,
			r.Final.Mean, r.Final.HalfWidth, r.Rounds.Mean, r.Rounds.HalfWidth, r.Reached, r.Diverged)
	}
	for name, body := range map[string][]byte{"seeds-summary.md": []byte(md), "seeds-summary.json": js, "seeds-summary.csv": csv.Bytes()} {
		if err := fsutil.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			return "", nil, err
		}
	}
	var plots []string
	fracs := fractions(curves)
	sort.Float64s(fracs)
	for _, frac := range fracs {
		p := filepath.Join(dir, fmt.Sprintf("seeds-accuracy-vs-rounds-labels%g.png", 100*frac))
		if err := Plot(p, fmt.Sprintf("%s, %g%% labels, mean ± 95%% CI over %d seeds", title, 100*frac, len(runs)), filter(curves, frac)); err != nil {
			return "", nil, err
		}
		plots = append(plots, p)
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
// setting, the difference b − a of the test accuracy at the validation-selected epoch, with its CI.
func Compare(a, b map[uint64]RunResult, labelA, labelB string) []PairedRow {
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
		d := MeanCI(diffs)
		out = append(out, PairedRow{Setting: k, Reference: labelB + " − " + labelA, Diff: d, Verdict: d.Verdict()})
	}
	return out
}

// CompareMarkdown renders Compare's rows; the verdict is for the second variant.
func CompareMarkdown(title string, rows []PairedRow, labelB string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n| labels | SNR (dB) | method | n | %s (points) | %s |\n|---:|---:|---|---:|---:|---|\n", title, rows[0].Reference, labelB)
	for _, p := range rows {
		fmt.Fprintf(&b, "| %g%% | %g | %s | %d | %s | %s |\n", 100*p.LabelFraction, p.SNR, p.Method, p.Diff.N, ci(p.Diff, 100, ""), p.Verdict)
	}
	return b.String()
}
