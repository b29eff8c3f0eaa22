package report

import (
	"fmt"
	"hash/fnv"
	"image/color"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"

	"github.com/semcom/semcom/internal/fsutil"
)

// DPI is the resolution of the PNG figures (print quality; the PDF is vector).
const DPI = 200

// Style is how one method is drawn, the same in every figure whatever the order of the methods.
type Style struct {
	Color  color.NRGBA
	Dashes []vg.Length // nil: solid
}

func dashes(pts ...float64) []vg.Length {
	var d []vg.Length
	for _, p := range pts {
		d = append(d, vg.Points(p))
	}
	return d
}

// methodStyles fixes the protocol's methods (config.Methods) and the probes' random-init baseline; colours
// from a colour-blind-safe palette (Okabe and Ito), and a distinct dash pattern each so the figures also read
// in grey.
var methodStyles = map[string]Style{
	"proposed":    {color.NRGBA{0xd5, 0x5e, 0x00, 0xff}, nil},                  // vermillion, solid
	"simclr":      {color.NRGBA{0x00, 0x72, 0xb2, 0xff}, dashes(7, 2, 1.5, 2)}, // blue, dash-dot
	"barlow":      {color.NRGBA{0x00, 0x9e, 0x73, 0xff}, dashes(2, 2)},         // bluish green, dotted
	"supervised":  {color.NRGBA{0x33, 0x33, 0x33, 0xff}, dashes(6, 3)},         // near black, dashed
	"random-init": {color.NRGBA{0xcc, 0x79, 0xa7, 0xff}, dashes(10, 3)},        // reddish purple, long dash
}

// Other methods get a style from a hash of their name (so still independent of order); two unknown names
// may share one.
var (
	fallbackColors = []color.NRGBA{{0xe6, 0x9f, 0x00, 0xff}, {0x56, 0xb4, 0xe9, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0x7b, 0x3f, 0x9e, 0xff}}
	fallbackDashes = [][]vg.Length{nil, dashes(4, 2), dashes(8, 2, 2, 2, 2, 2), dashes(1, 3)}
)

// StyleOf is method's style.
func StyleOf(method string) Style {
	if s, ok := methodStyles[method]; ok {
		return s
	}
	h := fnv.New32a()
	h.Write([]byte(method))
	v := h.Sum32()
	return Style{fallbackColors[v%uint32(len(fallbackColors))], fallbackDashes[(v/uint32(len(fallbackColors)))%uint32(len(fallbackDashes))]}
}

func withAlpha(c color.NRGBA, a uint8) color.NRGBA { c.A = a; return c }

// Alphas of a CI band: a light fill, so overlapping bands stay readable, and a dashed edge in the method's
// colour marking where each band ends.
const (
	bandFillAlpha = 38
	bandEdgeAlpha = 170
)

// yRange chooses y-limits and a tick step from the data's lo..hi (accuracies in [0, 1]): the smallest step of
// 0.01, 0.02, 0.05, 0.1, 0.2 or 0.25 that gives at most 8 intervals, the limits at the multiples of the
// step that enclose the data with a margin of 2% of the span (at least 0.01), clamped to [0, 1].
func yRange(lo, hi float64) (min, max, step float64) {
	if math.IsNaN(lo) || math.IsNaN(hi) || lo > hi {
		return 0, 1, 0.2
	}
	pad := math.Max(0.01, 0.02*(hi-lo))
	lo, hi = math.Max(0, lo-pad), math.Min(1, hi+pad)
	for _, step = range []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.25} {
		min, max = math.Floor(lo/step+1e-9)*step, math.Ceil(hi/step-1e-9)*step
		if (max-min)/step <= 8+1e-9 {
			break
		}
	}
	return math.Max(0, min), math.Min(1, max), step
}

// stepTicks labels multiples of step (minor ticks halfway).
type stepTicks struct{ step float64 }

func (t stepTicks) Ticks(min, max float64) []plot.Tick {
	digits := 1
	if t.step < 0.1 {
		digits = 2
	}
	var out []plot.Tick
	for k := math.Ceil(min/t.step - 1e-9); k*t.step <= max+1e-9; k++ {
		v := k * t.step
		if v == 0 {
			v = 0 // not −0 (k is −0 when min is just below zero), which would print "-0.0"
		}
		out = append(out, plot.Tick{Value: v, Label: fmt.Sprintf("%.*f", digits, v)})
		if half := v + t.step/2; half <= max+1e-9 {
			out = append(out, plot.Tick{Value: half})
		}
	}
	return out
}

// roundTicks labels round counts as integers at a step of 1, 2, 2.5 or 5 × 10^k giving at most 6 intervals
// (minor ticks halfway).
type roundTicks struct{}

