// Package report turns finished runs into what people look at: the paper's Figs. 4–5 (test accuracy against
// communication rounds, one line per method, one panel per SNR) as PNG, and a summary table in Markdown and
// JSON (final and best accuracy, and the rounds each method needs to reach 90% of the supervised baseline's
// best accuracy).
package report

import (
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/semcom/semcom/internal/fsutil"
)

// Curve is one fine-tuning job's test accuracy (at its own SNR) after each evaluated epoch.
type Curve struct {
	Method        string    `json:"method"`
	LabelFraction float64   `json:"label_fraction"`
	SNR           float64   `json:"snr_db"`
	Epochs        []int     `json:"epochs"`
	Rounds        []int64   `json:"rounds"`
	Accuracy      []float64 `json:"accuracy"`
	UplinkBytes   int64     `json:"uplink_bytes"`
	Diverged      string    `json:"diverged,omitempty"`
	// Labels is how many labelled samples the job used: a fraction is rounded per class, with at least one
	// label per class, so 0.1% of 800 samples in 10 classes uses 10.
	Labels int `json:"labels_used,omitempty"`
}

// Final is the last accuracy (NaN when none).
func (c Curve) Final() float64 {
	if len(c.Accuracy) == 0 {
		return math.NaN()
	}
	return c.Accuracy[len(c.Accuracy)-1]
}

// Best is the highest accuracy (NaN when none).
func (c Curve) Best() float64 {
	b := math.NaN()
	for _, a := range c.Accuracy {
		if math.IsNaN(b) || a > b {
			b = a
		}
	}
	return b
}

// RoundsTo is the number of rounds after which accuracy first reaches target (-1 if never).
func (c Curve) RoundsTo(target float64) int64 {
	for i, a := range c.Accuracy {
		if a >= target {
			return c.Rounds[i]
		}
	}
	return -1
}

// Summary row for one method at one SNR and label fraction.
type Summary struct {
	Method        string  `json:"method"`
	LabelFraction float64 `json:"label_fraction"`
	SNR           float64 `json:"snr_db"`
	Final         Num     `json:"final_accuracy"`
	Best          Num     `json:"best_accuracy"`
	// Target is 90% of the supervised baseline's best accuracy in the same setting (NaN without a baseline);
	// RoundsToTarget the rounds this method needed to reach it (-1: never).
	Target         Num    `json:"target_accuracy"`
	RoundsToTarget int64  `json:"rounds_to_target"`
	Diverged       string `json:"diverged,omitempty"`
	Labels         int    `json:"labels_used,omitempty"`
}

