package train

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/semcom/semcom/config"
	"github.com/semcom/semcom/data"
	"github.com/semcom/semcom/internal/progress"
	"github.com/semcom/semcom/runfolder"
	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/dist"
	"github.com/semcom/semcom/torch/optim"
	"github.com/semcom/semcom/tracking"
)

// Env is what every job shares: the experiment, the dataset (resident on the device), the device and the
// logger.
type Env struct {
	Exp  *config.Experiment
	Data *data.Dataset
	Dev  torch.Device
	Log  logrus.FieldLogger
	Dir  string // the run folder
	// Progress makes a progress bar; nil draws none.
	Progress func(label string, total int) *progress.Bar
	// StopAfter, when positive, ends a job with ErrStopped after that epoch (checkpointed), e.g. to fit a
	// cluster's time slices; --resume continues it.
	StopAfter int
	// ConfigHash is the resolved config's hash (config.Experiment.Hash), recorded in every job folder.
	ConfigHash string
	// TrackDir is where the job trackers write (tracking: in the config); empty records nothing.
	TrackDir string
	// Group, when set, makes this process one rank of a data-parallel job: each step encodes this rank's
	// shard of the global batch, whole-batch losses see the global batch (dist.GatherWithGrad), gradients
	// are averaged, and only rank 0 writes.
	Group *torch.ProcessGroup
	// Interrupted, when set, is polled after every optimiser step: a non-nil signal ends the job at once
	// with an *InterruptedError (its checkpoints stay as they are).
	Interrupted func() os.Signal
}

// InterruptedError says a signal stopped a job between two steps; the job's newest checkpoint is kept and
// resuming continues from it exactly.
type InterruptedError struct {
	Signal os.Signal
	Job    string // "pretrain proposed", "finetune proposed-labels100-snr5"
	Epoch  int    // the epoch that was running
	Saved  int    // the epoch of the job's newest checkpoint (0: none yet)
}

func (i *InterruptedError) Error() string {
	kept := fmt.Sprintf("its newest checkpoint (epoch %d) is kept", i.Saved)
	if i.Saved == 0 {
		kept = "it had no checkpoint yet and restarts from its first epoch"
	}
	return fmt.Sprintf("interrupted by %s during %s, epoch %d: %s", signalName(i.Signal), i.Job, i.Epoch, kept)
}

func signalName(s os.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGUSR1:
		return "SIGUSR1"
	}
	return s.String()
}

// interrupted completes an *InterruptedError from a job's loop with the job's name and newest checkpoint.
func (e *Env) interrupted(err error, job string, saved int) error {
	var ie *InterruptedError
	if errors.As(err, &ie) {
		ie.Job, ie.Saved = job, saved
	}
	return err
}

// tracker opens a job's trackers and records the resolved config there (a silent tracker when tracking
// is off; a tracker that cannot start is logged and left out, never the reason a job fails).
func (e *Env) tracker(job string) tracking.Tracker {
	if e.TrackDir == "" || len(e.Exp.Tracking) == 0 || !e.rank0() {
		return tracking.None
	}
	t, err := tracking.Open(e.Exp.Tracking, e.TrackDir, job)
	if err != nil {
		e.Log.Warnf("tracking off for %s: %v", job, err)
		return tracking.None
	}
	if y, err := e.Exp.YAML(); err == nil {
		t.Text(0, "config", "```yaml\n"+string(y)+"```")
	}
	return t
}

// track records a metrics row (and flushes, so a watcher sees every epoch).
func track(t tracking.Tracker, r Row, log logrus.FieldLogger) {
	err := t.Scalars(int64(r.Epoch), r.Scalars())
	if err == nil {
		err = t.Flush()
	}
	if err != nil {
		log.Warnf("tracking: %v", err)
	}
}

// openJob opens and locks a job folder below the run folder (rank 0; the other ranks only read it).
func (e *Env) openJob(parts ...string) (*runfolder.Job, error) {
	if !e.rank0() {
		return &runfolder.Job{Dir: filepath.Join(append([]string{e.Dir}, parts...)...)}, nil
	}
	return runfolder.OpenJob(e.Dir, e.ConfigHash, parts...)
}

// rank0 reports whether this process writes: a single process, or rank 0 of a data-parallel job.
func (e *Env) rank0() bool { return e.Group == nil || e.Group.Rank == 0 }

// shard narrows a global batch (rows) to this rank's equal slice.
func (e *Env) shard(x *torch.Tensor) *torch.Tensor {
	if e.Group == nil {
		return x
	}
	b := x.Size(0) / int64(e.Group.World)
	return x.Narrow(0, int64(e.Group.Rank)*b, b)
}

// gather reassembles the global batch from the ranks' shards, with the exact gradient.
func (e *Env) gather(z *torch.Tensor) *torch.Tensor {
	if e.Group == nil {
		return z
	}
	all, err := dist.GatherWithGrad(e.Group, z)
	if err != nil {
		panic(err)
	}
	return all
}

// barrier waits for every rank (nothing in a single process).
func (e *Env) barrier() error {
	if e.Group == nil {
		return nil
	}
	return e.Group.Barrier()
}

