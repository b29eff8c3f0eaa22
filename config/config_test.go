package config

import (
	"os"
	"path/filepath"
	"reflect"
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
	// With a projector the loss sees its output: K_sha follows that width, not K.
	e.Model.Projector = []int{128, 128}
	if e.LossDims() != 128 || e.SharedDims() != 96 {
		t.Fatalf("projector [128,128]: loss width %d, K_sha %d; want 128 and 96", e.LossDims(), e.SharedDims())
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
		{"methods: [proposed, proposed]\n", nil, []string{"methods", "proposed is repeated"}},
		{"channel:\n  snrs_db: [10, 10]\n", nil, []string{"channel.snrs_db", "10 is repeated"}},
		{"data:\n  label_fractions: [0.5, 0.5]\n", nil, []string{"data.label_fractions", "0.5 is repeated"}},
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

// TestNoSilentCoercion: every value is taken as its key's type or refused, and every refusal names where
// the value came from.
func TestNoSilentCoercion(t *testing.T) {
	file := write(t, "pretrain:\n  epochs: 2.5\n")
	cases := []struct {
		name      string
		path      string
		env       map[string]string
		overrides []Override
		want      []string
	}{
		{"fraction as integer", file, nil, nil, []string{"config " + file, "pretrain.epochs = 2.5", "an integer"}},
		{"bool as integer", "", nil, []Override{{Key: "finetune.epochs", Value: "true", From: "--set finetune.epochs=true"}}, []string{"--set finetune.epochs=true", "an integer"}},
		{"negative seed", "", nil, []Override{{Key: "seed", Value: "-1", From: "--set seed=-1"}}, []string{"seed = -1", "≥ 0"}},
		{"NaN integer", "", map[string]string{"SEMCOM_MODEL_FEATURE_DIM": ".nan"}, nil, []string{"SEMCOM_MODEL_FEATURE_DIM", "model.feature_dim = NaN"}},
		{"NaN SNR", "", nil, []Override{{Key: "channel.snrs_db", Value: "[.nan]", From: "--set"}}, []string{"channel.snrs_db", "finite"}},
		{"Inf SNR", "", nil, []Override{{Key: "channel.snrs_db", Value: "[0, .inf]", From: "--set"}}, []string{"finite"}},
		{"Inf offset", "", nil, []Override{{Key: "channel.snr_offset_db.depth", Value: "-.inf", From: "--set"}}, []string{"finite"}},
		{"string as number", "", nil, []Override{{Key: "pretrain.optimizer.lr", Value: "fast", From: "--set"}}, []string{"pretrain.optimizer.lr", "a number"}},
		{"number as bool", "", nil, []Override{{Key: "channel.noiseless", Value: "1", From: "--set"}}, []string{"true or false"}},
		{"unknown variable", "", map[string]string{"SEMCOM_PRETRAIN_EPOCH": "3"}, nil, []string{"SEMCOM_PRETRAIN_EPOCH names no config key"}},
		{"flag value", "", nil, []Override{{Key: "device", Value: "gpu", From: "--device", Literal: true}}, []string{"--device: device = gpu"}},
		{"name with dots", "", nil, []Override{{Key: "name", Value: "..", From: "--name", Literal: true}}, []string{"--name: name", "other than . and .."}},
		{"validation names the variable", "", map[string]string{"SEMCOM_CHANNEL_FADING": "awgn"}, nil, []string{"SEMCOM_CHANNEL_FADING: channel.fading"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			_, err := Resolve(c.path, c.overrides)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error lacks %q: %v", w, err)
				}
			}
		})
	}
}

func TestEnvironmentListsAndIntegralFloats(t *testing.T) {
	t.Setenv("SEMCOM_CHANNEL_SNRS_DB", "[0,5]")
	t.Setenv("SEMCOM_DATA_LABEL_FRACTIONS", "1,0.5")
	t.Setenv("SEMCOM_KEEP_DENORMALS", "1") // a runtime switch, not a key: allowed
	e, err := Load("", []string{"pretrain.epochs=3.0", "name=2024"})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Channel.SNRsDB) != 2 || e.Channel.SNRsDB[1] != 5 || len(e.Data.LabelFractions) != 2 || e.Pretrain.Epochs != 3 || e.Name != "2024" {
		t.Fatalf("got snrs %v fractions %v epochs %d name %q", e.Channel.SNRsDB, e.Data.LabelFractions, e.Pretrain.Epochs, e.Name)
	}
}

func TestHashAndDiff(t *testing.T) {
	a, _ := Load("", nil)
	b, _ := Load("", []string{"name=other", "out=/elsewhere", "device=cpu", "threads=2", "checkpoint.every=3"})
	if a.Hash() != b.Hash() || len(Diff(a, b)) != 0 {
		t.Fatalf("where-and-how keys changed the hash: %v", Diff(a, b))
	}
	c, _ := Load("", []string{"seed=5", "pretrain.epochs=2", "channel.snr_offset_db={depth: -3}"})
	if a.Hash() == c.Hash() {
		t.Fatal("a different seed kept the hash")
	}
	want := []string{"channel.snr_offset_db.depth: (unset) → -3", "pretrain.epochs: 100 → 2", "seed: 1 → 5"}
	if got := Diff(a, c); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("Diff = %q, want %q", got, want)
	}
	// The written config loads back to the same hash (resume without -c reads it).
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := c.Write(p); err != nil {
		t.Fatal(err)
	}
	back, err := Load(p, nil)
	if err != nil || back.Hash() != c.Hash() {
		t.Fatalf("reloaded config: %v, diff %v", err, Diff(c, back))
	}
}

// TestNaNAndInfRefusedEverywhere sets every float (and every integer) key to NaN and ±Inf, in each form
// it can take, and expects an error naming the key before anything runs.
func TestNaNAndInfRefusedEverywhere(t *testing.T) {
	n := 0
	for key, typ := range keyTypes() {
		var values []string
		switch typ.Kind() {
		case reflect.Float64, reflect.Int, reflect.Uint64:
			values = []string{".nan", ".inf", "-.inf"}
		case reflect.Slice:
			if k := typ.Elem().Kind(); k == reflect.Float64 || k == reflect.Int {
				values = []string{"[.nan]", "[1, .inf]"}
			}
		case reflect.Map:
			key += ".depth"
			values = []string{".nan", "-.inf"}
		}
		for _, v := range values {
			n++
			_, err := Load("", []string{key + "=" + v})
			if err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("%s=%s: %v", key, v, err)
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d cases: the key walk missed fields", n)
	}
}

// TestThreadsBounded: a thread count far above the cores is refused naming the key (it only spins); the
// floor keeps 256 valid on any machine.
func TestThreadsBounded(t *testing.T) {
	if _, err := Load("", []string{"threads=256"}); err != nil {
		t.Fatal(err)
	}
	_, err := Load("", []string{"threads=1000000"})
	if err == nil || !strings.Contains(err.Error(), "threads") || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("threads=1000000: %v", err)
	}
}
