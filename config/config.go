// Package config loads semcom experiments: built-in defaults < YAML file < SEMCOM_* environment variables <
// command-line overrides, with unknown keys and invalid values rejected by key name, and the resolved
// configuration written back as YAML.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/semcom/semcom/internal/fsutil"
)

//go:embed defaults.yaml
var defaultsYAML []byte

// Experiment is one configuration of the whole protocol.
type Experiment struct {
	Name       string      `mapstructure:"name" yaml:"name"`
	Seed       uint64      `mapstructure:"seed" yaml:"seed"`
	Device     string      `mapstructure:"device" yaml:"device"`
	Threads    int         `mapstructure:"threads" yaml:"threads"`
	Out        string      `mapstructure:"out" yaml:"out"`
	Methods    []string    `mapstructure:"methods" yaml:"methods"`
	Data       Data        `mapstructure:"data" yaml:"data"`
	Model      Model       `mapstructure:"model" yaml:"model"`
	Channel    Channel     `mapstructure:"channel" yaml:"channel"`
	Pretrain   Pretrain    `mapstructure:"pretrain" yaml:"pretrain"`
	Finetune   Finetune    `mapstructure:"finetune" yaml:"finetune"`
	Perf       Performance `mapstructure:"performance" yaml:"performance"`
	Eval       Eval        `mapstructure:"eval" yaml:"eval"`
	Probe      Probe       `mapstructure:"probe" yaml:"probe"`
	Comm       Comm        `mapstructure:"communication" yaml:"communication"`
	Tracking   []string    `mapstructure:"tracking" yaml:"tracking"`
	Checkpoint Checkpoint  `mapstructure:"checkpoint" yaml:"checkpoint"`
}

// Data selects and sizes the dataset.
type Data struct {
	Kind           string    `mapstructure:"kind" yaml:"kind"`
	Path           string    `mapstructure:"path" yaml:"path"`
	ImageSize      int       `mapstructure:"image_size" yaml:"image_size"`
	LabelFractions []float64 `mapstructure:"label_fractions" yaml:"label_fractions"`
	// Seed draws the validation hold-out and the label subsets (0: the top-level seed).
	Seed uint64 `mapstructure:"seed" yaml:"seed"`
	// ValidationFraction is the stratified part of the training split held out for every selection.
	ValidationFraction float64   `mapstructure:"validation_fraction" yaml:"validation_fraction"`
	Synthetic          Synthetic `mapstructure:"synthetic" yaml:"synthetic"`
	NYUD2              NYUD2     `mapstructure:"nyud2" yaml:"nyud2"`
	MNIST              MNIST     `mapstructure:"mnist" yaml:"mnist"`
}

// MNIST shapes the MNIST and Fashion-MNIST halves (data.kind mnist or fashion-mnist).
type MNIST struct {
	Square string `mapstructure:"square" yaml:"square"` // pad or stretch: how a 28×14 half becomes square
	Train  int    `mapstructure:"train" yaml:"train"`   // stratified subset size (0: all 60000)
	Test   int    `mapstructure:"test" yaml:"test"`     // stratified subset size (0: all 10000)
	Seed   uint64 `mapstructure:"seed" yaml:"seed"`     // draws the subsets
}

// NYUD2 locates NYU Depth V2's official files and sizes the prepared cache.
type NYUD2 struct {
	Mat        string `mapstructure:"mat" yaml:"mat"`
	Splits     string `mapstructure:"splits" yaml:"splits"`
	Size       int    `mapstructure:"size" yaml:"size"`
	ClassOrder string `mapstructure:"class_order" yaml:"class_order"`
}

// Synthetic sizes the embedded synthetic RGB-D scenes.
type Synthetic struct {
	Train   int     `mapstructure:"train" yaml:"train"`
	Test    int     `mapstructure:"test" yaml:"test"`
	Size    int     `mapstructure:"size" yaml:"size"`
	Classes int     `mapstructure:"classes" yaml:"classes"`
	Noise   float64 `mapstructure:"noise" yaml:"noise"`
	Seed    uint64  `mapstructure:"seed" yaml:"seed"`
	// Version 2 (a full-factorial design with overlapping levels) or 1 (the first design).
	Version    int     `mapstructure:"version" yaml:"version"`
	Levels     []int   `mapstructure:"levels" yaml:"levels"`
	Difficulty float64 `mapstructure:"difficulty" yaml:"difficulty"`
}

