// Package report turns finished runs into what people look at: the paper's Figs. 4–5 (test accuracy against
// communication rounds, one line per method, one panel per SNR) as PNG and PDF, and a summary table in
// Markdown and JSON (final and best accuracy, the rounds each method needs to reach 90% of the supervised
// baseline's best accuracy, accuracy at fixed round budgets); over seeds, mean ± 95% CI, the censored
// distribution of rounds to the target, and paired differences with the seeds a target half-width needs.
package report

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/semcom/semcom/internal/fsutil"
)

// Curve is one fine-tuning job's accuracy at its own SNR after each evaluated epoch: on the test split (the
// reported figure of merit) and on the validation split (what every selection reads).
type Curve struct {
	Method        string    `json:"method"`
	LabelFraction float64   `json:"label_fraction"`
	SNR           float64   `json:"snr_db"`
	Epochs        []int     `json:"epochs"`
	Rounds        []int64   `json:"rounds"`
	Accuracy      []float64 `json:"accuracy"`               // test, mean over noise draws
	AccuracyStd   []float64 `json:"accuracy_std,omitempty"` // test, standard deviation over noise draws
	ValAccuracy   []float64 `json:"val_accuracy,omitempty"` // validation; empty without a validation split
	UplinkBytes   int64     `json:"uplink_bytes"`
	Diverged      string    `json:"diverged,omitempty"`
	// Labels is how many labelled samples the job used: a fraction is rounded per class, with at least one
	// label per class, so 0.1% of 800 samples in 10 classes uses 10.
	Labels int `json:"labels_used,omitempty"`
	// PretrainRounds and PretrainUplinkBytes are the cross-modal pre-training exchange included in Rounds
	// and UplinkBytes (zero unless communication.count_pretrain_exchange is on).
	PretrainRounds      int64 `json:"pretrain_rounds,omitempty"`
	PretrainUplinkBytes int64 `json:"pretrain_uplink_bytes,omitempty"`
	// Band is a confidence half-width per point (curves averaged over seeds), drawn shaded around the line.
	Band []float64 `json:"ci95_band,omitempty"`
}

// Final is the last test accuracy (NaN when none).
func (c Curve) Final() float64 { return last(c.Accuracy) }

func last(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return v[len(v)-1]
}

// Selected is the index of the epoch with the highest validation accuracy (the earliest of ties); -1
// without a validation curve. The test curve is never read.
func (c Curve) Selected() int {
	best := -1
	for i, a := range c.ValAccuracy {
		if best < 0 || a > c.ValAccuracy[best] {
			best = i
		}
	}
	return best
}

// BestVal is the highest validation accuracy (NaN without one).
func (c Curve) BestVal() float64 {
	if i := c.Selected(); i >= 0 {
		return c.ValAccuracy[i]
	}
	return math.NaN()
}

// RoundsTo is the number of rounds after which validation accuracy first reaches target (-1 if never).
func (c Curve) RoundsTo(target float64) int64 {
	for i, a := range c.ValAccuracy {
		if a >= target {
			return c.Rounds[i]
		}
	}
	return -1
}

// Summary row for one method at one SNR and label fraction. Selections read the validation split only; the
// test split is reported at the selected epoch and at the last.
type Summary struct {
	Method        string  `json:"method"`
	LabelFraction float64 `json:"label_fraction"`
	SNR           float64 `json:"snr_db"`
	Final         Num     `json:"final_test_accuracy"`
	FinalStd      Num     `json:"final_test_accuracy_noise_std"`
	// Selected is the test accuracy at SelectedEpoch, the epoch of the best validation accuracy ValBest.
	Selected      Num `json:"selected_test_accuracy"`
	SelectedEpoch int `json:"selected_epoch"`
	ValBest       Num `json:"best_val_accuracy"`
	// Target is 90% of the supervised baseline's best validation accuracy in the same setting (NaN without a
	// baseline or validation split); RoundsToTarget the rounds this method needed to reach it on validation
	// (-1: never).
	Target         Num   `json:"target_val_accuracy"`
	RoundsToTarget int64 `json:"rounds_to_target"`
	// RoundsBudget is the run's last evaluated round: a run that never reached the target is censored there
	// (its rounds-to-target is > RoundsBudget).
	RoundsBudget int64 `json:"rounds_budget"`
	// AtRounds is the test accuracy at the fixed round budgets DefaultRoundBudgets (Curve.AccuracyAt).
	AtRounds       []AtRounds `json:"test_accuracy_at_rounds"`
	Diverged       string     `json:"diverged,omitempty"`
	Labels         int        `json:"labels_used,omitempty"`
	PretrainRounds int64      `json:"pretrain_rounds_counted,omitempty"`
}

