package main

import (
	"encoding/json"
	"fmt"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/semcom/semcom/config"
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
steps are excluded; each figure is the median over --repeats of the mean over --steps. Defaults: 224×224,
width 64, batch 64 on CUDA (the paper's scale); 32×32, width 16, batch 64 on CPU.`,
		Example: "  semcom bench --device cuda\n  semcom bench --device cpu --size 64 --width 64 --batch 16",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exp, err := config.Load(file, set)
			if err != nil {
				return err
			}
			if device == "" {
				device = exp.Device
			}
			dev, err := torch.ParseDevice(device)
			if err != nil {
				return fmt.Errorf("--device: %w", err)
			}
			if dev.IsCUDA() && !torch.CUDAAvailable() {
				return fmt.Errorf("--device %s: CUDA is not usable with this shim", device)
			}
			if dev.IsCUDA() {
				torch.SetCudnnBenchmark(true)
			}
			def := func(v *int, cpu, cuda int) {
				if *v == 0 {
					*v = cpu
					if dev.IsCUDA() {
						*v = cuda
					}
				}
			}
			def(&c.Size, 32, 224)
			def(&c.Width, 16, 64)
			def(&c.Batch, 64, 64)
			if c.Steps < 1 || c.Repeats < 1 || c.Warmup < 0 || c.Size < 16 || c.Batch < 2 {
				return fmt.Errorf("want --steps ≥ 1, --repeats ≥ 1, --warmup ≥ 0, --size ≥ 16, --batch ≥ 2")
			}
			if c.Only != "" && c.Only != "pretrain" && c.Only != "finetune" {
				return fmt.Errorf("--step %q: want pretrain or finetune", c.Only)
			}
			env := &train.Env{Exp: exp, Dev: dev, Log: logrus.StandardLogger()}
			res, err := env.Bench(c)
			if err != nil && len(res) == 0 {
				return err
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
	cmd.Flags().StringVar(&c.Only, "step", "", "time only this step: pretrain or finetune")
	cmd.Flags().BoolVar(&c.CheckFlat, "check-flat", false, "fail if live tensors or allocated GPU memory grow after warm-up")
	return cmd
}