// Model sizes the encoders, projector and server decoder.
type Model struct {
	Width            int   `mapstructure:"width" yaml:"width"`
	FeatureDim       int   `mapstructure:"feature_dim" yaml:"feature_dim"`
	HeadHidden       []int `mapstructure:"head_hidden" yaml:"head_hidden"`
	Projector        []int `mapstructure:"projector" yaml:"projector"`
	DecoderHidden    []int `mapstructure:"decoder_hidden" yaml:"decoder_hidden"`
	ZeroInitResidual bool  `mapstructure:"zero_init_residual" yaml:"zero_init_residual"`
	// SyncBN synchronises BatchNorm statistics across data-parallel ranks (the global batch's, as Barlow
	// Twins trains); false keeps each rank's local statistics.
	SyncBN bool `mapstructure:"sync_bn" yaml:"sync_bn"`
	// GhostBN > 1 makes one process compute what that many data-parallel ranks with local BatchNorm compute
	// (each chunk of a batch normalised with its own statistics): for comparing the two.
	GhostBN    int    `mapstructure:"ghost_bn" yaml:"ghost_bn"`
	Pretrained string `mapstructure:"pretrained" yaml:"pretrained"`
}

// Channel configures the wireless link.
type Channel struct {
	SNRsDB          []float64          `mapstructure:"snrs_db" yaml:"snrs_db"`
	TrainSNRRangeDB []float64          `mapstructure:"train_snr_range_db" yaml:"train_snr_range_db"`
	SNROffsetDB     map[string]float64 `mapstructure:"snr_offset_db" yaml:"snr_offset_db"`
	Fading          string             `mapstructure:"fading" yaml:"fading"`
	RicianK         float64            `mapstructure:"rician_k" yaml:"rician_k"`
	Equalizer       string             `mapstructure:"equalizer" yaml:"equalizer"`
	PowerNorm       string             `mapstructure:"power_norm" yaml:"power_norm"`
	Noiseless       bool               `mapstructure:"noiseless" yaml:"noiseless"`
	EvalSeed        uint64             `mapstructure:"eval_seed" yaml:"eval_seed"`
	CSI             string             `mapstructure:"csi" yaml:"csi"`
	Pilots          int                `mapstructure:"pilots" yaml:"pilots"`
	CSIErrorVar     float64            `mapstructure:"csi_error_var" yaml:"csi_error_var"`
	Erasure         Erasure            `mapstructure:"erasure" yaml:"erasure"`
}

// Erasure configures losses of a device's whole transmission of a sample: independent (p) or
// Gilbert–Elliott bursts over consecutive samples (p_gb, p_bg).
type Erasure struct {
	P   float64 `mapstructure:"p" yaml:"p"`
	PGB float64 `mapstructure:"p_gb" yaml:"p_gb"`
	PBG float64 `mapstructure:"p_bg" yaml:"p_bg"`
}

// Optimizer configures an optimiser and its learning-rate schedule.
type Optimizer struct {
	Name            string  `mapstructure:"name" yaml:"name"`
	LR              float64 `mapstructure:"lr" yaml:"lr"`
	Momentum        float64 `mapstructure:"momentum" yaml:"momentum"`
	WeightDecay     float64 `mapstructure:"weight_decay" yaml:"weight_decay"`
	Nesterov        bool    `mapstructure:"nesterov" yaml:"nesterov"`
	Eta             float64 `mapstructure:"eta" yaml:"eta"`
	BiasLRFactor    float64 `mapstructure:"bias_lr_factor" yaml:"bias_lr_factor"`
	Schedule        string  `mapstructure:"schedule" yaml:"schedule"`
	WarmupEpochs    int     `mapstructure:"warmup_epochs" yaml:"warmup_epochs"`
	FinalLRFraction float64 `mapstructure:"final_lr_fraction" yaml:"final_lr_fraction"`
	StepEpochs      int     `mapstructure:"step_epochs" yaml:"step_epochs"`
	Gamma           float64 `mapstructure:"gamma" yaml:"gamma"`
}

