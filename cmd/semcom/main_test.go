package main

import (
	"bytes"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestModelSummary(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"model", "summary"}, "trainable parameters: 11,176,512"},
		{[]string{"model", "summary", "--classes", "1000"}, "trainable parameters: 11,689,512"},
		{[]string{"model", "summary", "--in-channels", "1"}, "trainable parameters: 11,170,240"},
	}
	for _, c := range cases {
		out, err := run(t, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, c.want) || !strings.Contains(out, "layer4.1.bn2.running_var") || !strings.Contains(out, "20 BN layers") {
			t.Fatalf("%v: output lacks %q:\n%s", c.args, c.want, out[len(out)-300:])
		}
	}
	if _, err := run(t, "model", "summary", "--width", "0"); err == nil || !strings.Contains(err.Error(), "--width") {
		t.Fatalf("width 0: %v", err)
	}
}

func TestVersion(t *testing.T) {
	out, err := run(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"libtorch 1.", "go       go", "cuda"} {
		if !strings.Contains(out, w) {
			t.Fatalf("version output lacks %q:\n%s", w, out)
		}
	}
	if _, err := run(t, "version", "--log-format", "xml"); err == nil {
		t.Fatal("bad --log-format accepted")
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 11176512: "11,176,512"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%d) = %q", in, got)
		}
	}
}
