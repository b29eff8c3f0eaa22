package train

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/semcom/semcom/channel"
	"github.com/semcom/semcom/data"
	"github.com/semcom/semcom/runfolder"
	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/dist"
	"github.com/semcom/semcom/torch/safetensors"
)

// FinetuneJob is one Stage-II run.
type FinetuneJob struct {
	Method        string
	LabelFraction float64
	TrainSNR      float64 // dB; ignored when the config draws training SNRs from a range
	Init          string  // pre-trained encoders (EncodersFile); empty trains from scratch
}

// Name is the job's folder name below <run>/finetune.
func (j FinetuneJob) Name() string {
	return fmt.Sprintf("%s-labels%g-snr%g", j.Method, 100*j.LabelFraction, j.TrainSNR)
}

// Dir is the job's folder in a run folder.
func (j FinetuneJob) Dir(run string) string { return filepath.Join(run, "finetune", j.Name()) }

func (e *Env) channelConfig() channel.Config {
	c := e.Exp.Channel
	return channel.Config{Fading: channel.Fading(c.Fading), RicianK: c.RicianK, Equalizer: channel.Equalizer(c.Equalizer),
		PowerNorm: channel.PowerNorm(c.PowerNorm), Noiseless: c.Noiseless,
		CSI: channel.CSI(c.CSI), Pilots: c.Pilots, CSIErrorVar: c.CSIErrorVar,
		Erasure: channel.Erasure{P: c.Erasure.P, PGB: c.Erasure.PGB, PBG: c.Erasure.PBG}}
}

// snrFor is the SNR device m transmits at: the job's (or a draw from the training range) plus the
// modality's offset.
func (e *Env) snrFor(mod string, base float64) float64 { return base + e.Exp.Channel.SNROffsetDB[mod] }

// transmitAndDecode runs eq. (2)–(4) for a batch: every device's features cross the channel, the server
// concatenates what it receives and decodes logits.
func (e *Env) transmitAndDecode(sys *System, xs []*torch.Tensor, train bool, snr float64, g *torch.Generator) *torch.Tensor {
	ch := e.channelConfig()
	received := make([]*torch.Tensor, len(sys.Encoders))
	for m, enc := range sys.Encoders {
		z := e.gather(e.encode(enc, xs[m], train))                        // z^m (eq. 1), bf16/NHWC as configured; the global batch
		received[m] = ch.Transmit(z, e.snrFor(enc.Modality.Name, snr), g) // ẑ^m (eq. 2), the single process's noise draws
	}
	return sys.Decoder.Forward(torch.Cat(received, 1), train) // g(concat(ẑ)) (eqs. 3–4)
}

// Accuracy is an evaluation at each SNR (keyed by SNRKey): the mean over the channel-noise draws and their
// standard deviation.
type Accuracy struct{ Mean, Std map[string]float64 }

