package train

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/train/loss"
)

// Methods with a pre-training stage.
const (
	MethodProposed   = "proposed"
	MethodSimCLR     = "simclr"
	MethodBarlow     = "barlow"
	MethodSupervised = "supervised"
)

// EncodersFile is where a finished pre-training job leaves its encoders (all modalities, System names).
const EncodersFile = "encoders.safetensors"

// crossModal reports whether a pre-training method compares modalities (and would exchange features).
func (e *Env) crossModal(method string) bool {
	p := e.Exp.Pretrain
	switch method {
	case MethodProposed:
		return true
	case MethodBarlow:
		return p.Barlow.Pairing == "cross"
	case MethodSimCLR:
		return p.SimCLR.Pairing == "cross"
	}
	return false
}

// pretrainLoss computes one Stage-I loss on a batch: views[m] holds z^m and z̃^m of two augmentations (the
// second is nil when the method needs only one view per modality).
func (e *Env) pretrainLoss(method string, views [][2]*torch.Tensor) *torch.Tensor {
	p := e.Exp.Pretrain
	m := len(views)
	total := torch.Zeros(torch.Float32, e.Dev)
	pairs := func(f func(a, b *torch.Tensor) *torch.Tensor) {
		for i := range m {
			for j := i + 1; j < m; j++ {
				total = total.Add(f(views[i][0], views[j][0]))
			}
		}
	}
	switch method {
	case MethodProposed:
		return loss.Proposed{
			SharedDims:  e.Exp.SharedDims(),
			LambdaIntra: p.Proposed.LambdaIntra, LambdaShared: p.Proposed.LambdaShared, LambdaUnique: p.Proposed.LambdaUnique,
			Normalization: loss.Normalization(p.Proposed.Normalization), Weighting: loss.Weighting(p.Proposed.Weighting),
		}.Loss(views).Total
	case MethodBarlow:
		bt := func(a, b *torch.Tensor) *torch.Tensor {
			return loss.BarlowTwins(a, b, p.Barlow.Lambda, loss.Normalization(p.Barlow.Normalization))
		}
		if p.Barlow.Pairing == "cross" {
			pairs(bt)
		} else {
			for _, v := range views {
				total = total.Add(bt(v[0], v[1]))
			}
		}
	case MethodSimCLR:
		nt := func(a, b *torch.Tensor) *torch.Tensor { return loss.NTXent(a, b, p.SimCLR.Temperature) }
		if p.SimCLR.Pairing == "cross" {
			pairs(nt)
		} else {
			for _, v := range views {
				total = total.Add(nt(v[0], v[1]))
			}
		}
	default:
		panic(fmt.Sprintf("no pre-training for method %q", method))
	}
	return total
}