// Summarize computes the summary rows.
func Summarize(curves []Curve) []Summary {
	target := map[string]float64{}
	for _, c := range curves {
		if c.Method == "supervised" && c.Diverged == "" && !math.IsNaN(c.BestVal()) {
			target[key(c)] = 0.9 * c.BestVal()
		}
	}
	var out []Summary
	for _, c := range curves {
		t, ok := target[key(c)]
		if !ok {
			t = math.NaN()
		}
		s := Summary{Method: c.Method, LabelFraction: c.LabelFraction, SNR: c.SNR, Final: Num(c.Final()), FinalStd: Num(last(c.AccuracyStd)),
			Selected: Num(math.NaN()), ValBest: Num(c.BestVal()), Target: Num(t), RoundsToTarget: -1, Diverged: c.Diverged, Labels: c.Labels,
			PretrainRounds: c.PretrainRounds}
		if len(c.Rounds) > 0 {
			s.RoundsBudget = c.Rounds[len(c.Rounds)-1]
		}
		for _, b := range DefaultRoundBudgets {
			s.AtRounds = append(s.AtRounds, AtRounds{Rounds: b, Accuracy: Num(c.AccuracyAt(b))})
		}
		if i := c.Selected(); i >= 0 && i < len(c.Accuracy) {
			s.Selected, s.SelectedEpoch = Num(c.Accuracy[i]), c.Epochs[i]
		}
		if ok {
			s.RoundsToTarget = c.RoundsTo(t)
		}
		out = append(out, s)
	}
	return out
}

func key(c Curve) string { return fmt.Sprintf("%g/%g", c.LabelFraction, c.SNR) }

func pct(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

// Markdown renders the summary table.
func Markdown(title string, rows []Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", title)
	b.WriteString("| labels | SNR (dB) | method | test acc, last epoch | test acc at val-selected epoch | val acc (best) | rounds to 90% of supervised best val | test acc at " +
		budgetsHeader(DefaultRoundBudgets) + " rounds |\n")
	b.WriteString("|---:|---:|---|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		rt := "never"
		switch {
		case r.Diverged != "":
			rt = "diverged"
		case math.IsNaN(float64(r.Target)):
			rt = "—"
		case r.RoundsToTarget >= 0:
			rt = fmt.Sprint(r.RoundsToTarget)
		default:
			rt = fmt.Sprintf("never (>%d)", r.RoundsBudget)
		}
		var at []string
		for _, a := range r.AtRounds {
			at = append(at, pct(float64(a.Accuracy)))
		}
		final := pct(float64(r.Final))
		if sd := float64(r.FinalStd); !math.IsNaN(sd) && sd > 0 {
			final += fmt.Sprintf(" ± %.1f", 100*sd)
		}
		sel := pct(float64(r.Selected))
		if r.SelectedEpoch > 0 {
			sel += fmt.Sprintf(" (ep %d)", r.SelectedEpoch)
		}
		fmt.Fprintf(&b, "| %g%% | %g | %s | %s | %s | %s | %s | %s |\n", 100*r.LabelFraction, r.SNR, r.Method, final, sel, pct(float64(r.ValBest)), rt,
			strings.Join(at, " / "))
	}
	b.WriteString("\nSelections (epoch, target, rounds) read the validation split only; the test split is only reported. " +
		"± is the standard deviation over the evaluation's channel-noise draws. \"never (>N)\": the target was not reached within the run's N rounds. " +
		"Accuracy at a round budget is the last evaluation at or before it (nothing interpolated; — when the run is shorter).\n")
	counted := false
	for _, r := range rows {
		counted = counted || r.PretrainRounds > 0
	}
	if counted {
		b.WriteString("Rounds include the feature exchange of cross-modal pre-training (communication.count_pretrain_exchange).\n")
	} else {
		b.WriteString("Rounds count fine-tuning mini-batches only; cross-modal pre-training's feature exchange is not counted (communication.count_pretrain_exchange: false).\n")
	}
	var notes, labels []string
	for _, r := range rows {
		if r.Diverged != "" {
			notes = append(notes, "- "+r.Diverged)
		}
		if r.Labels > 0 {
			labels = append(labels, fmt.Sprintf("%g%%: %d", 100*r.LabelFraction, r.Labels))
		}
	}
	if len(labels) > 0 {
		b.WriteString("\nLabelled samples used (rounded per class, at least one per class): " + strings.Join(unique(labels), ", ") + ".\n")
	}
	if len(notes) > 0 {
		b.WriteString("\nDiverged runs (metrics up to the divergence are kept):\n\n" + strings.Join(unique(notes), "\n") + "\n")
	}
	return b.String()
}

// budgetsHeader is "50 / 100 / 200".
func budgetsHeader(budgets []int64) string {
	var s []string
	for _, b := range budgets {
		s = append(s, fmt.Sprint(b))
	}
	return strings.Join(s, " / ")
}

func unique(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// Write saves summary.md, summary.json and one accuracy-vs-rounds figure per label fraction (PNG and PDF)
// into dir, and returns the Markdown and the figures' paths.
func Write(dir, title string, curves []Curve, probes []Probe) (string, []string, error) {
	rows := Summarize(curves)
	md := Markdown(title, rows) + ProbeMarkdown(probes)
	if err := fsutil.WriteFile(filepath.Join(dir, "summary.md"), []byte(md), 0o644); err != nil {
		return "", nil, err
	}
	js, err := json.MarshalIndent(struct {
		Summary []Summary `json:"summary"`
		Curves  []Curve   `json:"curves"`
		Probes  []Probe   `json:"probes,omitempty"`
	}{rows, curves, probes}, "", "  ")
	if err != nil {
		return "", nil, err
	}
	if err := fsutil.WriteFile(filepath.Join(dir, "summary.json"), js, 0o644); err != nil {
		return "", nil, err
	}
	var plots []string
	for _, frac := range fractions(curves) {
		p := filepath.Join(dir, fmt.Sprintf("accuracy-vs-rounds-labels%g.png", 100*frac))
		files, err := Plot(p, fmt.Sprintf("%s, %g%% labels", title, 100*frac), filter(curves, frac))
		if err != nil {
			return "", nil, err
		}
		plots = append(plots, files...)
	}
	return md, plots, nil
}

// Num is a float that encodes NaN as JSON null (encoding/json refuses NaN).
type Num float64

// MarshalJSON writes null for NaN.
func (n Num) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(n)) || math.IsInf(float64(n), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(n))
}