// Evaluate returns the accuracy on a split at each SNR, averaged over eval.noise_draws draws of the channel
// noise. The encoders run once per batch; each draw sends their features through the channel again. Draw d
// of an SNR comes from a generator seeded by channel.eval_seed, the SNR's value and d, so repeated
// evaluations of the same model see the same noise, whatever other SNRs are evaluated with it.
func (e *Env) Evaluate(sys *System, split *data.Split, snrs []float64) Accuracy {
	n := split.N()
	batch := int64(e.Exp.Eval.Batch)
	size := e.imageSize()
	draws := max(1, e.Exp.Eval.NoiseDraws)
	ch := e.channelConfig()
	gens := make([][]*torch.Generator, len(snrs))
	correct := make([][]*torch.Tensor, len(snrs)) // counted on the device, read once at the end
	for i, snr := range snrs {
		for d := range draws {
			gens[i] = append(gens[i], torch.NewGenerator(e.Dev, evalSeed(e.Exp.Channel.EvalSeed, snr)+uint64(d)*0x9e3779b97f4a7c15))
			correct[i] = append(correct[i], torch.Zeros(torch.Float32, e.Dev).Keep())
		}
	}
	torch.NoGrad(func() {
		for s := int64(0); s < n; s += batch {
			torch.WithScope(func() {
				idx := torch.Arange(float64(s), float64(min(n, s+batch)), 1, torch.Int64, e.Dev)
				rows := idx.Size(0)
				if e.Group != nil { // each rank encodes an equal shard: pad with the last sample, drop it after
					if rem := rows % int64(e.Group.World); rem != 0 {
						idx = torch.Cat([]*torch.Tensor{idx, idx.Narrow(0, rows-1, 1).Repeat(int64(e.Group.World) - rem)}, 0)
					}
				}
				xs, y := split.Batch(idx)
				y = y.Narrow(0, 0, rows)
				z := make([]*torch.Tensor, len(sys.Encoders))
				for m, enc := range sys.Encoders {
					if xs[m].Size(2) != size {
						xs[m] = torch.ResizeBilinear(xs[m], size, size, false)
					}
					z[m] = e.encode(enc, enc.Modality.Normalize(e.shard(xs[m])), false) // z^m (eq. 1)
					if e.Group != nil {
						all, err := e.Group.AllGather(z[m])
						if err != nil {
							panic(err)
						}
						z[m] = all.Narrow(0, 0, rows)
					}
				}
				for i, snr := range snrs {
					for d := range draws {
						received := make([]*torch.Tensor, len(z))
						for m, enc := range sys.Encoders {
							received[m] = ch.Transmit(z[m], e.snrFor(enc.Modality.Name, snr), gens[i][d]) // ẑ^m (eq. 2)
						}
						pred := sys.Decoder.Forward(torch.Cat(received, 1), false).ArgMax(1) // eqs. 3–4
						correct[i][d].Add_(pred.Eq(y).ToDType(torch.Float32).Sum())
					}
				}
			})
		}
	})
	acc := Accuracy{Mean: map[string]float64{}, Std: map[string]float64{}}
	for i, snr := range snrs {
		var sum, sq float64
		for d := range draws {
			a := correct[i][d].Item() / float64(n)
			correct[i][d].Free()
			sum, sq = sum+a, sq+a*a
		}
		mean := sum / float64(draws)
		acc.Mean[SNRKey(snr)] = mean
		acc.Std[SNRKey(snr)] = math.Sqrt(max(0, sq/float64(draws)-mean*mean))
	}
	return acc
}

