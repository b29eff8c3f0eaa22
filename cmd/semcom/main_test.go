package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/semcom/semcom/data/nyud2"
	"github.com/semcom/semcom/runfolder"
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
	lib := "libtorch " + os.Getenv("TG_EXPECT_TORCH") // the version make test expects from the headers
	for _, w := range []string{lib, "go       go", "cuda"} {
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
	"--set", "data.synthetic.classes=8", "--set", "model.width=4", "--set", "model.feature_dim=8", "--set", "model.decoder_hidden=[8]",
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
	checkProvenanceAndInit(t, filepath.Join(out, "t"))
	// Resuming a fine-tuning job from other encoders (same shapes, other values) is refused, not mixed.
	enc := filepath.Join(out, "t", "pretrain", "proposed", "encoders.safetensors")
	b, _ := os.ReadFile(enc)
	b[len(b)-1] ^= 0x40
	other := filepath.Join(t.TempDir(), "other.safetensors")
	os.WriteFile(other, b, 0o644)
	ft := append([]string{"finetune", "--out", out, "--name", "t", "--snr", "5", "--resume"}, tiny...)
	if _, err := run(t, append(ft, "--init", other)...); err == nil || !strings.Contains(err.Error(), "two initialisations") || exitCode(err) != exitInvalid {
		t.Fatalf("resume from other encoders: %v", err)
	}
	if _, err := run(t, append(ft, "--method", "supervised")...); err != nil {
		t.Fatalf("the supervised job, resumed from scratch as it started: %v", err)
	}
	if _, err := run(t, append(ft, "--method", "supervised", "--init", enc)...); err == nil || !strings.Contains(err.Error(), "started from scratch") {
		t.Fatalf("a from-scratch job resumed from encoders: %v", err)
	}
	if _, err := run(t, append(ft, "--init", enc)...); err != nil {
		t.Fatalf("resume from the same encoders: %v", err)
	}
	// TensorBoard event files, one folder per job.
	for _, job := range []string{"pretrain-proposed", "finetune-proposed-labels100-snr5", "finetune-supervised-labels100-snr5"} {
		if m, _ := filepath.Glob(filepath.Join(out, "t", "tb", job, "events.out.tfevents.*")); len(m) != 1 {
			t.Fatalf("%s: event files %v", job, m)
		}
	}
	if _, err := run(t, append(args, "--resume", "--set", "tracking=[wandb]")...); err == nil || !strings.Contains(err.Error(), "tensorboard") {
		t.Fatalf("an unknown tracker: %v", err)
	}
	if again, err := run(t, append(args, "--resume")...); err != nil || !strings.Contains(again, "| 100% | 5 | proposed |") {
		t.Fatalf("resume of a finished run: %v\n%s", err, again)
	}
	ev, err := run(t, append([]string{"eval", "--out", out, "--checkpoint", filepath.Join(out, "t", "finetune", "proposed-labels100-snr5"),
		"--set", "channel.snrs_db=[0,20]"}, tiny[:len(tiny)-4]...)...)
	if err != nil || !strings.Contains(ev, "SNR     20 dB: test accuracy") {
		t.Fatalf("eval: %v\n%s", err, ev)
	}
	// The same SNR gets the same evaluation noise whatever other SNRs are evaluated with it.
	summary, _ := os.ReadFile(filepath.Join(out, "t", "summary.md"))
	ev5, err := run(t, append([]string{"eval", "--out", out, "--checkpoint", filepath.Join(out, "t", "finetune", "proposed-labels100-snr5"),
		"--set", "channel.snrs_db=[-3,5]"}, tiny[:len(tiny)-4]...)...)
	if err != nil {
		t.Fatal(err)
	}
	var acc float64
	for _, line := range strings.Split(ev5, "\n") {
		if strings.Contains(line, "SNR      5 dB") {
			fmt.Sscanf(line[strings.Index(line, "accuracy")+len("accuracy "):], "%f%%", &acc)
		}
	}
	if want := fmt.Sprintf("| 100%% | 5 | proposed | %.1f%% ", acc); !strings.Contains(string(summary), want) {
		t.Fatalf("eval at 5 dB gave %.2f%%, the run's final accuracy differs:\n%s", acc, summary)
	}
}

func TestInspectSyntheticDesign(t *testing.T) {
	out, err := run(t, "data", "inspect", "--set", "data.synthetic.train=120", "--set", "data.synthetic.test=24")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"design: 2 shared × 3 RGB-only × 2 depth-only levels, difficulty 0.5",
		"oracle accuracy from the generating factors: RGB 47.4%, depth 31.8%, both 92.6%", "total    108   12    24"} {
		if !strings.Contains(out, want) {
			t.Fatalf("inspect lacks %q:\n%s", want, out)
		}
	}
	if _, err := run(t, "data", "inspect", "--set", "data.synthetic.classes=10"); err == nil || !strings.Contains(err.Error(), "8, 12, 16") || exitCode(err) != exitInvalid {
		t.Fatalf("10 classes: %v", err)
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
	if _, err := run(t, "finetune", "--out", t.TempDir()); err == nil || !strings.Contains(err.Error(), "would train from scratch") || exitCode(err) != exitInvalid {
		t.Fatalf("finetune of a self-supervised method without --init: %v", err)
	}
}

