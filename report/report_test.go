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
		{Method: "proposed", LabelFraction: 1, SNR: 0, Rounds: []int64{10, 20, 30}, Accuracy: []float64{0.5, 0.8, 0.85}},
		{Method: "supervised", LabelFraction: 1, SNR: 0, Rounds: []int64{10, 20, 30}, Accuracy: []float64{0.3, 0.6, 0.9}},
		{Method: "barlow", LabelFraction: 1, SNR: 0, Rounds: []int64{10}, Accuracy: []float64{0.2}, Diverged: "finetune barlow diverged: non-finite loss"},
		{Method: "proposed", LabelFraction: 0.5, SNR: 10, Rounds: []int64{5, 10}, Accuracy: []float64{0.4, 0.7}},
	}
}

func TestSummaryRoundsToTarget(t *testing.T) {
	rows := Summarize(curves())
	// Supervised best 0.9 → target 0.81: proposed reaches 0.85 at round 30? No: 0.8 < 0.81 at 20, 0.85 at 30.
	if rows[0].RoundsToTarget != 30 || math.Abs(float64(rows[0].Target)-0.81) > 1e-12 {
		t.Fatalf("proposed: %+v", rows[0])
	}
	if rows[1].RoundsToTarget != 30 || float64(rows[1].Best) != 0.9 {
		t.Fatalf("supervised: %+v", rows[1])
	}
	if rows[2].RoundsToTarget != -1 || rows[2].Diverged == "" {
		t.Fatalf("barlow: %+v", rows[2])
	}
	if !math.IsNaN(float64(rows[3].Target)) {
		t.Fatalf("no supervised baseline at 50%%/10 dB, yet target %v", rows[3].Target)
	}
	md := Markdown("demo", rows)
	for _, want := range []string{"| 100% | 0 | proposed | 85.0% | 85.0% | 30 |", "| 100% | 0 | barlow | 20.0% | 20.0% | diverged |", "Diverged runs"} {
		if !strings.Contains(md, want) {
			t.Fatalf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	_, plots, err := Write(dir, "demo", curves())
	if err != nil {
		t.Fatal(err)
	}
	if len(plots) != 2 {
		t.Fatalf("plots %v, want one per label fraction", plots)
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
	if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 200 {
		t.Fatalf("plot is %v", b)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back struct{ Summary []map[string]any }
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Summary[3]["target_accuracy"] != nil {
		t.Fatalf("NaN target should be null: %v", back.Summary[3])
	}
}