// Finetune runs Stage II: encoders and server decoder trained jointly through the channel with labels
// (eq. 16), evaluating on the test split at every protocol SNR. It returns the metrics rows.
func (e *Env) Finetune(job FinetuneJob, resume bool) ([]Row, error) {
	x := e.Exp
	log := e.Log.WithFields(map[string]any{"stage": "finetune", "method": job.Method, "labels": job.LabelFraction, "snr": job.TrainSNR})
	snrs := x.Channel.SNRsDB
	jf, err := e.openJob("finetune", job.Name())
	if err != nil {
		return nil, err
	}
	defer jf.Close()
	dir := jf.Dir
	var ck checkpoint
	if resume {
		if ck, err = e.resumePoint(dir, log); err != nil {
			return nil, err
		}
	}
	if e.rank0() {
		if err := checkInit(jf, job.Init, ck.Path != ""); err != nil {
			return nil, err
		}
	}
	if ck.Info.Complete { // only a resumed job has a checkpoint
		m, err := LoadMetrics(dir, snrs, ck.Info.Epoch)
		if err != nil {
			return nil, err
		}
		log.Info("already complete; reusing its metrics")
		return m.Rows, nil
	}
	seed := x.FinetuneSeed()
	sys := NewSystem(x.Model, e.Data.Modalities, len(e.Data.ClassNames), seed)
	if job.Init != "" {
		enc, _, err := safetensors.Load(job.Init)
		if err != nil {
			return nil, err
		}
		err = sys.Load(enc, "encoder")
		torch.FreeAll(enc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", job.Init, err)
		}
	} else if x.Model.Pretrained != "" {
		for _, enc := range sys.Encoders {
			if _, err := enc.Trunk.LoadPretrained(x.Model.Pretrained); err != nil {
				return nil, fmt.Errorf("model.pretrained: %w", err)
			}
		}
	}
	e.prepare(sys)
	idx, err := data.LabelFraction(e.Data.Train.Labels.Int64s(), job.LabelFraction, x.DataSeed()+7)
	if err != nil {
		return nil, err
	}
	train := e.Data.Train
	if used := float64(len(idx)) / float64(train.N()); math.Abs(used-job.LabelFraction) > 0.005 {
		// Rounding per class, with at least one label per class, can differ from the asked fraction.
		log.Warnf("%g%% of the labels asked for, %.2f%% used: %d of %d samples (each class keeps a rounded share, at least one)",
			100*job.LabelFraction, 100*used, len(idx), train.N())
	}
	if len(idx) < int(train.N()) {
		train = train.Subset(idx)
		defer train.Free()
	}
	params := sys.Params("encoder", "decoder")
	opt := newOptimizer(x.Finetune.Optimizer, params)
	gens := map[string]*torch.Generator{"data": torch.NewGenerator(torch.CPU, seed+201), "augment": torch.NewGenerator(e.Dev, seed+202),
		"channel": torch.NewGenerator(e.Dev, seed+203), "snr": torch.NewGenerator(torch.CPU, seed+204)}
	n, batch := train.N(), int64(x.Finetune.Batch)
	spe := stepsPerEpoch(n, batch)
	sched := newSchedule(x.Finetune.Optimizer, spe)
	total := x.Finetune.Epochs * spe
	var ledger Ledger
	startEpoch := 0
	clk := clock{start: time.Now()}
	metrics := NewMetrics(dir, snrs)
	metrics.Discard = !e.rank0()
	if ck.Path != "" {
		if err := ck.restore(func(m map[string]*torch.Tensor) error { return sys.Load(m, "encoder", "decoder") }, opt, gens); err != nil {
			return nil, err
		}
		startEpoch, ledger, clk.prior = ck.Info.Epoch, ck.Info.Ledger, ck.Info.WallSeconds
		if metrics, err = LoadMetrics(dir, snrs, ck.Info.Epoch); err != nil {
			return nil, err
		}
		metrics.Discard = !e.rank0()
	}
	aug := augmentOf(x.Finetune.Augment)
	size := e.imageSize()
	rng := x.Channel.TrainSNRRangeDB
	tr := e.tracker("finetune-" + job.Name())
	defer tr.Close()
	bar := e.bar(fmt.Sprintf("finetune %s %g%% %gdB", job.Method, 100*job.LabelFraction, job.TrainSNR), total)
	defer bar.Finish()
	bar.Add(startEpoch*spe, "")
	steps := &stageSteps{stage: "finetune", method: job.Method, opt: opt, params: params, sched: sched, total: total,
		clip: x.Finetune.GradClip, grads: e.gradSync(params), data: gens["data"], n: n, batch: batch, bar: bar}
	if steps.grads != nil {
		defer steps.grads.Close()
	}
	lossOf := func(ix *torch.Tensor) *torch.Tensor {
		snr := job.TrainSNR
		if len(rng) == 2 {
			snr = torch.Uniform(gens["snr"], rng[0], rng[1]+1e-9, torch.Float64, torch.CPU).Item()
		}
		xs, y := train.Batch(ix)
		return e.finetuneBatchLoss(sys, xs, y, aug, size, snr, gens["augment"], gens["channel"])
	}
	pilots := e.channelConfig().PilotUses()
	countRound := func() { ledger.FinetuneRound(min(batch, n), int64(len(sys.Encoders)), sys.K, pilots) }
	step := startEpoch * spe
	saved := startEpoch
	for epoch := startEpoch + 1; epoch <= x.Finetune.Epochs; epoch++ {
		mean, lr, err := e.epoch(steps, epoch, &step, lossOf, countRound)
		if err != nil {
			return metrics.Rows, e.interrupted(err, "finetune "+job.Name(), saved)
		}
		row := Row{Stage: "finetune", Method: job.Method, LabelFraction: job.LabelFraction, Labels: len(idx), TrainSNR: &job.TrainSNR,
			Epoch: epoch, Loss: mean, LR: lr, Ledger: ledger}
		if epoch%x.Eval.Every == 0 || epoch == x.Finetune.Epochs {
			// With local BatchNorm each rank's running statistics are its own: evaluate (and checkpoint)
			// with rank 0's on every rank, as DDP broadcasts buffers from rank 0.
			if e.Group != nil && !x.Model.SyncBN {
				if err := dist.Broadcast(e.Group, sys.Buffers(), 0); err != nil {
					return metrics.Rows, fmt.Errorf("data-parallel collective: %w", err)
				}
			}
			if e.Data.Val != nil {
				row.ValAccuracy = e.Evaluate(sys, e.Data.Val, snrs).Mean
			}
			test := e.Evaluate(sys, e.Data.Test, snrs)
			row.Accuracy, row.AccuracyStd = test.Mean, test.Std
		}
		row.WallSeconds = clk.seconds()
		if err := metrics.Append(row); err != nil {
			return metrics.Rows, err
		}
		track(tr, row, log)
		log.WithFields(map[string]any{"epoch": epoch, "loss": fmt.Sprintf("%.4f", row.Loss), "acc": row.Accuracy,
			"rounds": ledger.Rounds}).Log(e.epochLevel(), "epoch done")
		last := epoch == x.Finetune.Epochs
		stop := e.StopAfter > 0 && epoch == e.StopAfter && !last
		if (epoch%x.Checkpoint.Every == 0 || last || stop) && e.rank0() {
			info := CheckpointInfo{Stage: "finetune", Method: job.Method, Epoch: epoch, Ledger: ledger, WallSeconds: clk.seconds(), BatchNormGroups: e.batchNormGroups(),
				Complete: last, Seed: seed}
			if err := saveCheckpoint(dir, info, sys.StateDict("encoder", "decoder"), opt, gens); err != nil {
				return metrics.Rows, err
			}
			saved = epoch
		}
		if stop {
			return metrics.Rows, ErrStopped
		}
	}
	if steps.grads != nil {
		log.Debugf("gradients: %s", steps.grads)
	}
	return metrics.Rows, nil
}