// Augment configures batched augmentation (see data.Augment).
type Augment struct {
	CropScale    []float64 `mapstructure:"crop_scale" yaml:"crop_scale"`
	Flip         float64   `mapstructure:"flip" yaml:"flip"`
	ColorJitter  float64   `mapstructure:"color_jitter" yaml:"color_jitter"`
	JitterAmount float64   `mapstructure:"jitter_amount" yaml:"jitter_amount"`
	Grayscale    float64   `mapstructure:"grayscale" yaml:"grayscale"`
	Blur         float64   `mapstructure:"blur" yaml:"blur"`
	Noise        float64   `mapstructure:"noise" yaml:"noise"`
	DepthJitter  float64   `mapstructure:"depth_jitter" yaml:"depth_jitter"`
	DepthDropout float64   `mapstructure:"depth_dropout" yaml:"depth_dropout"`
	// Registration: "registered" draws one crop and flip per sample for all modalities, "independent" one
	// per modality.
	Registration string `mapstructure:"registration" yaml:"registration"`
}

// Pretrain configures Stage I.
type Pretrain struct {
	Seed      uint64    `mapstructure:"seed" yaml:"seed"` // initialisation and draws of Stage I (0: the top-level seed)
	Epochs    int       `mapstructure:"epochs" yaml:"epochs"`
	Batch     int       `mapstructure:"batch" yaml:"batch"`
	GradClip  float64   `mapstructure:"grad_clip" yaml:"grad_clip"`
	Optimizer Optimizer `mapstructure:"optimizer" yaml:"optimizer"`
	Augment   Augment   `mapstructure:"augment" yaml:"augment"`
	Proposed  Proposed  `mapstructure:"proposed" yaml:"proposed"`
	Barlow    Barlow    `mapstructure:"barlow" yaml:"barlow"`
	SimCLR    SimCLR    `mapstructure:"simclr" yaml:"simclr"`
}

// Proposed configures the multi-modal decoupled loss (eqs. 7–14).
type Proposed struct {
	SharedFraction float64 `mapstructure:"shared_fraction" yaml:"shared_fraction"`
	LambdaIntra    float64 `mapstructure:"lambda_intra" yaml:"lambda_intra"`
	LambdaShared   float64 `mapstructure:"lambda_shared" yaml:"lambda_shared"`
	LambdaUnique   float64 `mapstructure:"lambda_unique" yaml:"lambda_unique"`
	Normalization  string  `mapstructure:"normalization" yaml:"normalization"`
	Weighting      string  `mapstructure:"weighting" yaml:"weighting"`
}

// Barlow configures the Barlow Twins baseline (eq. 19).
type Barlow struct {
	Lambda        float64 `mapstructure:"lambda" yaml:"lambda"`
	Pairing       string  `mapstructure:"pairing" yaml:"pairing"`
	Normalization string  `mapstructure:"normalization" yaml:"normalization"`
}

// SimCLR configures the SimCLR baseline (eq. 18).
type SimCLR struct {
	Temperature float64 `mapstructure:"temperature" yaml:"temperature"`
	Pairing     string  `mapstructure:"pairing" yaml:"pairing"`
}

// Finetune configures Stage II.
type Finetune struct {
	Seed           uint64    `mapstructure:"seed" yaml:"seed"` // initialisation and draws of Stage II (0: the top-level seed)
	Epochs         int       `mapstructure:"epochs" yaml:"epochs"`
	Batch          int       `mapstructure:"batch" yaml:"batch"`
	GradClip       float64   `mapstructure:"grad_clip" yaml:"grad_clip"`
	LabelSmoothing float64   `mapstructure:"label_smoothing" yaml:"label_smoothing"`
	Optimizer      Optimizer `mapstructure:"optimizer" yaml:"optimizer"`
	Augment        Augment   `mapstructure:"augment" yaml:"augment"`
}

// Performance switches how a step runs on the device.
type Performance struct {
	AMP          string `mapstructure:"amp" yaml:"amp"`
	ChannelsLast string `mapstructure:"channels_last" yaml:"channels_last"`
	SyncEvery    int    `mapstructure:"sync_every" yaml:"sync_every"`
	// Data parallelism: average gradients in buckets all-reduced while the backward runs (DDP's overlap),
	// or in one all-reduce after it; the averages are the same.
	OverlapGradReduce bool    `mapstructure:"overlap_grad_reduce" yaml:"overlap_grad_reduce"`
	GradBucketMB      float64 `mapstructure:"grad_bucket_mb" yaml:"grad_bucket_mb"`
}

