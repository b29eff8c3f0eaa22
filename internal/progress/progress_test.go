package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestBarDrawsOnlyWhenEnabled(t *testing.T) {
	var on, off bytes.Buffer
	b := NewTo(&on, "pretrain", 4, true)
	for range 4 {
		b.Add(1, "loss 1.0")
	}
	b.Finish()
	s := on.String()
	if !strings.Contains(s, "pretrain") || !strings.Contains(s, "100%") || !strings.Contains(s, "4/4") || !strings.HasSuffix(s, "\n") {
		t.Fatalf("bar output %q", s)
	}
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
