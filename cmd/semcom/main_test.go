package main

import (
	"bytes"
	"os"
	"path/filepath"
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

var tiny = []string{"--device", "cpu", "--set", "data.synthetic.train=32", "--set", "data.synthetic.test=16", "--set", "data.synthetic.size=16",
	"--set", "data.synthetic.classes=4", "--set", "model.width=4", "--set", "model.feature_dim=8", "--set", "model.decoder_hidden=[8]",
	"--set", "pretrain.epochs=1", "--set", "pretrain.batch=16", "--set", "finetune.epochs=2", "--set", "finetune.batch=16",
	"--set", "channel.snrs_db=[5]", "--set", "methods=[proposed,supervised]"}

func TestRunWritesReportAndResumes(t *testing.T) {
	out := t.TempDir()
	args := append([]string{"run", "--out", out, "--name", "t"}, tiny...)
	stdout, err := run(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| 100% | 5 | proposed |", "| 100% | 5 | supervised |", "accuracy-vs-rounds-labels100.png"} {
		if !strings.Contains(stdout, want) {
			t.Fatalf("output lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{"config.yaml", "summary.md", "summary.json", "accuracy-vs-rounds-labels100.png",
		"pretrain/proposed/encoders.safetensors", "finetune/supervised-labels100-snr5/metrics.csv"} {
		if _, err := os.Stat(filepath.Join(out, "t", f)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := run(t, args...); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("second run into the same folder: %v", err)
	}
	if again, err := run(t, append(args, "--resume")...); err != nil || !strings.Contains(again, "| 100% | 5 | proposed |") {
		t.Fatalf("resume of a finished run: %v\n%s", err, again)
	}
	ev, err := run(t, append([]string{"eval", "--out", out, "--checkpoint", filepath.Join(out, "t", "finetune", "proposed-labels100-snr5"),
		"--set", "channel.snrs_db=[0,20]"}, tiny[:len(tiny)-4]...)...)
	if err != nil || !strings.Contains(ev, "SNR     20 dB: test accuracy") {
		t.Fatalf("eval: %v\n%s", err, ev)
	}
}

func TestConfigCommandsAndErrors(t *testing.T) {
	d, err := run(t, "config", "defaults")
	if err != nil || !strings.Contains(d, "lambda_shared: 0.0051") {
		t.Fatalf("defaults: %v", err)
	}
	s, err := run(t, "config", "show", "--set", "pretrain.epochs=3")
	if err != nil || !strings.Contains(s, "epochs: 3") {
		t.Fatalf("show: %v\n%s", err, s)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("pretrain:\n  epoch: 3\n"), 0o644)
	if _, err := run(t, "run", "-c", bad, "--out", t.TempDir()); err == nil || !strings.Contains(err.Error(), "unknown key pretrain.epoch") || !strings.Contains(err.Error(), "bad.yaml") {
		t.Fatalf("bad config: %v", err)
	}
	if _, err := run(t, "pretrain", "--method", "supervised", "--out", t.TempDir()); err == nil {
		t.Fatal("pretrain accepted the supervised method")
	}
	if _, err := run(t, "finetune", "--init", "/nonexistent.safetensors", "--out", t.TempDir()); err == nil || !strings.Contains(err.Error(), "--init") {
		t.Fatalf("finetune with a missing --init: %v", err)
	}
}