// Summarize computes the summary rows.
func Summarize(curves []Curve) []Summary {
	target := map[string]float64{}
	for _, c := range curves {
		if c.Method == "supervised" && c.Diverged == "" {
			target[key(c)] = 0.9 * c.Best()
		}
	}
	var out []Summary
	for _, c := range curves {
		t, ok := target[key(c)]
		if !ok {
			t = math.NaN()
		}
		s := Summary{Method: c.Method, LabelFraction: c.LabelFraction, SNR: c.SNR, Final: Num(c.Final()), Best: Num(c.Best()),
			Target: Num(t), RoundsToTarget: -1, Diverged: c.Diverged, Labels: c.Labels}
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
	b.WriteString("| labels | SNR (dB) | method | final acc | best acc | rounds to 90% of supervised best |\n")
	b.WriteString("|---:|---:|---|---:|---:|---:|\n")
	for _, r := range rows {
		rt := "never"
		switch {
		case r.Diverged != "":
			rt = "diverged"
		case math.IsNaN(float64(r.Target)):
			rt = "—"
		case r.RoundsToTarget >= 0:
			rt = fmt.Sprint(r.RoundsToTarget)
		}
		fmt.Fprintf(&b, "| %g%% | %g | %s | %s | %s | %s |\n", 100*r.LabelFraction, r.SNR, r.Method, pct(float64(r.Final)), pct(float64(r.Best)), rt)
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

// Write saves summary.md, summary.json and one accuracy-vs-rounds PNG per label fraction into dir, and
// returns the Markdown.
func Write(dir, title string, curves []Curve) (string, []string, error) {
	rows := Summarize(curves)
	md := Markdown(title, rows)
	if err := fsutil.WriteFile(filepath.Join(dir, "summary.md"), []byte(md), 0o644); err != nil {
		return "", nil, err
	}
	js, err := json.MarshalIndent(struct {
		Summary []Summary `json:"summary"`
		Curves  []Curve   `json:"curves"`
	}{rows, curves}, "", "  ")
	if err != nil {
		return "", nil, err
	}
	if err := fsutil.WriteFile(filepath.Join(dir, "summary.json"), js, 0o644); err != nil {
		return "", nil, err
	}
	var plots []string
	for _, frac := range fractions(curves) {
		p := filepath.Join(dir, fmt.Sprintf("accuracy-vs-rounds-labels%g.png", 100*frac))
		if err := Plot(p, fmt.Sprintf("%s, %g%% labels", title, 100*frac), filter(curves, frac)); err != nil {
			return "", nil, err
		}
		plots = append(plots, p)
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

var palette = []color.Color{
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // proposed: red
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
}

// Plot draws one panel per SNR (test accuracy against communication rounds, a line per method).
func Plot(path, title string, curves []Curve) error {
	var snrs []float64
	seen := map[float64]bool{}
	var methods []string
	seenM := map[string]bool{}
	for _, c := range curves {
		if !seen[c.SNR] {
			seen[c.SNR] = true
			snrs = append(snrs, c.SNR)
		}
		if !seenM[c.Method] {
			seenM[c.Method] = true
			methods = append(methods, c.Method)
		}
	}
	sort.Float64s(snrs)
	row := make([]*plot.Plot, len(snrs))
	for i, snr := range snrs {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("SNR %g dB", snr)
		p.X.Label.Text = "communication rounds"
		p.Y.Label.Text = "test accuracy"
		p.Y.Min, p.Y.Max = 0, 1
		p.Add(plotter.NewGrid())
		p.Legend.Top = false
		p.Legend.Left = false
		for mi, m := range methods {
			for _, c := range curves {
				if c.SNR != snr || c.Method != m || len(c.Rounds) == 0 {
					continue
				}
				pts := make(plotter.XYs, len(c.Rounds))
				for k := range c.Rounds {
					pts[k].X, pts[k].Y = float64(c.Rounds[k]), c.Accuracy[k]
				}
				l, err := plotter.NewLine(pts)
				if err != nil {
					return err
				}
				l.Color = palette[mi%len(palette)]
				l.Width = vg.Points(1.6)
				if m == "supervised" {
					l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
				}
				p.Add(l)
				label := m
				if c.Diverged != "" {
					label += " (diverged)"
				}
				p.Legend.Add(label, l)
			}
		}
		row[i] = p
	}
	if len(row) == 0 {
		return fmt.Errorf("report: no curves to plot for %s", path)
	}
	const panelW, h = 4.2, 3.6
	img := vgimg.New(vg.Length(panelW*float64(len(row)))*vg.Inch, h*vg.Inch+0.4*vg.Inch)
	dc := draw.New(img)
	dc.FillPolygon(color.White, []vg.Point{dc.Min, {X: dc.Max.X, Y: dc.Min.Y}, dc.Max, {X: dc.Min.X, Y: dc.Max.Y}}) // opaque background
	top, body := splitTitle(dc)
	fnt := plot.DefaultFont
	fnt.Size = vg.Points(13)
	top.FillText(draw.TextStyle{Color: color.Black, Font: fnt, Handler: plot.DefaultTextHandler,
		XAlign: draw.XCenter}, vg.Point{X: top.Center().X, Y: top.Min.Y + 0.12*vg.Inch}, title)
	tiles := draw.Tiles{Rows: 1, Cols: len(row), PadX: vg.Points(6), PadTop: vg.Points(4), PadBottom: vg.Points(4),
		PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	canvases := plot.Align([][]*plot.Plot{row}, tiles, body)
	for i, p := range row {
		p.Draw(canvases[0][i])
	}
	return fsutil.WriteWith(path, 0o644, func(w io.Writer) error {
		_, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w)
		return err
	})
}

func splitTitle(dc draw.Canvas) (draw.Canvas, draw.Canvas) {
	titleH := 0.4 * vg.Inch
	top := dc
	top.Min.Y = dc.Max.Y - titleH
	body := dc
	body.Max.Y = dc.Max.Y - titleH
	return top, body
}
