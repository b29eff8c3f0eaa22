package config

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"

	"github.com/semcom/semcom/data"
	"github.com/semcom/semcom/runfolder"
	"github.com/semcom/semcom/tracking"
)

type checker struct{ errs []error }

func (c *checker) add(key string, value any, want string) {
	c.errs = append(c.errs, &FieldError{Key: key, Value: value, Want: want})
}

// distinct refuses a list with a repeated value.
func (c *checker) distinct(key string, values any) {
	seen := map[string]bool{}
	v := reflect.ValueOf(values)
	for i := range v.Len() {
		k := fmt.Sprint(v.Index(i).Interface())
		if seen[k] {
			c.add(key, values, "each value once ("+k+" is repeated; it would be run and counted twice)")
			return
		}
		seen[k] = true
	}
}

func (c *checker) oneOf(key, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		c.add(key, fmt.Sprintf("%q", value), "one of "+strings.Join(allowed, ", "))
	}
}

func (c *checker) oneOfInt(key string, value int, allowed ...int) {
	if !slices.Contains(allowed, value) {
		c.add(key, value, fmt.Sprintf("one of %v", allowed))
	}
}

func (c *checker) atLeast(key string, value, min int) {
	if value < min {
		c.add(key, value, fmt.Sprintf("an integer ≥ %d", min))
	}
}

func (c *checker) prob(key string, value float64) {
	if value < 0 || value > 1 {
		c.add(key, value, "a probability in [0, 1]")
	}
}

func (c *checker) positive(key string, value float64) {
	if !(value > 0) {
		c.add(key, value, "a value > 0")
	}
}

func (c *checker) nonNegative(key string, value float64) {
	if value < 0 {
		c.add(key, value, "a value ≥ 0")
	}
}

