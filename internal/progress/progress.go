// Package progress draws progress bars with an ETA on a terminal and stays silent elsewhere (where the
// caller's log lines report progress instead).
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// Bar is one bar. The zero value and a nil *Bar are silent.
type Bar struct {
	w       io.Writer
	label   string
	total   int
	done    int
	start   time.Time
	last    time.Time
	suffix  string
	enabled bool
}

// Enabled reports whether stderr is a terminal (and NO_PROGRESS is unset).
func Enabled() bool {
	return os.Getenv("NO_PROGRESS") == "" && term.IsTerminal(int(os.Stderr.Fd()))
}

// New starts a bar of total steps on stderr, drawn only when stderr is a terminal.
func New(label string, total int) *Bar {
	return NewTo(os.Stderr, label, total, Enabled())
}

// NewTo starts a bar on w; enabled false makes it silent.
func NewTo(w io.Writer, label string, total int, enabled bool) *Bar {
	b := &Bar{w: w, label: label, total: max(total, 1), start: time.Now(), enabled: enabled}
	b.draw(true)
	return b
}

// Add advances the bar by n steps; suffix (e.g. "loss 0.53") is shown after the bar.
func (b *Bar) Add(n int, suffix string) {
	if b == nil {
		return
	}
	b.done += n
	b.suffix = suffix
	b.draw(false)
}

// Finish completes the line.
func (b *Bar) Finish() {
	if b == nil || !b.enabled {
		return
	}
	b.done = b.total
	b.draw(true)
	fmt.Fprintln(b.w)
	b.enabled = false
}

func (b *Bar) draw(force bool) {
	if !b.enabled {
		return
	}
	now := time.Now()
	if !force && now.Sub(b.last) < 100*time.Millisecond && b.done < b.total {
		return
	}
	b.last = now
	const width = 28
	frac := float64(b.done) / float64(b.total)
	fill := int(frac * width)
	eta := "--"
	if b.done > 0 && b.done < b.total {
		el := now.Sub(b.start)
		eta = (time.Duration(float64(el)/frac) - el).Round(time.Second).String()
	} else if b.done >= b.total {
		eta = now.Sub(b.start).Round(time.Second).String()
	}
	fmt.Fprintf(b.w, "\r%-28s [%s%s] %3.0f%% %d/%d eta %s %s\x1b[K", b.label, strings.Repeat("=", fill),
		strings.Repeat(" ", width-fill), frac*100, b.done, b.total, eta, b.suffix)
}