// resumePoint finds the checkpoint a job resumes from (none: the zero checkpoint), logging each damaged
// generation it passes over.
func (e *Env) resumePoint(dir string, log logrus.FieldLogger) (checkpoint, error) {
	ck, skipped, err := newestCheckpoint(dir)
	for _, s := range skipped {
		log.Warnf("checkpoint damaged, falling back to the previous one: %s", s)
	}
	switch {
	case errors.Is(err, ErrNoCheckpoint):
		return checkpoint{}, nil
	case err != nil:
		return ck, err
	case !ck.Info.Complete:
		if was, now := max(1, ck.Info.BatchNormGroups), e.batchNormGroups(); was != now {
			return ck, &ResumeMismatchError{fmt.Sprintf("%s was written with BatchNorm over %d parts of each batch (local BN on %d ranks, or model.ghost_bn), "+
				"this run would use %d: the results would silently change; resume it with --nproc-per-node %d (or model.sync_bn, which any rank count resumes)", ck.Path, was, was, now, was)}
		}
		log.Infof("resuming from %s (after epoch %d)", ck.Path, ck.Info.Epoch)
	}
	return ck, nil
}

// ResumeMismatchError refuses a resume that could not continue the interrupted computation exactly.
type ResumeMismatchError struct{ Msg string }

func (e *ResumeMismatchError) Error() string { return e.Msg }

// batchNormGroups is how many parts of each batch BatchNorm normalises separately (see CheckpointInfo).
func (e *Env) batchNormGroups() int {
	switch {
	case e.Exp.Model.SyncBN:
		return 1
	case e.Group != nil:
		return e.Group.World
	}
	return max(1, e.Exp.Model.GhostBN)
}

// ErrStopped says a job stopped at Env.StopAfter and can be resumed.
var ErrStopped = errors.New("stopped after the requested epoch; continue with --resume")

// epochLevel logs per-epoch lines at info level where no progress bar shows progress (not a terminal).
func (e *Env) epochLevel() logrus.Level {
	if e.Progress != nil && progress.Enabled() {
		return logrus.DebugLevel
	}
	return logrus.InfoLevel
}

func (e *Env) bar(label string, total int) *progress.Bar {
	if e.Progress == nil {
		return nil
	}
	return e.Progress(label, total)
}

// DivergedError reports a non-finite loss or gradient; the metrics written before it stay on disk.
type DivergedError struct {
	Stage, Method string
	Epoch, Step   int
	What          string
	Value         float64
}

func (d *DivergedError) Error() string {
	return fmt.Sprintf("%s %s diverged: non-finite %s (%v) at epoch %d, step %d", d.Stage, d.Method, d.What, d.Value, d.Epoch, d.Step)
}

// newOptimizer builds the configured optimiser over params.
func newOptimizer(c config.Optimizer, params []*torch.Tensor) optim.Optimizer {
	switch c.Name {
	case "lars":
		l := optim.NewLARS(params, c.LR, c.Momentum, c.WeightDecay, c.Eta)
		l.BiasLRFactor = c.BiasLRFactor
		return l
	case "adamw":
		return optim.NewAdamW(params, c.LR, c.WeightDecay)
	}
	return optim.NewSGD(params, c.LR, c.Momentum, c.WeightDecay, c.Nesterov)
}

// newSchedule builds the learning-rate schedule in optimiser steps.
func newSchedule(c config.Optimizer, stepsPerEpoch int) optim.Schedule {
	s, err := optim.ParseSchedule(c.Schedule, c.LR, c.WarmupEpochs*stepsPerEpoch, c.FinalLRFraction, c.Gamma, c.StepEpochs*stepsPerEpoch)
	if err != nil {
		panic(err) // the config was validated
	}
	return s
}

// batches splits a seeded permutation of n samples into full batches (the last partial batch is dropped, so
// BatchNorm never sees a batch of one). With n < batch, one batch of all samples.
func batches(g *torch.Generator, n, batch int64, dev torch.Device) []*torch.Tensor {
	perm := torch.RandPerm(g, n, torch.CPU).ToDevice(dev)
	if n < batch {
		return []*torch.Tensor{perm}
	}
	var out []*torch.Tensor
	for s := int64(0); s+batch <= n; s += batch {
		out = append(out, perm.Narrow(0, s, batch))
	}
	return out
}

func stepsPerEpoch(n, batch int64) int { return int(max(1, n/batch)) }

// augmentOf maps the configuration to data.Augment.
func augmentOf(a config.Augment) data.Augment {
	var crop [2]float64
	if len(a.CropScale) == 2 {
		crop = [2]float64{a.CropScale[0], a.CropScale[1]}
	}
	return data.Augment{CropScale: crop, Flip: a.Flip, ColorJitter: a.ColorJitter, JitterAmount: a.JitterAmount,
		Grayscale: a.Grayscale, Blur: a.Blur, Noise: a.Noise, DepthJitter: a.DepthJitter, DepthDropout: a.DepthDropout}
}

// imageSize is the training resolution.
func (e *Env) imageSize() int64 {
	if e.Exp.Data.ImageSize > 0 {
		return int64(e.Exp.Data.ImageSize)
	}
	return e.Data.Train.Size()
}

// finite reads a scalar and checks it (one host synchronisation).
func finite(t *torch.Tensor) (float64, bool) {
	v := t.Item()
	return v, !math.IsNaN(v) && !math.IsInf(v, 0)
}

// clock measures a job's wall time across resumes.
type clock struct {
	start time.Time
	prior float64
}

func (c clock) seconds() float64 { return c.prior + time.Since(c.start).Seconds() }
