package train

import (
	"fmt"
	"math"
	"sort"
	"syscall"
	"time"

	"github.com/semcom/semcom/config"
	"github.com/semcom/semcom/data"
	"github.com/semcom/semcom/torch"
)

// BenchConfig sizes `semcom bench`.
type BenchConfig struct {
	Batch, Size, Width     int
	Steps, Warmup, Repeats int
	Only                   string // "pretrain", "finetune" or "eval" to time one step kind; "" times all
	// CheckFlat fails when live tensors or the CUDA allocator's allocated bytes grow from the end of the
	// warm-up to the end of the timed steps.
	CheckFlat bool
	// CheckSync fails a training step that synchronises the host with the GPU (CUDA only).
	CheckSync bool
}

// BenchResult is one step kind's timing.
type BenchResult struct {
	Step          string    `json:"step"`
	Device        string    `json:"device"`
	Batch         int       `json:"batch"`
	Size          int       `json:"size"`
	Width         int       `json:"width"`
	MsPerStep     float64   `json:"ms_per_step"` // median over repeats
	SamplesPerSec float64   `json:"samples_per_s"`
	RepeatsMs     []float64 `json:"repeats_ms"`
	PeakBytes     int64     `json:"peak_bytes"` // CUDA allocator peak; on CPU the process's peak resident set
	PeakKind      string    `json:"peak_kind"`
}

// Bench times the two training steps with the experiment's settings at the given size: the pre-training
// step of the proposed method (M modalities × 2 augmented views, loss, optimiser) and the fine-tuning step
// (augmentation, M encoders, channel, decoder, cross-entropy, optimiser), and one evaluation batch
// (eval.batch samples, forward only, one SNR). Warm-up steps are excluded; the figure is the median over
// repeats of the mean step time.
func (e *Env) Bench(c BenchConfig) ([]BenchResult, error) {
	x := *e.Exp
	x.Model.Width = c.Width
	x.Data.ImageSize = c.Size // evaluation resizes to the training size
	n := max(4*c.Batch, 64)
	ds, err := data.Synthetic(data.SyntheticConfig{Train: n, Test: x.Eval.Batch, Size: c.Size, Classes: 10, Noise: 0.1, Seed: 1, Version: 1})
	if err != nil {
		return nil, err
	}
	ds.Train.To(e.Dev)
	ds.Test.To(e.Dev)
	env := *e
	env.Exp, env.Data = &x, ds
	sys := NewSystem(x.Model, ds.Modalities, len(ds.ClassNames), x.Seed)
	env.prepare(sys)
	gAug, gChan := torch.NewGenerator(e.Dev, 1), torch.NewGenerator(e.Dev, 2)
	size := int64(c.Size)
	idx := torch.Arange(0, float64(c.Batch), 1, torch.Int64, e.Dev).Keep()
	defer idx.Free()
	pre := sys.Params("encoder", "projector")
	fine := sys.Params("encoder", "decoder")
	preOpt := newOptimizer(x.Pretrain.Optimizer, pre)
	fineOpt := newOptimizer(x.Finetune.Optimizer, fine)
	steps := []struct {
		name string
		run  func()
	}{
		{"pretrain", func() {
			xs, _ := ds.Train.Batch(idx)
			update(preOpt, pre, env.pretrainBatchLoss(sys, MethodProposed, xs, augmentOf(x.Pretrain.Augment), size, gAug), 0, nil)
		}},
		{"finetune", func() {
			xs, y := ds.Train.Batch(idx)
			update(fineOpt, fine, env.finetuneBatchLoss(sys, xs, y, augmentOf(x.Finetune.Augment), size, 10, gAug, gChan), 0, nil)
		}},
		{"eval", func() { env.Evaluate(sys, ds.Test, []float64{10}) }}, // one batch of eval.batch at one SNR
	}
	var out []BenchResult
	for _, s := range steps {
		if c.Only != "" && c.Only != s.name {
			continue
		}
		bar := e.bar("bench "+s.name, c.Warmup+c.Steps*c.Repeats)
		tick := func() { bar.Add(1, "") }
		for range c.Warmup {
			torch.WithScope(s.run)
			tick()
		}
		torch.Synchronize(e.Dev)
		if e.Dev.IsCUDA() {
			torch.ResetPeakMemory(e.Dev)
		}
		live := torch.LiveTensors()
		mem, _ := torch.CUDAMemory(e.Dev)
		var reps []float64
		checkSync := c.CheckSync && s.name != "eval" // evaluation reads its accuracy: one wait per SNR by design
		for range c.Repeats {
			t0 := time.Now()
			if err := stepsWithoutSync(s.run, c.Steps, checkSync, tick); err != nil {
				bar.Finish()
				return out, fmt.Errorf("%s step: %w", s.name, err)
			}
			torch.Synchronize(e.Dev)
			reps = append(reps, float64(time.Since(t0).Microseconds())/1e3/float64(c.Steps))
		}
		bar.Finish()
		b := c.Batch
		if s.name == "eval" {
			b = x.Eval.Batch
		}
		r := BenchResult{Step: s.name, Device: e.Dev.String(), Batch: b, Size: c.Size, Width: c.Width, RepeatsMs: reps,
			MsPerStep: median(reps)}
		r.SamplesPerSec = float64(b) / r.MsPerStep * 1e3
		if m, err := torch.CUDAMemory(e.Dev); err == nil && e.Dev.IsCUDA() {
			r.PeakBytes, r.PeakKind = m.PeakAllocated, "cuda allocator peak"
		} else {
			var ru syscall.Rusage
			if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
				r.PeakBytes, r.PeakKind = ru.Maxrss*1024, "process max RSS"
			}
		}
		out = append(out, r)
		if c.CheckFlat {
			now, _ := torch.CUDAMemory(e.Dev)
			if l := torch.LiveTensors(); l > live || now.Allocated > mem.Allocated {
				return out, fmt.Errorf("%s step: memory grew over %d steps: live tensors %d → %d, allocated %d → %d bytes",
					s.name, c.Steps*c.Repeats, live, l, mem.Allocated, now.Allocated)
			}
		}
	}
	return out, nil
}

