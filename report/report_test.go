package report

import (
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func curves() []Curve {
	return []Curve{
		// The test curve peaks at epoch 2, the validation curve at epoch 3: the selection must follow validation.
		{Method: "proposed", LabelFraction: 1, SNR: 0, Epochs: []int{1, 2, 3}, Rounds: []int64{10, 20, 30},
			Accuracy: []float64{0.5, 0.95, 0.85}, AccuracyStd: []float64{0.01, 0.01, 0.02}, ValAccuracy: []float64{0.5, 0.8, 0.85}},
		{Method: "supervised", LabelFraction: 1, SNR: 0, Epochs: []int{1, 2, 3}, Rounds: []int64{10, 20, 30},
			Accuracy: []float64{0.3, 0.6, 0.99}, ValAccuracy: []float64{0.3, 0.6, 0.9}},
		{Method: "barlow", LabelFraction: 1, SNR: 0, Epochs: []int{1}, Rounds: []int64{10}, Accuracy: []float64{0.2}, ValAccuracy: []float64{0.2},
			Diverged: "finetune barlow diverged: non-finite loss"},
		{Method: "proposed", LabelFraction: 0.5, SNR: 10, Epochs: []int{1, 2}, Rounds: []int64{5, 10}, Accuracy: []float64{0.4, 0.7}},
	}
}

func TestSummarySelectsOnValidation(t *testing.T) {
	rows := Summarize(curves())
	// Supervised best validation 0.9 → target 0.81: proposed's validation reaches 0.85 at round 30 (0.8 < 0.81 at 20).
	if rows[0].RoundsToTarget != 30 || math.Abs(float64(rows[0].Target)-0.81) > 1e-12 {
		t.Fatalf("proposed: %+v", rows[0])
	}
	// Selected at the best validation epoch (3), not at the best test epoch (2): 0.85, not 0.95.
	if rows[0].SelectedEpoch != 3 || rows[0].Selected != 0.85 || rows[0].Final != 0.85 || rows[0].FinalStd != 0.02 {
		t.Fatalf("proposed selection: %+v", rows[0])
	}
	if rows[1].RoundsToTarget != 30 || float64(rows[1].ValBest) != 0.9 {
		t.Fatalf("supervised: %+v", rows[1])
	}
	if rows[2].RoundsToTarget != -1 || rows[2].Diverged == "" {
		t.Fatalf("barlow: %+v", rows[2])
	}
	// Without a validation curve nothing is selected and no target exists.
	if !math.IsNaN(float64(rows[3].Target)) || rows[3].SelectedEpoch != 0 || !math.IsNaN(float64(rows[3].Selected)) {
		t.Fatalf("no validation at 50%%/10 dB: %+v", rows[3])
	}
	md := Markdown("demo", rows)
	for _, want := range []string{"| 100% | 0 | proposed | 85.0% ± 2.0 | 85.0% (ep 3) | 85.0% | 30 |", "| 100% | 0 | barlow | 20.0% | 20.0% (ep 1) | 20.0% | diverged |",
		"Diverged runs", "read the validation split only", "fine-tuning mini-batches only"} {
		if !strings.Contains(md, want) {
			t.Fatalf("markdown lacks %q:\n%s", want, md)
		}
	}
	probes := ProbeMarkdown([]Probe{{Method: "proposed", Features: "rgb", Target: "class", Linear: 0.5, KNN: 0.25, Spread: 0.1},
		{Method: "proposed", Features: "rgb", Target: "shared", Linear: 1, KNN: 0.75, Spread: 0.1}})
	if !strings.Contains(probes, "| proposed | rgb | 50.0 / 25.0 | 100.0 / 75.0 | 0.100 |") {
		t.Fatalf("probe table:\n%s", probes)
	}
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	_, plots, err := Write(dir, "demo", curves(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plots) != 4 || !strings.HasSuffix(plots[0], ".png") || plots[1] != strings.TrimSuffix(plots[0], ".png")+".pdf" {
		t.Fatalf("plots %v, want a PNG and a PDF per label fraction", plots)
	}
	pdf, err := os.ReadFile(plots[1])
	if err != nil || !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Fatalf("%s is not a PDF (%v)", plots[1], err)
	}
	f, err := os.Open(plots[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// One SNR panel plus the legend column, at DPI: (3.6 + 1.45) × (3.0 + 0.4) inches.
	if b := img.Bounds(); b.Dx() != int(math.Round((panelW+legendW)*DPI)) || b.Dy() != int(math.Round((panelH+titleH)*DPI)) {
		t.Fatalf("plot is %v, want %g×%g inches at %d dpi", b, panelW+legendW, panelH+titleH, DPI)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back struct{ Summary []map[string]any }
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Summary[3]["target_val_accuracy"] != nil {
		t.Fatalf("NaN target should be null: %v", back.Summary[3])
	}
	// Proposed at 100%/0 dB ends at 30 rounds: its budget; accuracy at 50 rounds and beyond is unknown (null).
	if back.Summary[0]["rounds_budget"] != 30.0 {
		t.Fatalf("rounds_budget: %v", back.Summary[0])
	}
	at := back.Summary[0]["test_accuracy_at_rounds"].([]any)
	if len(at) != 3 || at[0].(map[string]any)["rounds"] != 50.0 || at[0].(map[string]any)["test_accuracy"] != nil {
		t.Fatalf("test_accuracy_at_rounds: %v", at)
	}
}