func (roundTicks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) {
		return []plot.Tick{{Value: min, Label: fmt.Sprintf("%.0f", min)}}
	}
	mag := math.Pow(10, math.Floor(math.Log10((max-min)/6)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 2.5, 5} {
		if (max-min)/(m*mag) <= 6 {
			step = m * mag
			break
		}
	}
	step = math.Max(1, step)
	var out []plot.Tick
	for v := math.Ceil(min/step) * step; v <= max+1e-9; v += step {
		out = append(out, plot.Tick{Value: v, Label: fmt.Sprintf("%.0f", v)})
		if half := v + step/2; half <= max+1e-9 && step >= 2 {
			out = append(out, plot.Tick{Value: half})
		}
	}
	return out
}

// figure is a drawn-to-be figure: one panel per SNR, a legend for the figure, and the line of each method
// (kept for tests: the style a method got).
type figure struct {
	title  string
	panels []*plot.Plot
	legend plot.Legend
	lines  map[string]*plotter.Line
}

// newFigure lays curves out as panels (one per SNR, ascending) sharing one y-range from the data.
func newFigure(title string, curves []Curve) (*figure, error) {
	var snrs []float64
	var methods []string
	lo, hi := math.Inf(1), math.Inf(-1)
	maxRounds := 0.0
	for _, c := range curves {
		if !slices.Contains(snrs, c.SNR) {
			snrs = append(snrs, c.SNR)
		}
		if !slices.Contains(methods, c.Method) {
			methods = append(methods, c.Method)
		}
		for k, a := range c.Accuracy {
			if math.IsNaN(a) || k >= len(c.Rounds) {
				continue
			}
			b := 0.0
			if k < len(c.Band) && !math.IsNaN(c.Band[k]) {
				b = c.Band[k]
			}
			lo, hi = math.Min(lo, a-b), math.Max(hi, a+b)
			maxRounds = math.Max(maxRounds, float64(c.Rounds[k]))
		}
	}
	if len(snrs) == 0 {
		return nil, fmt.Errorf("report: no curves to plot for %q", title)
	}
	sort.Float64s(snrs)
	// The legend lists methods in the protocol's order (known methods first), not in the order met.
	sort.SliceStable(methods, func(i, j int) bool { return methodRank(methods[i]) < methodRank(methods[j]) })
	if math.IsInf(lo, 1) {
		lo, hi = math.NaN(), math.NaN()
	}
	yMin, yMax, step := yRange(math.Max(0, lo), math.Min(1, hi))
	f := &figure{title: title, legend: plot.NewLegend(), lines: map[string]*plotter.Line{}}
	f.legend.Left, f.legend.Top = true, true
	f.legend.Padding = vg.Points(3)
	f.legend.ThumbnailWidth = vg.Points(28)
	inLegend := map[string]bool{}
	for _, snr := range snrs {
		p := plot.New()
		p.X.Label.Text = "communication rounds"
		p.Y.Label.Text = "test accuracy"
		p.Y.Min, p.Y.Max = yMin, yMax
		p.Y.Tick.Marker = stepTicks{step}
		p.X.Min = 0
		p.X.Tick.Marker = roundTicks{}
		if maxRounds > 0 {
			p.X.Max = maxRounds
		}
		grid := plotter.NewGrid()
		grid.Horizontal.Color, grid.Vertical.Color = color.Gray{0xdd}, color.Gray{0xdd}
		p.Add(grid)
		var diverged []string
		// Bands first, all of them, then the lines on top: no band hides a line.
		var lines []plot.Plotter
		for _, m := range methods {
			st := StyleOf(m)
			for _, c := range curves {
				if c.SNR != snr || c.Method != m || len(c.Rounds) == 0 {
					continue
				}
				if c.Diverged != "" {
					diverged = append(diverged, m)
				}
				n := min(len(c.Rounds), len(c.Accuracy))
				pts := make(plotter.XYs, n)
				for k := range n {
					pts[k].X, pts[k].Y = float64(c.Rounds[k]), c.Accuracy[k]
				}
				var thumbs []plot.Thumbnailer
				if upper, lower := bandEdges(c); upper != nil {
					poly, err := plotter.NewPolygon(append(append(plotter.XYs{}, upper...), reversed(lower)...))
					if err != nil {
						return nil, err
					}
					poly.Color = withAlpha(st.Color, bandFillAlpha)
					poly.LineStyle.Width = 0
					p.Add(poly)
					for _, edge := range []plotter.XYs{upper, lower} {
						e, err := plotter.NewLine(edge)
						if err != nil {
							return nil, err
						}
						e.Color, e.Width, e.Dashes = withAlpha(st.Color, bandEdgeAlpha), vg.Points(0.7), dashes(2.5, 2)
						p.Add(e)
					}
					thumbs = append(thumbs, poly)
				}
				l, err := plotter.NewLine(pts)
				if err != nil {
					return nil, err
				}
				l.Color, l.Width, l.Dashes = st.Color, vg.Points(1.8), st.Dashes
				lines = append(lines, l)
				f.lines[m] = l
				if !inLegend[m] {
					inLegend[m] = true
					f.legend.Add(m, append(thumbs, l)...)
				}
			}
		}
		p.Add(lines...)
		p.Title.Text = fmt.Sprintf("SNR %g dB", snr)
		if len(diverged) > 0 {
			p.Title.Text += " (diverged: " + strings.Join(diverged, ", ") + ")"
		}
		f.panels = append(f.panels, p)
	}
	return f, nil
}

