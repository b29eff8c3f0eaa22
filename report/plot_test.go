package report

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestYRangeAndTicks(t *testing.T) {
	for _, c := range []struct{ lo, hi, min, max, step float64 }{
		{0.32, 0.88, 0.3, 0.9, 0.1},  // margin 0.011: 0.309..0.891; 0.05 would be 12 steps, 0.1 gives 6
		{0, 1, 0, 1, 0.2},            // the whole range: 5 steps of 0.2
		{0.5, 0.7, 0.45, 0.75, 0.05}, // 0.49..0.71: 0.02 gives 12 steps, 0.05 gives 6
		{0.81, 0.86, 0.8, 0.87, 0.01},
		{math.NaN(), math.NaN(), 0, 1, 0.2}, // no data
	} {
		min, max, step := yRange(c.lo, c.hi)
		if math.Abs(min-c.min) > 1e-9 || math.Abs(max-c.max) > 1e-9 || step != c.step {
			t.Errorf("yRange(%g, %g) = %g, %g, %g; want %g, %g, %g", c.lo, c.hi, min, max, step, c.min, c.max, c.step)
		}
	}
	var labels []string
	for _, tk := range (stepTicks{0.1}).Ticks(0.3, 0.9) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if !slices.Equal(labels, []string{"0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"}) {
		t.Fatalf("ticks %v", labels)
	}
	// An axis starting just below zero labels its zero "0.0", not "-0.0".
	if tk := (stepTicks{0.2}).Ticks(-1e-12, 1); tk[0].Label != "0.0" {
		t.Fatalf("first tick of [-1e-12, 1]: %q", tk[0].Label)
	}
}

// methodCurves are four methods at one SNR with CI bands, in the given order.
func methodCurves(order []string) []Curve {
	acc := map[string][]float64{"proposed": {0.4, 0.7, 0.8}, "simclr": {0.35, 0.6, 0.75}, "barlow": {0.3, 0.65, 0.78}, "supervised": {0.2, 0.5, 0.7}}
	var cs []Curve
	for _, m := range order {
		cs = append(cs, Curve{Method: m, LabelFraction: 1, SNR: 10, Epochs: []int{1, 2, 3}, Rounds: []int64{50, 100, 150},
			Accuracy: acc[m], Band: []float64{0.05, 0.04, 0.03}})
	}
	return cs
}

func TestMethodStyleIndependentOfOrder(t *testing.T) {
	a, err := newFigure("a", methodCurves([]string{"proposed", "simclr", "barlow", "supervised"}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := newFigure("b", methodCurves([]string{"supervised", "barlow", "proposed"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"proposed", "barlow", "supervised"} {
		la, lb := a.lines[m].LineStyle, b.lines[m].LineStyle
		if la.Color != lb.Color || !slices.Equal(la.Dashes, lb.Dashes) || la.Width != lb.Width {
			t.Errorf("%s drawn as %+v in one figure and %+v in the other", m, la, lb)
		}
	}
	// The four methods differ pairwise in colour and in dash pattern (readable in grey too).
	ms := []string{"proposed", "simclr", "barlow", "supervised"}
	for i := range ms {
		for j := i + 1; j < len(ms); j++ {
			si, sj := StyleOf(ms[i]), StyleOf(ms[j])
			if si.Color == sj.Color || slices.Equal(si.Dashes, sj.Dashes) {
				t.Errorf("%s and %s share a colour or a dash pattern", ms[i], ms[j])
			}
		}
	}
	if u, v := StyleOf("some-new-method"), StyleOf("some-new-method"); u.Color != v.Color || !slices.Equal(u.Dashes, v.Dashes) || u.Color.A != 0xff {
		t.Errorf("unknown method style %+v", u)
	}
}

// TestFigureStylesInPixels renders two figures with the methods in opposite orders and finds each
// method's colour in both PNGs, and the legend (the proposed colour) right of the panels, outside the data.
func TestFigureStylesInPixels(t *testing.T) {
	dir := t.TempDir()
	count := func(order []string) (map[string]int, int) {
		p := filepath.Join(dir, order[0]+".png")
		if _, err := Plot(p, "order", methodCurves(order)); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		legend := 0
		legendX := int(panelW * DPI) // the legend column starts here
		for _, m := range order {
			want := StyleOf(m).Color
			eachPixel(img, func(x, y int, c color.NRGBA) {
				if close(c, want) {
					n[m]++
					if m == "proposed" && x > legendX {
						legend++
					}
				}
			})
		}
		return n, legend
	}
	na, la := count([]string{"proposed", "simclr", "barlow", "supervised"})
	nb, lb := count([]string{"supervised", "barlow", "simclr", "proposed"})
	for _, m := range []string{"proposed", "simclr", "barlow", "supervised"} {
		if na[m] < 50 || nb[m] < 50 {
			t.Errorf("%s: %d and %d pixels of its colour, want its line in both figures", m, na[m], nb[m])
		}
	}
	if la < 20 || lb < 20 {
		t.Errorf("proposed's legend entry right of the panels: %d, %d pixels", la, lb)
	}
}

func eachPixel(img image.Image, f func(x, y int, c color.NRGBA)) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			f(x, y, color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA))
		}
	}
}

func close(a, b color.NRGBA) bool {
	d := func(x, y uint8) int { return max(int(x)-int(y), int(y)-int(x)) }
	return d(a.R, b.R) < 12 && d(a.G, b.G) < 12 && d(a.B, b.B) < 12
}

func TestRoundTicks(t *testing.T) {
	for _, c := range []struct {
		max  float64
		want []string
	}{{500, []string{"0", "100", "200", "300", "400", "500"}}, {1200, []string{"0", "200", "400", "600", "800", "1000", "1200"}}, {1400, []string{"0", "250", "500", "750", "1000", "1250"}}, {30, []string{"0", "5", "10", "15", "20", "25", "30"}}} {
		var labels []string
		for _, tk := range (roundTicks{}).Ticks(0, c.max) {
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		if !slices.Equal(labels, c.want) {
			t.Errorf("0..%g: %v, want %v", c.max, labels, c.want)
		}
	}
}