// TestDataPrepareInspectAndTrain builds a labeled .mat in the official layout with 1449 tiny synthetic frames
// and the real scene types, prepares it with the real splits.mat, inspects it, and trains on it.
func TestDataPrepareInspectAndTrain(t *testing.T) {
	labels := "../../../shared/data/nyud2-samples/labels/"
	raw, err := os.ReadFile(labels + "sceneTypes.txt")
	if err != nil {
		t.Skip(err)
	}
	scenes := strings.Fields(string(raw))
	images := make([][]uint8, len(scenes))
	depths := make([][]float32, len(scenes))
	for i := range scenes {
		images[i] = make([]uint8, 16*16*3)
		depths[i] = make([]float32, 16*16)
		for k := range images[i] {
			images[i][k] = uint8((i*7 + k) % 251)
		}
		for k := range depths[i] {
			depths[i][k] = float32((i+k)%100) / 10
		}
	}
	dir := t.TempDir()
	mat := filepath.Join(dir, "nyu_depth_v2_labeled.mat")
	if err := nyud2.WriteLabeled(mat, 16, 16, images, depths, scenes); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	out, err := run(t, "data", "prepare", "--mat", mat, "--splits", labels+"splits.mat", "--out", cache, "--size", "16")
	if err != nil || !strings.Contains(out, "795 train / 654 test") {
		t.Fatalf("prepare: %v\n%s", err, out)
	}
	out, err = run(t, "data", "inspect", cache)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"16×16 images", "bedroom    192   191", "others    128    41", "bookstore     25    11", "total    795   654"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Fatalf("inspect lacks %q:\n%s", want, out)
		}
	}
	args := append([]string{"run", "--out", dir, "--name", "nyu", "--set", "data.kind=nyud2", "--set", "data.path=" + cache,
		"--set", "methods=[supervised]", "--set", "finetune.epochs=1"}, tiny[:len(tiny)-2]...)
	if out, err := run(t, args...); err != nil || !strings.Contains(out, "| 100% | 5 | supervised |") {
		t.Fatalf("training on the cache: %v\n%s", err, out)
	}
	if _, err := run(t, "data", "prepare", "--mat", labels+"splits.mat", "--splits", labels+"splits.mat", "--out", cache); err == nil || !strings.Contains(err.Error(), "not an HDF5") {
		t.Fatalf("prepare from a v5 file as the labeled .mat: %v", err)
	}
}

func TestBenchCommand(t *testing.T) {
	out, err := run(t, "bench", "--device", "cpu", "--size", "16", "--width", "8", "--batch", "8", "--steps", "2", "--repeats", "1", "--warmup", "1", "--check-flat")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "pretrain") || !strings.Contains(out, "finetune") || !strings.Contains(out, "ms/step") || !strings.Contains(out, "samples/s") {
		t.Fatalf("bench output:\n%s", out)
	}
	// With --config: the experiment's own sizes, and its protocol projected from the measured steps.
	cfg := filepath.Join(t.TempDir(), "tiny.yaml")
	yaml := "name: tiny\nmethods: [proposed, supervised]\ndata: {synthetic: {train: 32, test: 16, size: 16, classes: 8}}\n" +
		"model: {width: 4, feature_dim: 8, decoder_hidden: [8]}\nchannel: {snrs_db: [5]}\n" +
		"pretrain: {epochs: 1, batch: 16}\nfinetune: {epochs: 2, batch: 16}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, "bench", "--config", cfg, "--device", "cpu", "--steps", "1", "--repeats", "1", "--warmup", "0")
	if err != nil {
		t.Fatal(err)
	}
	// 1 method × 1 epoch × 2 steps; 2 methods × 1 SNR × 2 epochs × 2 steps; 2 jobs × 2 evaluations × 1 batch.
	for _, want := range []string{"16px w4   b16", "eval", "protocol tiny (2 methods × 1 SNRs × 1 label fractions, 1/2 epochs, synthetic images): " +
		"2 pre-training steps + 8 fine-tuning steps + 4 evaluation batches ≈"} {
		if !strings.Contains(out, want) {
			t.Fatalf("bench --config output lacks %q:\n%s", want, out)
		}
	}
	if _, err := run(t, "bench", "--device", "cpu", "--check-sync"); err == nil || !strings.Contains(err.Error(), "--check-sync needs a CUDA device") {
		t.Fatalf("--check-sync on CPU: %v", err)
	}
	if _, err := run(t, "bench", "--device", "cpu", "--step", "both"); err == nil {
		t.Fatal("bench accepted --step both")
	}
}