// stepsWithoutSync runs n steps, calling tick after each, with libtorch's CUDA synchronisation check on when
// check is set: a step that would make the host wait for the GPU then fails instead.
func stepsWithoutSync(step func(), n int, check bool, tick func()) error {
	if check {
		if err := torch.CheckCUDASyncs(true); err != nil {
			return err
		}
		defer torch.CheckCUDASyncs(false)
	}
	err := torch.Catch(func() {
		for range n {
			torch.WithScope(step)
			tick()
		}
	})
	if err != nil && check {
		return fmt.Errorf("the host waited for the GPU inside the step: %w", err)
	}
	return err
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// String renders a result as one line.
func (r BenchResult) String() string {
	return fmt.Sprintf("%-9s %-7s %4dpx w%-3d b%-4d %9.2f ms/step %9.1f samples/s  peak %.1f MiB (%s)", r.Step, r.Device, r.Size,
		r.Width, r.Batch, r.MsPerStep, r.SamplesPerSec, float64(r.PeakBytes)/(1<<20), r.PeakKind)
}

// ProtocolWork counts what RunProtocol does for an experiment: optimiser steps of Stage I (every
// self-supervised method) and Stage II (every method × SNR × label fraction) and evaluation batches.
type ProtocolWork struct {
	PretrainSteps, FinetuneSteps, EvalBatches int
}

// CountProtocol counts the protocol's work on a training split of nTrain and a test split of nTest samples.
// Label subsets are taken as round(fraction × nTrain) (stratified rounding may differ by a few samples).
func CountProtocol(x *config.Experiment, nTrain, nTest int) ProtocolWork {
	var w ProtocolWork
	for _, m := range x.Methods {
		if m != MethodSupervised {
			w.PretrainSteps += x.Pretrain.Epochs * stepsPerEpoch(int64(nTrain), int64(x.Pretrain.Batch))
		}
	}
	evals := 0
	for ep := 1; ep <= x.Finetune.Epochs; ep++ {
		if ep%x.Eval.Every == 0 || ep == x.Finetune.Epochs {
			evals++
		}
	}
	perEval := len(x.Channel.SNRsDB) * ((nTest + x.Eval.Batch - 1) / x.Eval.Batch)
	jobs := len(x.Methods) * len(x.Channel.SNRsDB)
	for _, frac := range x.Data.LabelFractions {
		n := max(1, int(math.Round(frac*float64(nTrain))))
		w.FinetuneSteps += jobs * x.Finetune.Epochs * stepsPerEpoch(int64(n), int64(x.Finetune.Batch))
		w.EvalBatches += jobs * evals * perEval
	}
	return w
}

// Projected is the protocol's compute time from measured step times (ms): what the GPU works, not counting
// checkpoints, data loading at start-up or the cheaper single-view pre-training of cross-modal baselines.
func (w ProtocolWork) Projected(pretrainMs, finetuneMs, evalMs float64) time.Duration {
	ms := float64(w.PretrainSteps)*pretrainMs + float64(w.FinetuneSteps)*finetuneMs + float64(w.EvalBatches)*evalMs
	return time.Duration(ms * float64(time.Millisecond))
}