// Eval configures evaluation.
type Eval struct {
	Batch      int `mapstructure:"batch" yaml:"batch"`
	Every      int `mapstructure:"every" yaml:"every"`
	NoiseDraws int `mapstructure:"noise_draws" yaml:"noise_draws"`
}

// Probe configures the representation probes run after Stage I.
type Probe struct {
	Enabled bool    `mapstructure:"enabled" yaml:"enabled"`
	KNN     int     `mapstructure:"knn_k" yaml:"knn_k"`
	Ridge   float64 `mapstructure:"ridge" yaml:"ridge"`
}

// Comm configures the communication accounting.
type Comm struct {
	// CountPretrainExchange adds the feature exchange that cross-modal pre-training losses need (each device
	// sends its features and receives the gradient of the cross term every step) to the rounds and symbols.
	CountPretrainExchange bool `mapstructure:"count_pretrain_exchange" yaml:"count_pretrain_exchange"`
}

// Checkpoint configures checkpointing.
type Checkpoint struct {
	Every int `mapstructure:"every" yaml:"every"`
}

// Methods known to the protocol.
var Methods = []string{"proposed", "simclr", "barlow", "supervised"}

// Load resolves an experiment: defaults, then the YAML file (if path is not empty), then SEMCOM_* environment
// variables (SEMCOM_PRETRAIN_EPOCHS=5 sets pretrain.epochs), then overrides ("key=value", values in YAML
// syntax, e.g. "channel.snrs_db=[0,10]"), each given as --set.
func Load(path string, overrides []string) (*Experiment, error) {
	sets, err := ParseSets(overrides)
	if err != nil {
		return nil, err
	}
	return Resolve(path, sets)
}

// Resolve is Load with overrides that say where they came from. Every value is checked against its key's
// type before anything is merged (an integer key takes no 2.5, no true and no .nan; a seed no -1; a float
// no NaN or Inf), and every error names the value's origin: the file and key, the SEMCOM_ variable, the
// --set or the flag.
func Resolve(path string, overrides []Override) (*Experiment, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(defaultsYAML)); err != nil {
		return nil, fmt.Errorf("built-in defaults: %w", err)
	}
	types := keyTypes()
	src := sources{}
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		user := viper.New()
		user.SetConfigType("yaml")
		if err := user.ReadConfig(bytes.NewReader(raw)); err != nil {
			return nil, fmt.Errorf("config %s: not valid YAML: %w", path, err)
		}
		if unknown := unknownKeys(user.AllKeys(), types); len(unknown) > 0 {
			return nil, fmt.Errorf("config %s: unknown key %s (see 'semcom config defaults' for every key)", path, strings.Join(unknown, ", "))
		}
		var errs []error
		for _, k := range user.AllKeys() {
			val, err := checkType(k, types, user.Get(k))
			if err != nil {
				errs = append(errs, fmt.Errorf("config %s: %w", path, err))
				continue
			}
			v.Set(k, val)
			src[k] = "config " + path
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	env, err := environment(types)
	if err != nil {
		return nil, err
	}
	for _, o := range append(env, overrides...) {
		key := strings.ToLower(strings.TrimSpace(o.Key))
		if unknown := unknownKeys([]string{key}, types); len(unknown) > 0 {
			return nil, fmt.Errorf("%s: unknown key %s (see 'semcom config defaults' for every key)", o.From, key)
		}
		val, err := o.parse(key, types)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.From, err)
		}
		v.Set(key, val)
		src[key] = o.From
	}
	e := &Experiment{}
	if err := v.Unmarshal(e, func(c *mapstructure.DecoderConfig) { c.WeaklyTypedInput = false }); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := e.Validate(); err != nil {
		return nil, src.blame(err, path)
	}
	return e, nil
}

// unknownKeys lists keys not among the known ones; keys under a known map (snr_offset_db) are free.
func unknownKeys(keys []string, known map[string]reflect.Type) []string {
	var out []string
	for _, k := range keys {
		if known[k] != nil || strings.HasPrefix(k, "channel.snr_offset_db.") {
			continue
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Defaults returns the built-in defaults file.
func Defaults() []byte { return defaultsYAML }

// YAML renders the resolved experiment.
func (e *Experiment) YAML() ([]byte, error) { return yaml.Marshal(e) }

// Write saves the resolved experiment to path.
func (e *Experiment) Write(path string) error {
	b, err := e.YAML()
	if err != nil {
		return err
	}
	return fsutil.WriteFile(path, b, 0o644)
}
