package progress

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func TestBarsStackAndLogsGoAbove(t *testing.T) {
	var on bytes.Buffer
	a := NewTo(&on, "pretrain proposed", 4, true)
	b := NewTo(&on, "pretrain simclr", 2, true) // a second bar stacks under the first
	LogOutput().Write([]byte("a log line\n"))
	for range 4 {
		a.Add(1, "epoch 1")
	}
	b.Add(2, "")
	b.Finish()
	a.Finish()
	s := on.String()
	for _, want := range []string{"pretrain proposed", "pretrain simclr", "100%", "4/4", "2/2", "a log line"} {
		if !strings.Contains(s, want) {
			t.Fatalf("output lacks %q: %q", want, s)
		}
	}
	// A finished bar shows its elapsed time, not an ETA; no line holds both a bar and the log line.
	final := s[strings.LastIndex(s, "4/4"):]
	if !strings.Contains(final, "elapsed") || strings.Contains(final, "eta") {
		t.Fatalf("finished bar: %q", final)
	}
	for _, line := range regexp.MustCompile(`[\r\n]|\x1b\[[0-9;]*[A-Za-z]`).Split(s, -1) {
		if strings.Contains(line, "a log line") && strings.Contains(line, "%") {
			t.Fatalf("a log line shares a line with a bar: %q", line)
		}
	}
	if container != nil || active != 0 {
		t.Fatal("the container outlived its bars")
	}
}

func TestDisabledBarsAreSilent(t *testing.T) {
	var off bytes.Buffer
	q := NewTo(&off, "x", 4, false)
	q.Add(2, "")
	q.Finish()
	if off.Len() != 0 {
		t.Fatalf("disabled bar wrote %q", off.String())
	}
	var nilBar *Bar
	nilBar.Add(1, "") // must not panic
	nilBar.Finish()
}