// TestCollectSeeds runs the tiny protocol with three seeds and merges them.
func TestCollectSeeds(t *testing.T) {
	out := t.TempDir()
	var dirs []string
	for s := 1; s <= 3; s++ {
		name := fmt.Sprintf("s%d", s)
		args := append([]string{"run", "--out", out, "--name", name, "--set", fmt.Sprintf("seed=%d", s), "--set", fmt.Sprintf("data.synthetic.seed=%d", 100+s),
			"--set", "probe.enabled=false"}, tiny...)
		if _, err := run(t, args...); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, filepath.Join(out, name))
	}
	stdout, err := run(t, append([]string{"collect", "--out", filepath.Join(out, "merged")}, dirs...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"3 runs (seeds)", "| 100% | 5 | proposed | 3 |", "Paired differences: proposed − method", "| 100% | 5 | supervised | 3 |", "seeds-accuracy-vs-rounds-labels100.png",
		"seeds-accuracy-vs-rounds-labels100.pdf", "sd of differences", "seeds for ±3.0", "test acc at 50 rounds (%)"} {
		if !strings.Contains(stdout, want) {
			t.Fatalf("collect output lacks %q:\n%s", want, stdout)
		}
	}
	// Compare: the same runs against themselves differ by exactly zero.
	cmp, err := run(t, "compare", filepath.Join(out, "merged"), filepath.Join(out, "merged"))
	if err != nil || !strings.Contains(cmp, "| 100% | 5 | proposed | 3 | 0.0 ± 0.0 | 0.0 | 2 | equal within ±3.0 |") {
		t.Fatalf("compare: %v\n%s", err, cmp)
	}
	if _, err := run(t, "compare", "--target-halfwidth", "0", filepath.Join(out, "merged"), filepath.Join(out, "merged")); err == nil ||
		!strings.Contains(err.Error(), "--target-halfwidth") || exitCode(err) != exitInvalid {
		t.Fatalf("compare --target-halfwidth 0: %v", err)
	}
	// A run of another config is refused, never mixed in.
	other := append(append([]string{"run", "--out", out, "--name", "other", "--set", "probe.enabled=false"}, tiny...), "--set", "finetune.epochs=1")
	if _, err := run(t, other...); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "collect", dirs[0], filepath.Join(out, "other")); err == nil || !strings.Contains(err.Error(), "finetune.epochs") || exitCode(err) != exitInvalid {
		t.Fatalf("collect of another config: %v", err)
	}
	// The same run twice (the same folder, or the same config and seeds under another name) is refused: it
	// would count as two seeds and shrink every interval.
	again := append([]string{"run", "--out", out, "--name", "s1-again", "--set", "seed=1", "--set", "data.synthetic.seed=101", "--set", "probe.enabled=false"}, tiny...)
	if _, err := run(t, again...); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][]string{{dirs[0], dirs[1], dirs[0]}, {dirs[0], dirs[1], filepath.Join(out, "s1-again")}} {
		if _, err := run(t, append([]string{"collect", "--out", filepath.Join(out, "dup")}, pair...)...); err == nil ||
			!strings.Contains(err.Error(), "same run twice") || exitCode(err) != exitInvalid {
			t.Fatalf("collect %v: %v", pair, err)
		}
	}
	// Runs that share `seed` but not the data seed are two runs, but compare pairs by seed: refused there.
	sameSeed := append([]string{"run", "--out", out, "--name", "s1-data", "--set", "seed=1", "--set", "data.synthetic.seed=999", "--set", "probe.enabled=false"}, tiny...)
	if _, err := run(t, sameSeed...); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "collect", "--out", filepath.Join(out, "mixed"), dirs[0], filepath.Join(out, "s1-data")); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "compare", filepath.Join(out, "merged"), filepath.Join(out, "mixed")); err == nil || !strings.Contains(err.Error(), "both have seed 1") {
		t.Fatalf("compare with a seed twice: %v", err)
	}
}

// checkProvenanceAndInit reads run.json and job.json of a finished run: the build and device are recorded,
// and each fine-tuning job names the encoders it started from (with their checksum), or none.
func checkProvenanceAndInit(t *testing.T, dir string) {
	t.Helper()
	m, err := runfolder.ReadMarker(filepath.Join(dir, runfolder.MarkerFile))
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Provenance; p == nil || p.Semcom == "" || p.Go != runtime.Version() || p.Libtorch == "" || (os.Getenv("TG_EXPECT_TORCH") != "" && p.Libtorch != os.Getenv("TG_EXPECT_TORCH")) || p.Device != "cpu" {
		t.Fatalf("run.json provenance: %+v", p)
	}
	enc := filepath.Join(dir, "pretrain", "proposed", "encoders.safetensors")
	b, err := os.ReadFile(enc)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	j, err := runfolder.ReadMarker(filepath.Join(dir, "finetune", "proposed-labels100-snr5", runfolder.JobMarkerFile))
	if err != nil {
		t.Fatal(err)
	}
	if j.Init == nil || j.Init.SHA256 != hex.EncodeToString(sum[:]) || filepath.Base(j.Init.Path) != "encoders.safetensors" || j.Provenance == nil {
		t.Fatalf("proposed job.json: init %+v, provenance %+v", j.Init, j.Provenance)
	}
	s, err := runfolder.ReadMarker(filepath.Join(dir, "finetune", "supervised-labels100-snr5", runfolder.JobMarkerFile))
	if err != nil || s.Init != nil {
		t.Fatalf("supervised job.json: %+v %v", s, err)
	}
}