func fractions(curves []Curve) []float64 {
	seen := map[float64]bool{}
	var out []float64
	for _, c := range curves {
		if !seen[c.LabelFraction] {
			seen[c.LabelFraction] = true
			out = append(out, c.LabelFraction)
		}
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(out)))
	return out
}

func filter(curves []Curve, frac float64) []Curve {
	var out []Curve
	for _, c := range curves {
		if c.LabelFraction == frac {
			out = append(out, c)
		}
	}
	return out
}

// Probe is one frozen-representation probe after Stage I: the accuracy of a linear (ridge) and a kNN probe
// reading a feature set to predict a target (the class, or one generating factor), on the test split.
type Probe struct {
	Method   string  `json:"method"`   // the pre-training method, or "random-init"
	Features string  `json:"features"` // "rgb", "depth", "rgb+depth", "rgb.shared", "unique (all)", …
	Target   string  `json:"target"`   // "class", "shared", "rgb_only", "depth_only"
	Linear   float64 `json:"linear"`
	KNN      float64 `json:"knn"`
	Spread   float64 `json:"spread"` // collapse monitor: std of the l2-normalised features (0 = collapsed)
}

// ProbeMarkdown renders the probes as one table: a row per method and feature set, linear / kNN accuracy
// per target.
func ProbeMarkdown(probes []Probe) string {
	if len(probes) == 0 {
		return ""
	}
	var targets []string
	type rowKey struct{ method, features string }
	var rows []rowKey
	cells := map[rowKey]map[string]Probe{}
	for _, p := range probes {
		if !slices.Contains(targets, p.Target) {
			targets = append(targets, p.Target)
		}
		k := rowKey{p.Method, p.Features}
		if cells[k] == nil {
			cells[k] = map[string]Probe{}
			rows = append(rows, k)
		}
		cells[k][p.Target] = p
	}
	var b strings.Builder
	b.WriteString("\n## Representation probes after Stage I (test split; linear / kNN accuracy)\n\n| method | features |")
	for _, t := range targets {
		fmt.Fprintf(&b, " %s |", t)
	}
	b.WriteString(" spread |\n|---|---|" + strings.Repeat("---:|", len(targets)+1) + "\n")
	for _, k := range rows {
		fmt.Fprintf(&b, "| %s | %s |", k.method, k.features)
		spread := 0.0
		for _, t := range targets {
			p, ok := cells[k][t]
			if !ok {
				b.WriteString(" — |")
				continue
			}
			spread = p.Spread
			fmt.Fprintf(&b, " %.1f / %.1f |", 100*p.Linear, 100*p.KNN)
		}
		fmt.Fprintf(&b, " %.3f |\n", spread)
	}
	b.WriteString("\nLinear: ridge regression to one-hot targets on standardised features; kNN: cosine, majority of k. " +
		"Fitted on the training split, scored on the test split, settings fixed (nothing selected). Spread: the collapse " +
		"monitor, std of the l2-normalised features per dimension (0 = collapsed, ≈ 1/√d when spread evenly).\n")
	return b.String()
}
