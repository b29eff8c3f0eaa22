// Package progress draws progress bars on a terminal — several stacked (a sweep's workers), each with an
// ETA while it runs and its elapsed time once finished — and routes log lines above them, so that a bar and
// a log line never share a line. Off a terminal it draws nothing and log lines go straight to stderr (where
// the caller's per-epoch log lines report progress instead). Built on github.com/vbauerster/mpb/v8.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// Enabled reports whether stderr is a terminal (and NO_PROGRESS is unset).
func Enabled() bool {
	return os.Getenv("NO_PROGRESS") == "" && term.IsTerminal(int(os.Stderr.Fd()))
}

// The container of the bars being drawn: made at the first bar, waited for and dropped when the last
// finishes, so that log lines between jobs go straight to the output again.
var (
	mu        sync.Mutex
	container *mpb.Progress
	active    int
	out       io.Writer = os.Stderr
)

// Bar is one bar. A nil *Bar is silent.
type Bar struct {
	bar    *mpb.Bar
	suffix atomic.Value
	start  time.Time
	done   bool
}

// New starts a bar of total steps on stderr, drawn only when stderr is a terminal (nil otherwise).
func New(label string, total int) *Bar { return NewTo(os.Stderr, label, total, Enabled()) }

// NewTo starts a bar on w; enabled false returns nil (silent). Bars drawn at the same time stack.
func NewTo(w io.Writer, label string, total int, enabled bool) *Bar {
	if !enabled {
		return nil
	}
	mu.Lock()
	defer mu.Unlock()
	if container == nil {
		out = w
		width := 160 // a terminal's own width where there is one
		if f, ok := w.(*os.File); ok {
			if tw, _, err := term.GetSize(int(f.Fd())); err == nil && tw > 0 {
				width = tw
			}
		}
		container = mpb.New(mpb.WithOutput(w), mpb.WithWidth(width), mpb.WithRefreshRate(120*time.Millisecond), mpb.WithAutoRefresh())
	}
	active++
	b := &Bar{start: time.Now()}
	b.suffix.Store("")
	b.bar = container.AddBar(int64(max(total, 1)), mpb.BarWidth(28),
		mpb.PrependDecorators(decor.Name(label, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(
			decor.NewPercentage("%d", decor.WC{W: 5}),
			decor.CountersNoUnit(" %d/%d"),
			decor.Any(func(s decor.Statistics) string { return " " + b.timing(s) }),
			decor.Any(func(decor.Statistics) string { return " " + b.suffix.Load().(string) }),
		))
	return b
}

// timing is the ETA while the bar runs and the elapsed time once it is complete.
func (b *Bar) timing(s decor.Statistics) string {
	el := time.Since(b.start)
	switch {
	case s.Completed || s.Current >= s.Total:
		return "elapsed " + el.Round(time.Second).String()
	case s.Current == 0:
		return "eta --"
	}
	frac := float64(s.Current) / float64(s.Total)
	return "eta " + (time.Duration(float64(el)/frac) - el).Round(time.Second).String()
}

// Add advances the bar by n steps; suffix (e.g. "epoch 3") is shown after it.
func (b *Bar) Add(n int, suffix string) {
	if b == nil || b.done {
		return
	}
	b.suffix.Store(suffix)
	b.bar.IncrBy(n)
}

// Finish completes the bar (at its elapsed time); the last bar to finish flushes the terminal.
func (b *Bar) Finish() {
	if b == nil || b.done {
		return
	}
	b.done = true
	b.bar.SetTotal(-1, true) // complete at the current count
	mu.Lock()
	defer mu.Unlock()
	active--
	if active == 0 && container != nil {
		container.Wait()
		container = nil
	}
}

// LogOutput is where log lines should go: above the bars while any is drawn, straight out otherwise.
func LogOutput() io.Writer { return logWriter{} }

type logWriter struct{}

func (logWriter) Write(p []byte) (int, error) {
	mu.Lock()
	c, w := container, out
	mu.Unlock()
	if c == nil {
		return os.Stderr.Write(p)
	}
	if n, err := c.Write(p); err == nil {
		return n, nil
	}
	return fmt.Fprint(w, string(p)) // the container finished in between
}