// Validate checks every value and reports all problems, each naming its key.
func (e *Experiment) Validate() error {
	c := &checker{}
	if err := runfolder.ValidName(e.Name); err != nil {
		c.add("name", fmt.Sprintf("%q", e.Name), err.Error())
	}
	if e.Out == "" {
		c.add("out", `""`, "the folder that holds run folders")
	}
	if e.Device != "auto" && e.Device != "cpu" && e.Device != "cuda" && !strings.HasPrefix(e.Device, "cuda:") {
		c.add("device", e.Device, "auto, cpu, cuda or cuda:N")
	}
	c.atLeast("threads", e.Threads, 0)
	// More threads than cores only spin (libtorch's pool per process). The floor of 256 keeps a config written
	// for a compute node valid on a small login node that plans its sweep.
	if maxThreads := max(256, 4*runtime.NumCPU()); e.Threads > maxThreads {
		c.add("threads", e.Threads, fmt.Sprintf("at most %d (the larger of 256 and 4 × the %d cores; 0: libtorch's default)", maxThreads, runtime.NumCPU()))
	}
	if len(e.Methods) == 0 {
		c.add("methods", e.Methods, "at least one of "+strings.Join(Methods, ", "))
	}
	for _, m := range e.Methods {
		c.oneOf("methods", m, Methods...)
	}
	// A repeated entry would run twice and be counted as two results.
	c.distinct("methods", e.Methods)
	c.distinct("data.label_fractions", e.Data.LabelFractions)
	c.distinct("channel.snrs_db", e.Channel.SNRsDB)
	c.oneOf("data.kind", e.Data.Kind, "synthetic", "nyud2", "folder", "mnist", "fashion-mnist")
	halves := e.Data.Kind == "mnist" || e.Data.Kind == "fashion-mnist" // data.path "" is the default source
	if e.Data.Kind != "synthetic" && !halves && e.Data.Path == "" {
		c.add("data.path", `""`, "the dataset location for data.kind "+e.Data.Kind)
	}
	c.atLeast("data.image_size", e.Data.ImageSize, 0)
	if e.Data.ImageSize > 0 && e.Data.ImageSize < 16 {
		c.add("data.image_size", e.Data.ImageSize, "0 (native) or at least 16")
	}
	if len(e.Data.LabelFractions) == 0 {
		c.add("data.label_fractions", e.Data.LabelFractions, "at least one fraction in (0, 1]")
	}
	for _, f := range e.Data.LabelFractions {
		if f <= 0 || f > 1 {
			c.add("data.label_fractions", f, "fractions in (0, 1]")
		}
	}
	n := e.Data.NYUD2
	if n.Size < 16 {
		c.add("data.nyud2.size", n.Size, "at least 16 pixels")
	}
	c.oneOf("data.nyud2.class_order", n.ClassOrder, "gupta", "alphabetical")
	if (n.Mat == "") != (n.Splits == "") {
		c.add("data.nyud2", fmt.Sprintf("mat=%q splits=%q", n.Mat, n.Splits), "both mat and splits, or neither")
	}
	if v := e.Data.ValidationFraction; v < 0 || v > 0.5 {
		c.add("data.validation_fraction", v, "a fraction in [0, 0.5]")
	}
	mn := e.Data.MNIST
	c.oneOf("data.mnist.square", mn.Square, "pad", "stretch")
	if mn.Train != 0 && (mn.Train < 20 || mn.Train > 60000) {
		c.add("data.mnist.train", mn.Train, "0 (all 60000) or 20..60000 (two per class at least)")
	}
	if mn.Test != 0 && (mn.Test < 10 || mn.Test > 10000) {
		c.add("data.mnist.test", mn.Test, "0 (all 10000) or 10..10000")
	}
	s := e.Data.Synthetic
	c.oneOfInt("data.synthetic.version", s.Version, 1, 2)
	if s.Version == 2 {
		c.prob("data.synthetic.difficulty", s.Difficulty)
		switch l := s.Levels; {
		case len(l) == 3:
			if l[0] < 2 || l[1] < 2 || l[2] < 2 || l[0]*l[1]*l[2] != s.Classes {
				c.add("data.synthetic.levels", l, fmt.Sprintf("three levels of at least 2 whose product is data.synthetic.classes (%d)", s.Classes))
			}
		case len(l) != 0:
			c.add("data.synthetic.levels", l, "[] (derived from the classes) or [shared, rgb_only, depth_only]")
		default:
			if _, err := data.NewDesign(s.Classes, [3]int{}, 0); err != nil {
				c.add("data.synthetic.classes", s.Classes, fmt.Sprintf("a product of three levels of at least 2 (shared × RGB-only × depth-only) for version 2: %s, …; or data.synthetic.version: 1",
					strings.Join(strings.Fields(strings.Trim(fmt.Sprint(data.ValidClassCounts(12)), "[]")), ", ")))
			}
		}
	}
	c.atLeast("data.synthetic.classes", s.Classes, 2)
	c.atLeast("data.synthetic.size", s.Size, 16)
	c.atLeast("data.synthetic.train", s.Train, max(2, s.Classes))
	c.atLeast("data.synthetic.test", s.Test, max(2, s.Classes))
	c.prob("data.synthetic.noise", s.Noise)

	c.atLeast("model.width", e.Model.Width, 1)
	c.atLeast("model.ghost_bn", e.Model.GhostBN, 0)
	if g := e.Model.GhostBN; g > 1 && (e.Pretrain.Batch%g != 0 || e.Finetune.Batch%g != 0) {
		c.add("model.ghost_bn", g, "a divisor of pretrain.batch and finetune.batch")
	}
	if e.Model.FeatureDim < 2 || e.Model.FeatureDim%2 != 0 {
		c.add("model.feature_dim", e.Model.FeatureDim, "an even integer ≥ 2 (K reals = K/2 complex symbols)")
	}
	for key, dims := range map[string][]int{"model.head_hidden": e.Model.HeadHidden, "model.projector": e.Model.Projector, "model.decoder_hidden": e.Model.DecoderHidden} {
		for _, d := range dims {
			if d < 1 {
				c.add(key, dims, "positive layer sizes")
			}
		}
	}

	ch := e.Channel
	if len(ch.SNRsDB) == 0 {
		c.add("channel.snrs_db", ch.SNRsDB, "at least one SNR in dB")
	}
	if n := len(ch.TrainSNRRangeDB); n != 0 && (n != 2 || ch.TrainSNRRangeDB[0] > ch.TrainSNRRangeDB[1]) {
		c.add("channel.train_snr_range_db", ch.TrainSNRRangeDB, "[] or [lo, hi] with lo ≤ hi")
	}
	for m := range ch.SNROffsetDB {
		c.oneOf("channel.snr_offset_db", m, "rgb", "depth", "hha", "left", "right")
	}
	c.oneOf("channel.fading", ch.Fading, "none", "rayleigh", "rician")
	c.oneOf("channel.equalizer", ch.Equalizer, "none", "zf", "mmse")
	c.oneOf("channel.power_norm", ch.PowerNorm, "sample", "batch")
	c.nonNegative("channel.rician_k", ch.RicianK)
	c.oneOf("channel.csi", ch.CSI, "perfect", "ls", "mmse")
	c.atLeast("channel.pilots", ch.Pilots, 1)
	c.nonNegative("channel.csi_error_var", ch.CSIErrorVar)
	if ch.CSIErrorVar > 0 && ch.CSI == "perfect" {
		c.add("channel.csi_error_var", ch.CSIErrorVar, "0 with channel.csi: perfect (the error model needs csi: ls or mmse)")
	}
	before := len(c.errs)
	c.prob("channel.erasure.p", ch.Erasure.P)
	c.prob("channel.erasure.p_gb", ch.Erasure.PGB)
	c.prob("channel.erasure.p_bg", ch.Erasure.PBG)
	if ch.Erasure.P > 0 && ch.Erasure.PGB > 0 {
		c.add("channel.erasure.p_gb", ch.Erasure.PGB, "0 when channel.erasure.p > 0 (one erasure model: independent or Gilbert–Elliott)")
	}
	if ch.Erasure.PGB > 0 && ch.Erasure.PBG == 0 {
		c.add("channel.erasure.p_bg", ch.Erasure.PBG, "a probability > 0 when channel.erasure.p_gb > 0 (else the bad state never ends)")
	}
	if len(c.errs) == before && (ch.Erasure.P > 0 || ch.Erasure.PGB > 0) {
		// channel.Erasure exists, but the trainer does not yet erase or pass masks to the decoder: refuse
		// rather than silently train and evaluate without losses. Remove when train/ applies it.
		c.add("channel.erasure", fmt.Sprintf("{p: %v, p_gb: %v}", ch.Erasure.P, ch.Erasure.PGB), "p = p_gb = 0 for now (erasures are not yet applied by the trainer)")
	}

	checkStage := func(prefix string, epochs, batch int, clip float64, o Optimizer, a Augment) {
		c.atLeast(prefix+".epochs", epochs, 0)
		c.atLeast(prefix+".batch", batch, 2)
		c.nonNegative(prefix+".grad_clip", clip)
		c.oneOf(prefix+".optimizer.name", o.Name, "sgd", "lars", "adamw")
		c.positive(prefix+".optimizer.lr", o.LR)
		c.prob(prefix+".optimizer.momentum", o.Momentum)
		c.nonNegative(prefix+".optimizer.weight_decay", o.WeightDecay)
		c.nonNegative(prefix+".optimizer.bias_lr_factor", o.BiasLRFactor)
		c.oneOf(prefix+".optimizer.schedule", o.Schedule, "constant", "step", "cosine")
		c.atLeast(prefix+".optimizer.warmup_epochs", o.WarmupEpochs, 0)
		c.prob(prefix+".optimizer.final_lr_fraction", o.FinalLRFraction)
		if o.Schedule == "step" {
			c.atLeast(prefix+".optimizer.step_epochs", o.StepEpochs, 1)
		}
		if len(a.CropScale) != 2 || a.CropScale[0] <= 0 || a.CropScale[0] > a.CropScale[1] || a.CropScale[1] > 1 {
			c.add(prefix+".augment.crop_scale", a.CropScale, "[lo, hi] with 0 < lo ≤ hi ≤ 1")
		}
		for k, p := range map[string]float64{"flip": a.Flip, "color_jitter": a.ColorJitter, "grayscale": a.Grayscale,
			"blur": a.Blur, "depth_jitter": a.DepthJitter, "depth_dropout": a.DepthDropout, "jitter_amount": a.JitterAmount} {
			c.prob(prefix+".augment."+k, p)
		}
		c.nonNegative(prefix+".augment.noise", a.Noise)
		c.oneOf(prefix+".augment.registration", a.Registration, "registered", "independent")
	}
	p := e.Pretrain
	checkStage("pretrain", p.Epochs, p.Batch, p.GradClip, p.Optimizer, p.Augment)
	if p.Proposed.SharedFraction < 0 || p.Proposed.SharedFraction > 1 {
		c.add("pretrain.proposed.shared_fraction", p.Proposed.SharedFraction, "a fraction in [0, 1]")
	}
	c.nonNegative("pretrain.proposed.lambda_intra", p.Proposed.LambdaIntra)
	c.nonNegative("pretrain.proposed.lambda_shared", p.Proposed.LambdaShared)
	c.nonNegative("pretrain.proposed.lambda_unique", p.Proposed.LambdaUnique)
	c.oneOf("pretrain.proposed.normalization", p.Proposed.Normalization, "pearson", "cosine")
	c.oneOf("pretrain.proposed.weighting", p.Proposed.Weighting, "sum", "decur")
	c.nonNegative("pretrain.barlow.lambda", p.Barlow.Lambda)
	c.oneOf("pretrain.barlow.pairing", p.Barlow.Pairing, "intra", "cross")
	c.oneOf("pretrain.barlow.normalization", p.Barlow.Normalization, "pearson", "cosine")
	c.positive("pretrain.simclr.temperature", p.SimCLR.Temperature)
	c.oneOf("pretrain.simclr.pairing", p.SimCLR.Pairing, "intra", "cross")
	f := e.Finetune
	checkStage("finetune", f.Epochs, f.Batch, f.GradClip, f.Optimizer, f.Augment)
	if f.Epochs < 1 {
		c.add("finetune.epochs", f.Epochs, "an integer ≥ 1")
	}
	if f.LabelSmoothing < 0 || f.LabelSmoothing >= 1 {
		c.add("finetune.label_smoothing", f.LabelSmoothing, "a value in [0, 1)")
	}
	c.oneOf("performance.amp", e.Perf.AMP, "auto", "on", "off")
	c.oneOf("performance.channels_last", e.Perf.ChannelsLast, "auto", "on", "off")
	c.atLeast("performance.sync_every", e.Perf.SyncEvery, 0)
	c.positive("performance.grad_bucket_mb", e.Perf.GradBucketMB)
	c.atLeast("eval.batch", e.Eval.Batch, 1)
	c.atLeast("eval.every", e.Eval.Every, 1)
	c.atLeast("eval.noise_draws", e.Eval.NoiseDraws, 1)
	if err := tracking.Check(e.Tracking); err != nil {
		c.add("tracking", e.Tracking, "a list of "+strings.Join(tracking.Names, ", "))
	}
	c.atLeast("probe.knn_k", e.Probe.KNN, 1)
	c.positive("probe.ridge", e.Probe.Ridge)
	c.atLeast("checkpoint.every", e.Checkpoint.Every, 1)
	return errors.Join(c.errs...)
}