// Pretrain runs Stage I for a method in <run>/pretrain/<method> (resuming from its newest intact checkpoint
// when resume is set) and returns the path of the pre-trained encoders. No labels are used and nothing is
// sent over the air.
func (e *Env) Pretrain(method string, resume bool) (string, error) {
	x := e.Exp
	log := e.Log.WithFields(map[string]any{"stage": "pretrain", "method": method})
	if method == MethodProposed {
		log.WithFields(map[string]any{"k_sha": e.Exp.SharedDims(), "loss_dims": e.Exp.LossDims()}).Info("shared block of the proposed loss")
	}
	job, err := e.openJob("pretrain", method)
	if err != nil {
		return "", err
	}
	defer job.Close()
	dir := job.Dir
	out := filepath.Join(dir, EncodersFile)
	var ck checkpoint
	if resume {
		if ck, err = e.resumePoint(dir, log); err != nil {
			return "", err
		}
		if ck.Info.Complete && outputsIntact(dir, ck.Info.Outputs) {
			log.Info("already complete; reusing ", out)
			return out, nil
		} else if ck.Info.Complete {
			log.Warn("exported encoders are missing or damaged; exporting them again from the final checkpoint")
		}
	}
	seed := x.PretrainSeed()
	sys := NewSystem(x.Model, e.Data.Modalities, len(e.Data.ClassNames), seed)
	if x.Model.Pretrained != "" {
		for _, enc := range sys.Encoders {
			if _, err := enc.Trunk.LoadPretrained(x.Model.Pretrained); err != nil {
				return "", fmt.Errorf("model.pretrained: %w", err)
			}
		}
	}
	e.prepare(sys)
	params := sys.Params("encoder", "projector")
	opt := newOptimizer(x.Pretrain.Optimizer, params)
	gens := map[string]*torch.Generator{"data": torch.NewGenerator(torch.CPU, seed+101), "augment": torch.NewGenerator(e.Dev, seed+102)}
	n, batch := e.Data.Train.N(), int64(x.Pretrain.Batch)
	spe := stepsPerEpoch(n, batch)
	sched := newSchedule(x.Pretrain.Optimizer, spe)
	total := x.Pretrain.Epochs * spe
	var ledger Ledger
	startEpoch := 0
	clk := clock{start: time.Now()}
	metrics := NewMetrics(dir, nil)
	metrics.Discard = !e.rank0()
	if ck.Path != "" {
		if err := ck.restore(func(m map[string]*torch.Tensor) error { return sys.Load(m, "encoder", "projector") }, opt, gens); err != nil {
			return "", err
		}
		startEpoch, ledger, clk.prior = ck.Info.Epoch, ck.Info.Ledger, ck.Info.WallSeconds
		if metrics, err = LoadMetrics(dir, nil, ck.Info.Epoch); err != nil {
			return "", err
		}
		metrics.Discard = !e.rank0()
	}
	aug := augmentOf(x.Pretrain.Augment)
	size := e.imageSize()
	tr := e.tracker("pretrain-" + method)
	defer tr.Close()
	bar := e.bar("pretrain "+method, total)
	defer bar.Finish()
	bar.Add(startEpoch*spe, "")
	steps := &stageSteps{stage: "pretrain", method: method, opt: opt, params: params, sched: sched, total: total,
		clip: x.Pretrain.GradClip, grads: e.gradSync(params), data: gens["data"], n: n, batch: batch, bar: bar}
	if steps.grads != nil {
		defer steps.grads.Close()
	}
	lossOf := func(ix *torch.Tensor) *torch.Tensor {
		xs, _ := e.Data.Train.Batch(ix)
		return e.pretrainBatchLoss(sys, method, xs, aug, size, gens["augment"])
	}
	crossModal := e.crossModal(method)
	// The symbols a step would exchange are those of the samples it actually uses (all of them when the
	// configured batch is larger than the data).
	countStep := func() { ledger.PretrainStep(min(batch, n), int64(len(sys.Encoders)), sys.K, crossModal) }
	step := startEpoch * spe
	saved := startEpoch
	for epoch := startEpoch + 1; epoch <= x.Pretrain.Epochs; epoch++ {
		mean, lr, err := e.epoch(steps, epoch, &step, lossOf, countStep)
		if err != nil {
			return "", e.interrupted(err, "pretrain "+method, saved)
		}
		row := Row{Stage: "pretrain", Method: method, LabelFraction: 0, Epoch: epoch, Loss: mean, LR: lr,
			Ledger: ledger, WallSeconds: clk.seconds()}
		if e.rank0() {
			row.Spread = e.spread(sys, method)
		}
		if err := metrics.Append(row); err != nil {
			return "", err
		}
		track(tr, row, log)
		log.WithFields(map[string]any{"epoch": epoch, "loss": fmt.Sprintf("%.4f", row.Loss), "lr": fmt.Sprintf("%.4g", lr)}).Log(e.epochLevel(), "epoch done")
		stop := e.StopAfter > 0 && epoch == e.StopAfter && epoch < x.Pretrain.Epochs
		// The last epoch is saved once, as the complete checkpoint, after the exports below.
		if epoch < x.Pretrain.Epochs && (epoch%x.Checkpoint.Every == 0 || stop) && e.rank0() {
			info := CheckpointInfo{Stage: "pretrain", Method: method, Epoch: epoch, Ledger: ledger, WallSeconds: clk.seconds(), BatchNormGroups: e.batchNormGroups(), Seed: seed}
			if err := saveCheckpoint(dir, info, sys.StateDict("encoder", "projector"), opt, gens); err != nil {
				return "", err
			}
			saved = epoch
		}
		if stop {
			return "", ErrStopped
		}
	}
	if !e.rank0() { // rank 0 exports; wait until the encoders are on disk for the fine-tuning jobs
		return out, e.barrier()
	}
	outputs := map[string]string{}
	export := func(name string, st map[string]*torch.Tensor, meta map[string]string) error {
		sum, _, err := saveHashed(filepath.Join(dir, name), st, meta)
		outputs[name] = sum
		return err
	}
	if err := export(EncodersFile, sys.StateDict("encoder"), map[string]string{"method": method, "stage": "pretrain"}); err != nil {
		return "", err
	}
	for mod, st := range sys.TrunkStates() {
		// torchvision names, loadable from PyTorch
		if err := export("resnet18-"+mod+".safetensors", st, map[string]string{"method": method, "modality": mod}); err != nil {
			return "", err
		}
	}
	if x.Probe.Enabled { // an output like the exports: the complete checkpoint vouches for it
		probes, err := e.Probes(sys, method)
		if err != nil {
			return "", err
		}
		if outputs[ProbesFile], err = writeProbes(dir, probes); err != nil {
			return "", err
		}
		scalars := map[string]float64{}
		for _, p := range probes {
			scalars["probe/"+p.Features+"/"+p.Target+"/linear"] = p.Linear
			scalars["probe/"+p.Features+"/"+p.Target+"/knn"] = p.KNN
		}
		tr.Scalars(int64(x.Pretrain.Epochs), scalars)
	}
	info := CheckpointInfo{Stage: "pretrain", Method: method, Epoch: x.Pretrain.Epochs, Ledger: ledger, WallSeconds: clk.seconds(), BatchNormGroups: e.batchNormGroups(),
		Complete: true, Seed: seed, Outputs: outputs}
	if err := saveCheckpoint(dir, info, sys.StateDict("encoder", "projector"), opt, gens); err != nil {
		return "", err
	}
	if len(metrics.Rows) > 0 {
		log.Infof("done: %d epochs, final loss %.4f, %.0fs", x.Pretrain.Epochs, metrics.Rows[len(metrics.Rows)-1].Loss, clk.seconds())
	}
	if steps.grads != nil {
		log.Debugf("gradients: %s", steps.grads)
	}
	return out, e.barrier()
}