// evalSeed derives the evaluation-noise seed of an SNR from its value, so that an SNR sees the same noise
// whatever other SNRs are evaluated with it.
func evalSeed(base uint64, snr float64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(SNRKey(snr)))
	return base ^ h.Sum64()
}

// EvaluateCheckpoint loads a fine-tuning checkpoint (a job folder or its checkpoint.safetensors) and
// evaluates it on the test split at the configured SNRs.
func (e *Env) EvaluateCheckpoint(path string) (Accuracy, error) {
	var tensors map[string]*torch.Tensor
	var err error
	if filepath.Ext(path) == ".safetensors" {
		tensors, _, err = safetensors.Load(path)
	} else {
		var ck checkpoint
		var skipped []string
		ck, skipped, err = newestCheckpoint(path)
		for _, s := range skipped {
			e.Log.Warnf("checkpoint damaged, using the previous one: %s", s)
		}
		if errors.Is(err, ErrNoCheckpoint) {
			return Accuracy{}, fmt.Errorf("%s: no checkpoint (name a fine-tuning job folder, or a state.safetensors)", path)
		}
		if err == nil {
			path = filepath.Join(ck.Path, StateFile)
			tensors, _, err = safetensors.Parse(ck.state, path)
		}
	}
	if err != nil {
		return Accuracy{}, err
	}
	defer torch.FreeAll(tensors)
	model := map[string]*torch.Tensor{}
	for n, t := range tensors {
		if rest, ok := strings.CutPrefix(n, "model/"); ok {
			model[rest] = t
		}
	}
	sys := NewSystem(e.Exp.Model, e.Data.Modalities, len(e.Data.ClassNames), e.Exp.Seed)
	if err := sys.Load(model, "encoder", "decoder"); err != nil {
		return Accuracy{}, fmt.Errorf("%s: %w (does the config's model section match the run's?)", path, err)
	}
	e.prepare(sys)
	return e.Evaluate(sys, e.Data.Test, e.Exp.Channel.SNRsDB), nil
}

// checkInit records in job.json the encoders the job starts from, and refuses to go on from others.
func checkInit(jf *runfolder.Job, init string, started bool) error {
	var rec *runfolder.InitRecord
	if init != "" {
		sum := fileSHA256(init)
		if sum == "" {
			return fmt.Errorf("--init %s: cannot be read", init)
		}
		if abs, err := filepath.Abs(init); err == nil {
			init = abs
		}
		rec = &runfolder.InitRecord{Path: init, SHA256: sum}
	}
	if err := jf.CheckInit(rec, started); err != nil {
		return &ResumeMismatchError{err.Error()}
	}
	return nil
}
