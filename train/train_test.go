package train

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/semcom/semcom/config"
	"github.com/semcom/semcom/data"
	"github.com/semcom/semcom/report"
	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/safetensors"
)

// tinyEnv is a whole experiment small enough for a unit test: 16×16 images, width-4 ResNets, K = 8.
func tinyEnv(t *testing.T, overrides ...string) *Env {
	t.Helper()
	base := []string{"name=tiny", "device=cpu", "data.synthetic.train=48", "data.synthetic.test=24", "data.synthetic.size=16",
		"data.synthetic.classes=8", "model.width=4", "model.feature_dim=8", "model.decoder_hidden=[16]",
		"pretrain.epochs=2", "pretrain.batch=16", "finetune.epochs=3", "finetune.batch=16", "eval.batch=10",
		"channel.snrs_db=[0, 10]", "checkpoint.every=1", "finetune.optimizer.warmup_epochs=0", "pretrain.optimizer.warmup_epochs=1"}
	exp, err := config.Load("", append(base, overrides...))
	if err != nil {
		t.Fatal(err)
	}
	s := exp.Data.Synthetic
	ds, err := data.Synthetic(data.SyntheticConfig{Train: s.Train, Test: s.Test, Size: s.Size, Classes: s.Classes, Noise: s.Noise, Seed: s.Seed,
		Version: s.Version, Difficulty: s.Difficulty})
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.HoldOutValidation(exp.Data.ValidationFraction, exp.DataSeed()+11); err != nil { // 8 of the 48
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetOutput(os.Stderr)
	log.SetLevel(logrus.WarnLevel)
	return &Env{Exp: exp, Data: ds, Dev: torch.CPU, Log: log, Dir: t.TempDir()}
}

func TestLedger(t *testing.T) {
	var l Ledger
	l.FinetuneRound(64, 2, 32, 0)
	l.FinetuneRound(64, 2, 32, 4) // 4 pilots per device and sample (estimated CSI)
	l.PretrainStep(64, 2, 32, true)
	l.PretrainStep(64, 2, 32, false)
	if l.Rounds != 2 || l.UplinkSymbols != 2*64*2*16 || l.DownlinkSymbols != l.UplinkSymbols || l.UplinkBytes() != 8*l.UplinkSymbols {
		t.Fatalf("ledger %+v", l)
	}
	if l.PilotSymbols != 64*2*4 {
		t.Fatalf("pilot symbols %d, want %d", l.PilotSymbols, 64*2*4)
	}
	if l.HypotheticalPretrainSymbols != 64*2*16 {
		t.Fatalf("hypothetical %d", l.HypotheticalPretrainSymbols)
	}
}

func TestPretrainThenFinetune(t *testing.T) {
	defer torch.LockThread()()
	env := tinyEnv(t)
	for _, m := range []string{MethodProposed, MethodSimCLR, MethodBarlow} {
		dir := filepath.Join(env.Dir, "pretrain", m)
		path, err := env.Pretrain(m, false)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		enc, _, err := safetensors.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := enc["depth.trunk.layer4.1.bn2.running_var"]; !ok || len(enc) == 0 {
			t.Fatalf("%s: encoders file lacks the depth trunk", m)
		}
		for _, x := range enc {
			x.Free()
		}
		for _, mod := range []string{"rgb", "depth"} {
			if _, err := os.Stat(filepath.Join(dir, "resnet18-"+mod+".safetensors")); err != nil {
				t.Fatal(err)
			}
		}
		m2, err := LoadMetrics(dir, nil, 100)
		if err != nil || len(m2.Rows) != 2 {
			t.Fatalf("%s metrics: %v rows, %v", m, len(m2.Rows), err)
		}
		cross := m != MethodSimCLR && m != MethodBarlow // baselines default to intra-modal pairs
		if got := m2.Rows[1].HypotheticalPretrainSymbols; (got > 0) != cross || m2.Rows[1].Rounds != 0 {
			t.Fatalf("%s: pre-training ledger %+v", m, m2.Rows[1].Ledger)
		}
	}
	job := FinetuneJob{Method: MethodProposed, LabelFraction: 0.5, TrainSNR: 10,
		Init: filepath.Join(env.Dir, "pretrain", MethodProposed, EncodersFile)}
	dir := job.Dir(env.Dir)
	rows, err := env.Finetune(job, false)
	if err != nil {
		t.Fatal(err)
	}
	// 50% of the 40 training labels = 20 samples → 1 batch of 16 per epoch; 2 devices × 16 × K/2 symbols per round.
	last := rows[len(rows)-1]
	if len(rows) != 3 || last.Rounds != 3 || last.UplinkSymbols != 3*2*16*4 || last.UplinkBytes != 8*last.UplinkSymbols {
		t.Fatalf("rows %d, last %+v", len(rows), last.Ledger)
	}
	for _, k := range []string{"0", "10"} {
		if a, ok := last.Accuracy[k]; !ok || a < 0 || a > 1 {
			t.Fatalf("accuracy at %s dB: %v", k, last.Accuracy)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "metrics.csv"))
	if !strings.Contains(string(csv), "acc_snr_10,acc_std_snr_10,val_acc_snr_10") || strings.Count(string(csv), "\n") != 4 {
		t.Fatalf("metrics.csv:\n%s", csv)
	}
	acc, err := env.EvaluateCheckpoint(dir)
	if err != nil || acc.Mean["10"] != last.Accuracy["10"] || acc.Std["10"] != last.AccuracyStd["10"] {
		t.Fatalf("evaluating the checkpoint gave %v (%v), the run %v", acc, err, last.Accuracy)
	}
}

// supervisedJob is the fine-tuning job the resume and divergence tests run.
var supervisedJob = FinetuneJob{Method: MethodSupervised, LabelFraction: 1, TrainSNR: 5}

// finetuneRows runs supervisedJob in the run folder run.
func finetuneRows(t *testing.T, env *Env, run string, resume bool) ([]Row, error) {
	t.Helper()
	e := *env
	e.Dir = run
	return e.Finetune(supervisedJob, resume)
}

func TestResumeIsExact(t *testing.T) {
	defer torch.LockThread()()
	env := tinyEnv(t, "channel.fading=rayleigh", "finetune.augment.color_jitter=0.5")
	straight, err := finetuneRows(t, env, filepath.Join(env.Dir, "a"), false)
	if err != nil {
		t.Fatal(err)
	}
	again, err := finetuneRows(t, env, filepath.Join(env.Dir, "b"), false)
	if err != nil {
		t.Fatal(err)
	}
	env.StopAfter = 1
	if _, err := finetuneRows(t, env, filepath.Join(env.Dir, "c"), false); !errors.Is(err, ErrStopped) {
		t.Fatalf("StopAfter: %v", err)
	}
	env.StopAfter = 0
	resumed, err := finetuneRows(t, env, filepath.Join(env.Dir, "c"), true)
	if err != nil {
		t.Fatal(err)
	}
	for name, rows := range map[string][]Row{"same seed": again, "resumed": resumed} {
		if len(rows) != len(straight) {
			t.Fatalf("%s: %d rows, want %d", name, len(rows), len(straight))
		}
		for i := range rows {
			a, b := straight[i], rows[i]
			if a.Loss != b.Loss || a.Accuracy["0"] != b.Accuracy["0"] || a.Accuracy["10"] != b.Accuracy["10"] || a.Ledger != b.Ledger {
				t.Fatalf("%s: epoch %d differs: %+v vs %+v", name, i+1, b, a)
			}
		}
	}
	// A finished job is reused, not retrained.
	reused, err := finetuneRows(t, env, filepath.Join(env.Dir, "c"), true)
	if err != nil || len(reused) != len(straight) || reused[2].Loss != straight[2].Loss {
		t.Fatalf("reuse: %v %v", err, reused)
	}
}

func TestDivergenceIsReportedAndMetricsKept(t *testing.T) {
	defer torch.LockThread()()
	env := tinyEnv(t)
	dir := filepath.Join(env.Dir, "div")
	env.StopAfter = 1
	if _, err := finetuneRows(t, env, dir, false); !errors.Is(err, ErrStopped) {
		t.Fatal(err)
	}
	env.StopAfter = 0
	env.Exp.Finetune.Optimizer.LR = 1e30
	env.Exp.Finetune.Optimizer.Schedule = "constant"
	_, err := finetuneRows(t, env, dir, true)
	var div *DivergedError
	if !errors.As(err, &div) || div.Method != MethodSupervised || div.Epoch != 2 || !strings.Contains(err.Error(), "non-finite") {
		t.Fatalf("want divergence at epoch 2, got %v", err)
	}
	m, err := LoadMetrics(supervisedJob.Dir(dir), env.Exp.Channel.SNRsDB, 100)
	if err != nil || len(m.Rows) != 1 || m.Rows[0].Epoch != 1 {
		t.Fatalf("metrics before the divergence: %v %v", m, err)
	}
	env.Exp.Pretrain.Optimizer.LR = 1e30
	env.Exp.Pretrain.Optimizer.Schedule = "constant"
	if _, err := env.Pretrain(MethodBarlow, false); !errors.As(err, &div) || div.Stage != "pretrain" {
		t.Fatalf("pre-training with a huge LR: %v", err)
	}
}

func TestRunProtocol(t *testing.T) {
	defer torch.LockThread()()
	env := tinyEnv(t, "methods=[proposed, supervised]", "data.label_fractions=[1, 0.5]", "finetune.epochs=2", "pretrain.epochs=1")
	res, err := env.RunProtocol(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Curves) != 2*2*2 { // fractions × SNRs × methods
		t.Fatalf("%d curves", len(res.Curves))
	}
	for _, c := range res.Curves {
		if len(c.Accuracy) != 2 || len(c.ValAccuracy) != 2 || len(c.AccuracyStd) != 2 || c.Rounds[1] <= c.Rounds[0] || c.Diverged != "" {
			t.Fatalf("curve %+v", c)
		}
	}
	found := map[string]bool{}
	for _, p := range res.Probes {
		found[p.Method+"/"+p.Features+"/"+p.Target] = true
	}
	for _, want := range []string{"random-init/rgb/class", "proposed/rgb+depth/class", "proposed/depth.unique/depth_only", "proposed/shared (all)/shared"} {
		if !found[want] {
			t.Fatalf("probe %s missing: %v", want, found)
		}
	}
	if _, err := os.Stat(filepath.Join(env.Dir, "pretrain", "supervised")); !os.IsNotExist(err) {
		t.Fatal("supervised baseline was pre-trained")
	}
}

func TestBenchAndMemoryFlatness(t *testing.T) {
	defer torch.LockThread()()
	env := tinyEnv(t, "performance.channels_last=on")
	res, err := env.Bench(BenchConfig{Batch: 8, Size: 16, Width: 8, Steps: 3, Warmup: 1, Repeats: 2, CheckFlat: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Step != "pretrain" || res[1].Step != "finetune" || res[2].Step != "eval" || res[2].Batch != 10 {
		t.Fatalf("results %+v", res)
	}
	for _, r := range res {
		if r.MsPerStep <= 0 || len(r.RepeatsMs) != 2 || r.SamplesPerSec <= 0 || r.PeakBytes <= 0 {
			t.Fatalf("result %+v", r)
		}
	}
	only, err := env.Bench(BenchConfig{Batch: 8, Size: 16, Width: 8, Steps: 1, Warmup: 0, Repeats: 1, Only: "finetune"})
	if err != nil || len(only) != 1 || only[0].Step != "finetune" {
		t.Fatalf("only finetune: %v %+v", err, only)
	}
}

func TestDivergenceFoundWithSparseLossReads(t *testing.T) {
	defer torch.LockThread()()
	env := tinyEnv(t, "performance.sync_every=1000", "finetune.optimizer.lr=1e30", "finetune.optimizer.schedule=constant")
	_, err := finetuneRows(t, env, filepath.Join(env.Dir, "sparse"), false)
	var div *DivergedError
	if !errors.As(err, &div) || div.Epoch != 1 {
		t.Fatalf("want divergence reported at the end of epoch 1, got %v", err)
	}
}

// performance.amp must reach every forward pass of the encoders: pre-training, fine-tuning and evaluation.
// bf16 changes each result a little; a pass that ignores the setting gives exactly the fp32 value.
func TestAutocastReachesEveryForwardPass(t *testing.T) {
	defer torch.LockThread()()
	type out struct{ pre, fine, logit float64 }
	results := map[string]out{}
	for _, amp := range []string{"off", "on"} {
		env := tinyEnv(t, "performance.amp="+amp)
		sys := NewSystem(env.Exp.Model, env.Data.Modalities, len(env.Data.ClassNames), 1)
		env.prepare(sys)
		torch.WithScope(func() {
			idx := torch.Arange(0, 16, 1, torch.Int64, torch.CPU)
			batch := func() []*torch.Tensor { xs, _ := env.Data.Train.Batch(idx); return xs }
			_, y := env.Data.Train.Batch(idx)
			gen := func(s uint64) *torch.Generator { return torch.NewGenerator(torch.CPU, s) }
			var o out
			o.pre = env.pretrainBatchLoss(sys, MethodProposed, batch(), data.Augment{}, 16, gen(1)).Item()
			o.fine = env.finetuneBatchLoss(sys, batch(), y, data.Augment{}, 16, 10, gen(2), gen(3)).Item()
			torch.NoGrad(func() { o.logit = env.transmitAndDecode(sys, batch(), false, 10, gen(4)).Abs().Sum().Item() })
			results[amp] = o
		})
	}
	f32, bf16 := results["off"], results["on"]
	for _, c := range []struct {
		name string
		a, b float64
	}{{"pre-training loss", f32.pre, bf16.pre}, {"fine-tuning loss", f32.fine, bf16.fine}, {"evaluation logits", f32.logit, bf16.logit}} {
		rel := math.Abs(c.a-c.b) / math.Abs(c.a)
		if rel == 0 || rel > 0.1 {
			t.Errorf("%s: fp32 %v, bf16 autocast %v (relative difference %.2g): want a small non-zero difference", c.name, c.a, c.b, rel)
		}
	}
}

func TestCountProtocol(t *testing.T) {
	exp, err := config.Load("../configs/paper-nyud2.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	// 3 self-supervised methods × 500 epochs × 12 steps (795/64); 4 methods × 3 SNRs × 500 × 12 fine-tuning
	// steps; 100 evaluations per job (every 5 epochs) × 3 SNRs × 3 batches of 256 (654 images).
	w := CountProtocol(exp, 795, 654)
	want := ProtocolWork{PretrainSteps: 3 * 500 * 12, FinetuneSteps: 12 * 500 * 12, EvalBatches: 12 * 100 * 3 * 3}
	if w != want {
		t.Fatalf("paper protocol: %+v, want %+v", w, want)
	}
	if d := w.Projected(10, 5, 2); d != time.Duration(18000*10+72000*5+10800*2)*time.Millisecond {
		t.Fatalf("projected %v", d)
	}
	// Half the labels: 398 samples → 6 steps per epoch; two fractions add up.
	exp.Data.LabelFractions = []float64{1, 0.5}
	if w := CountProtocol(exp, 795, 654); w.FinetuneSteps != 12*500*(12+6) || w.EvalBatches != 2*want.EvalBatches {
		t.Fatalf("two label fractions: %+v", w)
	}
}

// On CUDA, the training steps never make the host wait for the GPU (so it can queue work ahead), with the
// paper's performance settings: bf16 autocast, channels_last, loss read once per epoch.
func TestStepsDoNotWaitForTheGPU(t *testing.T) {
	defer torch.LockThread()()
	if !torch.CUDAAvailable() {
		if os.Getenv("TG_REQUIRE_CUDA") == "1" {
			t.Fatal("TG_REQUIRE_CUDA=1 but CUDA is not usable")
		}
		t.Skip("no CUDA device")
	}
	env := tinyEnv(t, "device=cuda", "pretrain.augment.blur=0.5", "pretrain.augment.depth_dropout=0.1")
	env.Dev = torch.CUDA(0) // Bench makes its own data on the device
	res, err := env.Bench(BenchConfig{Batch: 8, Size: 32, Width: 8, Steps: 3, Warmup: 2, Repeats: 1, CheckSync: true, CheckFlat: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("results %+v", res)
	}
}

// channel.train_snr_range_db draws each batch's training SNR from the range instead of the job's SNR.
func TestTrainingSNRRange(t *testing.T) {
	defer torch.LockThread()()
	loss := func(overrides ...string) float64 {
		env := tinyEnv(t, overrides...)
		rows, err := finetuneRows(t, env, filepath.Join(env.Dir, "r"), false) // the job's own SNR is 5 dB
		if err != nil {
			t.Fatal(err)
		}
		return rows[len(rows)-1].Loss
	}
	fixed := loss("channel.snrs_db=[5]")
	collapsed := loss("channel.snrs_db=[5]", "channel.train_snr_range_db=[5, 5]")
	low := loss("channel.snrs_db=[5]", "channel.train_snr_range_db=[-20, -20]")
	if math.Abs(fixed-collapsed) > 1e-4*math.Abs(fixed) {
		t.Fatalf("range [5, 5]: loss %v, the fixed 5 dB job %v", collapsed, fixed)
	}
	if math.Abs(fixed-low) < 1e-3*math.Abs(fixed) {
		t.Fatalf("range [-20, -20] trained like 5 dB: loss %v vs %v", low, fixed)
	}
}

// TestCheckpointGenerations: each save commits a whole generation and keeps the previous one; a corrupted
// newest generation is detected by its checksum and resuming falls back to the previous one, which still
// reproduces the uninterrupted run exactly.
func TestCheckpointGenerations(t *testing.T) {
	defer torch.LockThread()()
	env := tinyEnv(t)
	straight, err := finetuneRows(t, env, filepath.Join(env.Dir, "straight"), false)
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(env.Dir, "broken")
	env.StopAfter = 2
	if _, err := finetuneRows(t, env, run, false); !errors.Is(err, ErrStopped) {
		t.Fatal(err)
	}
	env.StopAfter = 0
	job := supervisedJob.Dir(run)
	gens, _ := generations(job)
	if len(gens) != 2 || gens[0].seq != 2 || gens[1].seq != 1 {
		t.Fatalf("generations after 2 epochs: %+v", gens)
	}
	// Flip 4 bytes in the middle of the newest state.
	state := filepath.Join(gens[0].path, StateFile)
	b, _ := os.ReadFile(state)
	for i := len(b) / 2; i < len(b)/2+4; i++ {
		b[i] ^= 0xff
	}
	os.WriteFile(state, b, 0o644)
	ck, skipped, err := newestCheckpoint(job)
	if err != nil || ck.Info.Epoch != 1 || len(skipped) != 1 || !strings.Contains(skipped[0], "corrupted") {
		t.Fatalf("fallback: epoch %d, skipped %v, %v", ck.Info.Epoch, skipped, err)
	}
	resumed, err := finetuneRows(t, env, run, true)
	if err != nil {
		t.Fatal(err)
	}
	for i := range straight {
		if straight[i].Loss != resumed[i].Loss || straight[i].Accuracy["10"] != resumed[i].Accuracy["10"] {
			t.Fatalf("epoch %d after the fallback differs: %v vs %v", i+1, resumed[i].Loss, straight[i].Loss)
		}
	}
	gens, _ = generations(job)
	if len(gens) != keepGenerations {
		t.Fatalf("%d generations kept, want %d", len(gens), keepGenerations)
	}
	// With every generation damaged, resuming says so instead of starting over silently.
	for _, g := range gens {
		os.Remove(filepath.Join(g.path, CheckpointJSON))
	}
	if _, _, err := newestCheckpoint(job); err == nil || !strings.Contains(err.Error(), "every checkpoint") {
		t.Fatalf("all damaged: %v", err)
	}
}

// TestInterruptStopsBetweenSteps: a signal ends the job after the current step with an *InterruptedError
// that names the kept checkpoint; resuming reproduces the uninterrupted run.
func TestInterruptStopsBetweenSteps(t *testing.T) {
	defer torch.LockThread()()
	env := tinyEnv(t)
	straight, err := finetuneRows(t, env, filepath.Join(env.Dir, "straight"), false)
	if err != nil {
		t.Fatal(err)
	}
	steps := 0
	env.Interrupted = func() os.Signal {
		if steps++; steps == 3 { // in epoch 2 (2 steps per epoch)
			return os.Interrupt
		}
		return nil
	}
	run := filepath.Join(env.Dir, "interrupted")
	_, err = finetuneRows(t, env, run, false)
	var ie *InterruptedError
	if !errors.As(err, &ie) || ie.Epoch != 2 || ie.Saved != 1 || !strings.Contains(err.Error(), "epoch 1") {
		t.Fatalf("interrupt: %v", err)
	}
	env.Interrupted = nil
	resumed, err := finetuneRows(t, env, run, true)
	if err != nil || len(resumed) != len(straight) || resumed[2].Loss != straight[2].Loss {
		t.Fatalf("resume after the interrupt: %v", err)
	}
}

// TestSmallDataAccounting: a pre-training batch larger than the data counts the samples actually used, and
// a label fraction below one per class reports the labels actually used.
func TestSmallDataAccounting(t *testing.T) {
	defer torch.LockThread()()
	env := tinyEnv(t, "pretrain.batch=100", "pretrain.epochs=1", "finetune.epochs=1")
	if _, err := env.Pretrain(MethodProposed, false); err != nil {
		t.Fatal(err)
	}
	m, err := LoadMetrics(filepath.Join(env.Dir, "pretrain", MethodProposed), nil, 10)
	if err != nil || len(m.Rows) != 1 {
		t.Fatal(err)
	}
	// One step over all 40 training samples: 40 samples × 2 devices × K/2 = 4 symbols.
	if got := m.Rows[0].HypotheticalPretrainSymbols; got != 40*2*4 {
		t.Fatalf("pre-training symbols %d, want %d", got, 40*2*4)
	}
	rows, err := env.Finetune(FinetuneJob{Method: MethodSupervised, LabelFraction: 0.001, TrainSNR: 5}, false)
	if err != nil || rows[0].Labels != 8 { // one per class
		t.Fatalf("labels used: %v, %v", rows, err)
	}
}

// TestNoSelectionReadsTheTestSplit runs the protocol twice, the second time with the test labels shuffled:
// every selection (epoch, best validation accuracy, target, rounds to it) must come out the same, while the
// reported test accuracy changes. It fails if anything selects on the test split.
func TestNoSelectionReadsTheTestSplit(t *testing.T) {
	defer torch.LockThread()()
	args := []string{"methods=[proposed, supervised]", "finetune.epochs=4", "pretrain.epochs=1", "probe.enabled=false"}
	a := tinyEnv(t, args...)
	b := tinyEnv(t, args...)
	perm := torch.RandPerm(torch.NewGenerator(torch.CPU, 99), b.Data.Test.N(), torch.CPU)
	old := b.Data.Test.Labels
	b.Data.Test.Labels = old.IndexSelect(0, perm).Keep()
	old.Free()
	ra, err := a.RunProtocol(false)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.RunProtocol(false)
	if err != nil {
		t.Fatal(err)
	}
	sa, sb := report.Summarize(ra.Curves), report.Summarize(rb.Curves)
	changed := false
	for i := range sa {
		x, y := sa[i], sb[i]
		if x.SelectedEpoch != y.SelectedEpoch || x.ValBest != y.ValBest || !sameNum(x.Target, y.Target) || x.RoundsToTarget != y.RoundsToTarget {
			t.Fatalf("%s at %g dB: a selection changed with the test labels: %+v vs %+v", x.Method, x.SNR, x, y)
		}
		changed = changed || x.Final != y.Final
	}
	if !changed {
		t.Fatal("shuffling the test labels changed no reported accuracy: the test split was not evaluated")
	}
}

func sameNum(a, b report.Num) bool { return a == b || (a != a && b != b) }

// TestCountPretrainExchange: with communication.count_pretrain_exchange the proposed method's curve starts
// after its Stage-I exchange (one round trip per step), the supervised baseline's does not.
func TestCountPretrainExchange(t *testing.T) {
	defer torch.LockThread()()
	env := tinyEnv(t, "methods=[proposed, supervised]", "finetune.epochs=1", "pretrain.epochs=1", "probe.enabled=false",
		"channel.snrs_db=[10]", "communication.count_pretrain_exchange=true")
	res, err := env.RunProtocol(false)
	if err != nil {
		t.Fatal(err)
	}
	prop, sup := res.Curves[0], res.Curves[1]
	// 40 training samples, batch 16: 2 steps per epoch in both stages; 2 devices × 16 × K/2 symbols each.
	if prop.PretrainRounds != 2 || prop.Rounds[0] != 4 || sup.Rounds[0] != 2 || prop.PretrainUplinkBytes != 2*2*16*4*8 ||
		prop.UplinkBytes != sup.UplinkBytes+prop.PretrainUplinkBytes {
		t.Fatalf("proposed %+v\nsupervised %+v", prop, sup)
	}
	if md := report.Markdown("x", report.Summarize(res.Curves)); !strings.Contains(md, "Rounds include the feature exchange") {
		t.Fatalf("the summary does not say the exchange is counted:\n%s", md)
	}
}
