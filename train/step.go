package train

import (
	"fmt"

	"github.com/semcom/semcom/data"
	"github.com/semcom/semcom/internal/progress"
	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/dist"
	"github.com/semcom/semcom/torch/optim"
	"github.com/semcom/semcom/train/loss"
)

// speed is how a step runs on the device (performance.* resolved: "auto" means on for CUDA).
type speed struct {
	amp, channelsLast bool
	syncEvery         int // read the accumulated loss (a host synchronisation) every N steps
}

func (e *Env) speed() speed {
	p := e.Exp.Perf
	cuda := e.Dev.IsCUDA()
	on := func(s string) bool { return s == "on" || (s == "auto" && cuda) }
	s := speed{amp: on(p.AMP), channelsLast: on(p.ChannelsLast), syncEvery: p.SyncEvery}
	if s.syncEvery == 0 {
		s.syncEvery = 1 // CPU: every step, for exact divergence reports; CUDA: once per epoch (see run)
		if cuda {
			s.syncEvery = 1 << 30
		}
	}
	return s
}

// gradSync is how a data-parallel stage averages the gradients of params (performance.overlap_grad_reduce,
// performance.grad_bucket_mb); nil in a single process. Close it when the stage ends.
func (e *Env) gradSync(params []*torch.Tensor) dist.GradSync {
	if e.Group == nil {
		return nil
	}
	p := e.Exp.Perf
	s, err := dist.NewGradSync(e.Group, params, p.OverlapGradReduce, int64(p.GradBucketMB*(1<<20)))
	if err != nil {
		panic(err)
	}
	return s
}

// prepare puts a system on the device in the layout the speed settings ask for; in a data-parallel job
// every rank takes rank 0's tensors and, with model.sync_bn, synchronises its BatchNorms.
func (e *Env) prepare(sys *System) {
	e.placeLocal(sys)
	if e.Group == nil {
		return
	}
	if err := dist.Broadcast(e.Group, sys.Tensors(), 0); err != nil {
		panic(err)
	}
	if e.Exp.Model.SyncBN {
		for _, bn := range sys.ShardedBatchNorms() {
			bn.Sync = func(t *torch.Tensor) *torch.Tensor {
				s, err := e.Group.AllReduceSumGrad(t)
				if err != nil {
					panic(err)
				}
				return s
			}
		}
	}
}

// placeLocal puts a system on the device in the layout of the speed settings without any collective: for a
// system only one rank uses (rank 0's random-init probes). A collective there would pair with whatever the
// other ranks issue next and shift every later pairing.
func (e *Env) placeLocal(sys *System) {
	sys.To(e.Dev)
	if e.speed().channelsLast {
		for _, enc := range sys.Encoders {
			enc.Trunk.Store.ChannelsLast()
		}
	}
	if g := e.Exp.Model.GhostBN; g > 1 && e.Group == nil {
		for _, bn := range sys.ShardedBatchNorms() {
			bn.Ghost = g
		}
	}
}

// encode computes z^m, under bf16 autocast when enabled (the features come back as float32, so the losses
// and the channel run in full precision).
func (e *Env) encode(enc *Encoder, x *torch.Tensor, train bool) *torch.Tensor {
	s := e.speed()
	if s.channelsLast {
		x = x.ChannelsLast()
	}
	if !s.amp {
		return enc.SemanticFeatures(x, train)
	}
	var z *torch.Tensor
	torch.Autocast(e.Dev, torch.BFloat16, func() { z = enc.SemanticFeatures(x, train) })
	return z.ToDType(torch.Float32)
}

// pretrainBatchLoss is one Stage-I loss on a batch of [0,1] images: two augmented views per modality (one
// for the cross-modal baselines), encoded and compared.
func (e *Env) pretrainBatchLoss(sys *System, method string, xs []*torch.Tensor, aug data.Augment, size int64, g *torch.Generator) *torch.Tensor {
	twoViews := method == MethodProposed || !e.crossModal(method)
	views := make([][2]*torch.Tensor, len(sys.Encoders))
	geos := e.registeredViews(e.Exp.Pretrain.Augment.Registration, aug, g, xs[0], 2)
	for m, enc := range sys.Encoders {
		for v := range 2 {
			if v == 1 && !twoViews {
				continue
			}
			// Every rank augments the whole global batch (the single process's draws) and encodes its shard.
			x := e.shard(augmentView(aug, g, geos, v, xs[m], enc.Modality, size))
			z := e.encode(enc, enc.Modality.Normalize(x), true)
			if sys.Projectors[m] != nil {
				z = sys.Projectors[m].Forward(z, true)
			}
			views[m][v] = e.gather(z)
		}
	}
	return e.pretrainLoss(method, views)
}

// finetuneBatchLoss is one Stage-II loss (eq. 16) on a batch: augment, encode, transmit, decode.
func (e *Env) finetuneBatchLoss(sys *System, xs []*torch.Tensor, y *torch.Tensor, aug data.Augment, size int64, snr float64,
	gAug, gChan *torch.Generator) *torch.Tensor {
	geos := e.registeredViews(e.Exp.Finetune.Augment.Registration, aug, gAug, xs[0], 1)
	for m, enc := range sys.Encoders {
		xs[m] = enc.Modality.Normalize(e.shard(augmentView(aug, gAug, geos, 0, xs[m], enc.Modality, size)))
	}
	return loss.CrossEntropy(e.transmitAndDecode(sys, xs, true, snr, gChan), y, e.Exp.Finetune.LabelSmoothing)
}

