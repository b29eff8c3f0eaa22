package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/semcom/semcom/config"
	"github.com/semcom/semcom/internal/progress"
	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/train"
)

func newBenchCmd() *cobra.Command {
	var file, device string
	var set []string
	var c train.BenchConfig
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time the pre-training and fine-tuning steps: ms/step, samples/s, peak memory",
		Long: `Times the proposed method's pre-training step (2 modalities × 2 augmented views) and the fine-tuning step
(augmentation, encoders, channel, decoder, optimiser) on synthetic data resident on the device, with the
config's optimisers and performance settings (bf16 autocast and channels_last on CUDA by default). Warm-up
steps are excluded; each figure is the median over --repeats of the mean over --steps. It also times one
evaluation batch (eval.batch samples at one SNR).

Sizes default to the experiment's own with --config (data.image_size, model.width, finetune.batch), and
then the output ends with a projection of its whole protocol's compute time from the measured steps
(NYU Depth V2: 795 training / 654 test images). Without --config: 224×224, width 64, batch 64 on CUDA
(the paper's scale); 32×32, width 16, batch 64 on CPU.`,
		Example: "  semcom bench --device cuda\n  semcom bench --config configs/paper-nyud2.yaml --device cuda\n" +
			"  semcom bench --device cpu --size 64 --width 64 --batch 16",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exp, err := config.Load(file, set)
			if err != nil {
				return invalid(err)
			}
			if device == "" {
				device = exp.Device
			}
			dev, err := torch.ParseDevice(device)
			if err != nil {
				return invalid(fmt.Errorf("--device: %w", err))
			}
			if dev.IsCUDA() && !torch.CUDAAvailable() {
				return invalid(fmt.Errorf("--device %s: CUDA is not usable with this shim (see 'semcom version')", device))
			}
			if dev.IsCUDA() {
				torch.SetCudnnBenchmark(true)
			} else if c.CheckSync {
				return invalid(fmt.Errorf("--check-sync needs a CUDA device"))
			}
			def := func(v *int, cpu, cuda, fromConfig int) {
				switch {
				case *v != 0:
				case file != "": // the experiment's own scale, so that the projection below is about it
					*v = fromConfig
				case dev.IsCUDA():
					*v = cuda
				default:
					*v = cpu
				}
			}
			def(&c.Size, 32, 224, configImageSize(exp))
			def(&c.Width, 16, 64, exp.Model.Width)
			def(&c.Batch, 64, 64, exp.Finetune.Batch)
			if c.Steps < 1 || c.Repeats < 1 || c.Warmup < 0 || c.Size < 16 || c.Batch < 2 {
				return invalid(fmt.Errorf("want --steps ≥ 1, --repeats ≥ 1, --warmup ≥ 0, --size ≥ 16, --batch ≥ 2 (got %d, %d, %d, %d, %d)",
					c.Steps, c.Repeats, c.Warmup, c.Size, c.Batch))
			}
			if c.Only != "" && c.Only != "pretrain" && c.Only != "finetune" && c.Only != "eval" {
				return invalid(fmt.Errorf("--step %q: want pretrain, finetune or eval", c.Only))
			}
			env := &train.Env{Exp: exp, Dev: dev, Log: logrus.StandardLogger(), Progress: progress.New}
			res, err := env.Bench(c)
			if err != nil && len(res) == 0 {
				return err
			}
			if file != "" && len(res) == 3 {
				w := cmd.OutOrStdout()
				if asJSON {
					w = cmd.ErrOrStderr() // stdout stays one JSON document
				}
				defer fmt.Fprintln(w, projection(exp, res)) // after the step lines
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if e := enc.Encode(res); e != nil {
					return e
				}
				return err
			}
			for _, r := range res {
				fmt.Fprintln(cmd.OutOrStdout(), r)
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&file, "config", "c", "", "experiment YAML for everything but the sizes")
	cmd.Flags().StringArrayVar(&set, "set", nil, "override a key (repeatable)")
	cmd.Flags().StringVar(&device, "device", "", "auto, cpu, cuda or cuda:N (default: the config's)")
	cmd.Flags().IntVar(&c.Batch, "batch", 0, "batch size")
	cmd.Flags().IntVar(&c.Size, "size", 0, "image size")
	cmd.Flags().IntVar(&c.Width, "width", 0, "ResNet-18 base width")
	cmd.Flags().IntVar(&c.Steps, "steps", 10, "timed steps per repeat")
	cmd.Flags().IntVar(&c.Warmup, "warmup", 3, "untimed steps first")
	cmd.Flags().IntVar(&c.Repeats, "repeats", 3, "repeats (the median is reported)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&c.Only, "step", "", "time only this step: pretrain, finetune or eval")
	cmd.Flags().BoolVar(&c.CheckFlat, "check-flat", false, "fail if live tensors or allocated GPU memory grow after warm-up")
	cmd.Flags().BoolVar(&c.CheckSync, "check-sync", false, "fail if a training step makes the host wait for the GPU (CUDA)")
	return cmd
}

// configImageSize is the resolution the experiment trains at.
func configImageSize(exp *config.Experiment) int {
	if exp.Data.ImageSize > 0 {
		return exp.Data.ImageSize
	}
	if exp.Data.Kind == "synthetic" {
		return exp.Data.Synthetic.Size
	}
	if mnistKind(exp) {
		return 28
	}
	return exp.Data.NYUD2.Size
}

// projection is one line: the experiment's whole protocol timed from the measured steps.
func projection(exp *config.Experiment, res []train.BenchResult) string {
	nTrain, nTest, what := 795, 654, "NYU Depth V2's 795 train / 654 test"
	if exp.Data.Kind == "synthetic" {
		nTrain, nTest, what = exp.Data.Synthetic.Train, exp.Data.Synthetic.Test, "synthetic"
	}
	if mnistKind(exp) {
		nTrain, nTest = mnistCounts(exp)
		what = exp.Data.Kind + " halves"
	}
	ms := map[string]float64{}
	for _, r := range res {
		ms[r.Step] = r.MsPerStep
	}
	w := train.CountProtocol(exp, nTrain, nTest)
	return fmt.Sprintf("protocol %s (%d methods × %d SNRs × %d label fractions, %d/%d epochs, %s images): "+
		"%d pre-training steps + %d fine-tuning steps + %d evaluation batches ≈ %s of compute on %s",
		exp.Name, len(exp.Methods), len(exp.Channel.SNRsDB), len(exp.Data.LabelFractions), exp.Pretrain.Epochs,
		exp.Finetune.Epochs, what, w.PretrainSteps, w.FinetuneSteps, w.EvalBatches,
		w.Projected(ms["pretrain"], ms["finetune"], ms["eval"]).Round(time.Second), res[0].Device)
}

// mnistKind says whether the experiment reads the MNIST or Fashion-MNIST halves.
func mnistKind(exp *config.Experiment) bool {
	return exp.Data.Kind == "mnist" || exp.Data.Kind == "fashion-mnist"
}

// mnistCounts is the halves' train and test sizes before the validation hold-out (0 keeps all).
func mnistCounts(exp *config.Experiment) (train, test int) {
	train, test = 60000, 10000
	if m := exp.Data.MNIST; m.Train > 0 {
		train = m.Train
	}
	if m := exp.Data.MNIST; m.Test > 0 {
		test = m.Test
	}
	return train, test
}
