package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrecedence(t *testing.T) {
	p := write(t, "name: x\npretrain:\n  epochs: 7\n  batch: 16\nchannel:\n  snrs_db: [5]\n  snr_offset_db: {depth: -3}\n")
	t.Setenv("SEMCOM_PRETRAIN_BATCH", "32")
	t.Setenv("SEMCOM_FINETUNE_EPOCHS", "9")
	e, err := Load(p, []string{"finetune.epochs=11", "channel.snrs_db=[0, 10]"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "x" || e.Pretrain.Epochs != 7 { // YAML over defaults
		t.Fatalf("yaml not applied: %+v", e.Pretrain)
	}
	if e.Pretrain.Batch != 32 { // env over YAML
		t.Fatalf("env not applied: batch %d", e.Pretrain.Batch)
	}
	if e.Finetune.Epochs != 11 || len(e.Channel.SNRsDB) != 2 { // flags over env
		t.Fatalf("overrides not applied: %d %v", e.Finetune.Epochs, e.Channel.SNRsDB)
	}
	if e.Model.Width != 64 || e.Pretrain.Proposed.LambdaShared != 0.0051 { // defaults
		t.Fatalf("defaults missing: %+v", e.Model)
	}
	if e.Channel.SNROffsetDB["depth"] != -3 {
		t.Fatalf("map key lost: %v", e.Channel.SNROffsetDB)
	}
	if e.SharedDims() != 48 {
		t.Fatalf("K_sha = %d, want 48 (75%% of 64)", e.SharedDims())
	}
}

func TestRejectsBadInput(t *testing.T) {
	cases := []struct {
		body      string
		overrides []string
		want      []string
	}{
		{"pretrain:\n  epoch: 3\n", nil, []string{"unknown key pretrain.epoch", "c.yaml"}},
		{"name: [unclosed\n", nil, []string{"not valid YAML"}},
		{"pretrain:\n  epochs: ten\n", nil, []string{"epochs"}},
		{"channel:\n  fading: awgn\n", nil, []string{"channel.fading", "none, rayleigh, rician"}},
		{"model:\n  feature_dim: 63\n", nil, []string{"model.feature_dim = 63", "even"}},
		{"methods: [proposed, mae]\n", nil, []string{"methods", "mae"}},
		{"data:\n  label_fractions: [0.5, 1.5]\n", nil, []string{"data.label_fractions = 1.5"}},
		{"finetune:\n  augment:\n    crop_scale: [0.9, 0.2]\n", nil, []string{"finetune.augment.crop_scale"}},
		{"", []string{"no_equals"}, []string{"want key=value"}},
		{"", []string{"pretrain.epochz=3"}, []string{"unknown key pretrain.epochz"}},
		{"channel:\n  equalizer: lmmse\n  power_norm: symbol\n", nil, []string{"channel.equalizer", "channel.power_norm"}},
	}
	for _, c := range cases {
		_, err := Load(write(t, c.body), c.overrides)
		if err == nil {
			t.Errorf("%q %v: accepted", c.body, c.overrides)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", c.body, err, w)
			}
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), nil); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestResolvedConfigRoundTrips(t *testing.T) {
	e, err := Load("", []string{"name=rt", "pretrain.epochs=3"})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "resolved.yaml")
	if err := e.Write(p); err != nil {
		t.Fatal(err)
	}
	back, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := e.YAML()
	b, _ := back.YAML()
	if string(a) != string(b) {
		t.Fatalf("resolved config does not round-trip:\n%s\n---\n%s", a, b)
	}
}

func TestShippedConfigsLoad(t *testing.T) {
	files, _ := filepath.Glob("../configs/*.yaml")
	if len(files) < 4 {
		t.Fatalf("found %d configs", len(files))
	}
	for _, f := range files {
		e, err := Load(f, nil)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(e.Methods) != 4 {
			t.Errorf("%s: methods %v", f, e.Methods)
		}
	}
	e, _ := Load("../configs/paper-nyud2.yaml", nil)
	if e.Data.ImageSize != 224 || e.Pretrain.Batch != 64 || e.Pretrain.Epochs != 500 || e.Model.Width != 64 {
		t.Errorf("paper config drifted from §IV-A: %+v %+v", e.Data, e.Pretrain)
	}
}