// PretrainSeed, FinetuneSeed and DataSeed are the separable seeds: each stage's own key, or the top-level
// seed where it is 0.
func (e *Experiment) PretrainSeed() uint64 { return or(e.Pretrain.Seed, e.Seed) }

// FinetuneSeed seeds Stage II.
func (e *Experiment) FinetuneSeed() uint64 { return or(e.Finetune.Seed, e.Seed) }

// DataSeed seeds the validation hold-out and the label subsets.
func (e *Experiment) DataSeed() uint64 { return or(e.Data.Seed, e.Seed) }

func or(v, fallback uint64) uint64 {
	if v != 0 {
		return v
	}
	return fallback
}

// LossDims is the width the pre-training losses see: the projector's output where there is one, else K.
func (e *Experiment) LossDims() int {
	if p := e.Model.Projector; len(p) > 0 {
		return p[len(p)-1]
	}
	return e.Model.FeatureDim
}

// SharedDims is K_sha for the proposed loss (eqs. 7–14): the shared block of the width the loss sees, so a
// projector of 128 with shared_fraction 0.75 shares 96 of its 128 dimensions (not 75% of K).
func (e *Experiment) SharedDims() int {
	return int(float64(e.LossDims())*e.Pretrain.Proposed.SharedFraction + 0.5)
}