// registeredViews draws one geometric augmentation per view for all modalities when registration is
// "registered" (nil for "independent": each modality then draws its own, as semcom did before).
func (e *Env) registeredViews(registration string, aug data.Augment, g *torch.Generator, x *torch.Tensor, views int) []data.Geometry {
	if registration != "registered" {
		return nil
	}
	geos := make([]data.Geometry, views)
	for v := range geos {
		geos[v] = aug.DrawGeometry(g, x.Size(0), x.Device())
	}
	return geos
}

// augmentView augments view v of a modality's batch with the view's shared geometry, or its own.
func augmentView(aug data.Augment, g *torch.Generator, geos []data.Geometry, v int, x *torch.Tensor, m data.Modality, size int64) *torch.Tensor {
	if geos == nil {
		return aug.Apply(g, x, m, size)
	}
	return aug.ApplyGeometry(g, geos[v], x, m, size)
}

// update back-propagates l and steps the optimiser, clipping the total gradient norm first when clip > 0
// (without a host synchronisation; a non-finite gradient shows up in the next loss read). In a data-parallel
// run grads averages the gradients over the ranks (nil in a single process).
func update(o optim.Optimizer, params []*torch.Tensor, l *torch.Tensor, clip float64, grads dist.GradSync) {
	o.ZeroGrad()
	l.Backward()
	if grads != nil {
		if err := grads.AfterBackward(); err != nil {
			panic(err)
		}
	}
	if clip > 0 {
		torch.ClipGrad(params, torch.GradNorm(params), clip)
	}
	o.Step()
}

// lossMeter accumulates losses on the device and reads them only every syncEvery steps.
type lossMeter struct {
	sum                 *torch.Tensor
	count, sinceRead    int
	total               float64
	syncEvery, lastRead int
}

func newLossMeter(dev torch.Device, syncEvery int) *lossMeter {
	return &lossMeter{sum: torch.Zeros(torch.Float32, dev).Keep(), syncEvery: syncEvery}
}

// add records a step's loss; it reports false when a read finds the running sum non-finite.
func (m *lossMeter) add(l *torch.Tensor) (float64, bool) {
	m.sum.Add_(l.Detach().ToDType(torch.Float32))
	m.count++
	m.sinceRead++
	if m.sinceRead >= m.syncEvery {
		return m.read()
	}
	return 0, true
}

func (m *lossMeter) read() (float64, bool) {
	v, ok := finite(m.sum)
	m.total, m.sinceRead = v, 0
	return v, ok
}

// mean reads the epoch's mean loss and frees the meter.
func (m *lossMeter) mean() (float64, bool) {
	v, ok := m.read()
	m.sum.Free()
	return v / float64(max(m.count, 1)), ok
}

// stageSteps is what one stage's optimiser steps need; Stage I and Stage II each build one.
type stageSteps struct {
	stage, method string
	opt           optim.Optimizer
	params        []*torch.Tensor
	sched         optim.Schedule
	total         int // optimiser steps of the whole stage, for the schedule
	clip          float64
	grads         dist.GradSync    // averages gradients over the ranks; nil in a single process
	data          *torch.Generator // draws each epoch's batches
	n, batch      int64
	bar           *progress.Bar
}

// epoch runs one epoch of optimiser steps, counting them in *step: for each batch the learning rate from
// the schedule, the loss lossOf(batch indices) inside a scope, the update and the loss meter; afterStep runs
// after each step (the communication ledger). It returns the epoch's mean loss and last learning rate, or a
// *DivergedError naming the step where the loss stopped being finite.
func (e *Env) epoch(s *stageSteps, epoch int, step *int, lossOf func(ix *torch.Tensor) *torch.Tensor, afterStep func()) (mean, lr float64, err error) {
	meter := newLossMeter(e.Dev, e.speed().syncEvery)
	defer meter.sum.Free() // also on divergence (mean frees it otherwise)
	bs := batches(s.data, s.n, s.batch, e.Dev)
	for bi, ix := range bs {
		var lossV float64
		var ok bool
		torch.WithScope(func() {
			lr = s.sched.At(*step, s.total)
			s.opt.SetLR(lr)
			l := lossOf(ix)
			update(s.opt, s.params, l, s.clip, s.grads)
			lossV, ok = meter.add(l)
		})
		ix.Free()
		if !ok {
			return 0, lr, &DivergedError{Stage: s.stage, Method: s.method, Epoch: epoch, Step: bi + 1, What: "loss", Value: lossV}
		}
		afterStep()
		*step++
		s.bar.Add(1, fmt.Sprintf("epoch %d", epoch))
		if e.Interrupted != nil {
			if sig := e.Interrupted(); sig != nil {
				for _, rest := range bs[bi+1:] {
					rest.Free()
				}
				return 0, lr, &InterruptedError{Signal: sig, Epoch: epoch}
			}
		}
	}
	mean, ok := meter.mean()
	if !ok {
		return 0, lr, &DivergedError{Stage: s.stage, Method: s.method, Epoch: epoch, Step: len(bs), What: "loss", Value: mean}
	}
	return mean, lr, nil
}