func methodRank(m string) int {
	for i, k := range []string{"proposed", "simclr", "barlow", "supervised", "random-init"} {
		if k == m {
			return i
		}
	}
	return 100
}

// Figure geometry (inches): a panel per SNR, a legend column to the right of the data, a title row.
const (
	panelW, panelH = 3.6, 3.0
	legendW        = 1.45
	titleH         = 0.4
)

// draw renders the figure on a canvas of its size.
func (f *figure) draw(c vg.CanvasSizer) {
	dc := draw.New(c)
	dc.FillPolygon(color.White, []vg.Point{dc.Min, {X: dc.Max.X, Y: dc.Min.Y}, dc.Max, {X: dc.Min.X, Y: dc.Max.Y}}) // opaque background
	top, body := dc, dc
	top.Min.Y = dc.Max.Y - titleH*vg.Inch
	body.Max.Y = top.Min.Y
	fnt := plot.DefaultFont
	fnt.Size = vg.Points(12)
	top.FillText(draw.TextStyle{Color: color.Black, Font: fnt, Handler: plot.DefaultTextHandler, XAlign: draw.XCenter},
		vg.Point{X: top.Center().X, Y: top.Min.Y + 0.12*vg.Inch}, f.title)
	panels, legend := body, body
	panels.Max.X = body.Max.X - legendW*vg.Inch
	legend.Min.X = panels.Max.X + vg.Points(6)
	legend.Max.Y = body.Max.Y - vg.Points(22) // level with the panels' data area, below their titles
	tiles := draw.Tiles{Rows: 1, Cols: len(f.panels), PadX: vg.Points(8), PadTop: vg.Points(4), PadBottom: vg.Points(4),
		PadLeft: vg.Points(4), PadRight: vg.Points(4)}
	canvases := plot.Align([][]*plot.Plot{f.panels}, tiles, panels)
	for i, p := range f.panels {
		p.Draw(canvases[0][i])
	}
	f.legend.Draw(legend)
}

func (f *figure) size() (vg.Length, vg.Length) {
	return vg.Length(panelW*float64(len(f.panels))+legendW) * vg.Inch, vg.Length(panelH+titleH) * vg.Inch
}

// Plot draws one panel per SNR (test accuracy against communication rounds, a line per method in its fixed
// style, CI bands where the curves carry them) and writes it as PNG (DPI) to path and as PDF next to it
// (path with .pdf); it returns both paths.
func Plot(path, title string, curves []Curve) ([]string, error) {
	f, err := newFigure(title, curves)
	if err != nil {
		return nil, err
	}
	w, h := f.size()
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI))
	f.draw(img)
	if err := fsutil.WriteWith(path, 0o644, func(out io.Writer) error {
		_, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(out)
		return err
	}); err != nil {
		return nil, err
	}
	pdfPath := strings.TrimSuffix(path, ".png") + ".pdf"
	doc := vgpdf.New(w, h)
	f.draw(doc)
	if err := fsutil.WriteWith(pdfPath, 0o644, func(out io.Writer) error {
		_, err := doc.WriteTo(out)
		return err
	}); err != nil {
		return nil, err
	}
	return []string{path, pdfPath}, nil
}

// bandEdges are mean + band and mean − band of a curve, clamped to [0, 1] (nil without a complete band).
func bandEdges(c Curve) (upper, lower plotter.XYs) {
	n := min(len(c.Rounds), len(c.Accuracy))
	if len(c.Band) != len(c.Accuracy) || n < 2 {
		return nil, nil
	}
	for k := range n {
		if math.IsNaN(c.Band[k]) || math.IsNaN(c.Accuracy[k]) {
			return nil, nil
		}
		x := float64(c.Rounds[k])
		upper = append(upper, plotter.XY{X: x, Y: math.Min(1, c.Accuracy[k]+c.Band[k])})
		lower = append(lower, plotter.XY{X: x, Y: math.Max(0, c.Accuracy[k]-c.Band[k])})
	}
	return upper, lower
}

func reversed(xy plotter.XYs) plotter.XYs {
	out := slices.Clone(xy)
	slices.Reverse(out)
	return out
}
