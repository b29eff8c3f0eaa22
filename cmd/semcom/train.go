package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/semcom/semcom/config"
	"github.com/semcom/semcom/data"
	"github.com/semcom/semcom/data/mnist"
	"github.com/semcom/semcom/data/nyud2"
	"github.com/semcom/semcom/internal/progress"
	"github.com/semcom/semcom/internal/sysmem"
	"github.com/semcom/semcom/report"
	"github.com/semcom/semcom/runfolder"
	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/safetensors"
	"github.com/semcom/semcom/tracking"
	"github.com/semcom/semcom/train"
)

// common flags of the training commands
type runFlags struct {
	config    string
	set       []string
	out       string
	name      string
	device    string
	resume    bool
	overwrite bool
	stopAfter int
	// data parallel
	nproc       int
	distTimeout time.Duration
}

func (f *runFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.config, "config", "c", "", "experiment YAML (defaults: 'semcom config defaults')")
	cmd.Flags().StringArrayVar(&f.set, "set", nil, "override a key, e.g. --set pretrain.epochs=5 --set channel.snrs_db=[0,10] (repeatable)")
	cmd.Flags().StringVar(&f.out, "out", "", "parent folder of the run folder (overrides out)")
	cmd.Flags().StringVar(&f.name, "name", "", "run name, the run folder's name (overrides name)")
	cmd.Flags().StringVar(&f.device, "device", "", "auto, cpu, cuda or cuda:N (overrides device)")
	cmd.Flags().BoolVar(&f.resume, "resume", false, "continue an interrupted run in the same folder: finished jobs are reused, interrupted ones resume from their newest intact checkpoint; without -c the run's stored config.yaml is used, and another config is refused")
	cmd.Flags().BoolVar(&f.overwrite, "overwrite", false, "delete an existing run folder of the same name first (only a semcom run folder is ever deleted)")
	cmd.Flags().IntVar(&f.stopAfter, "stop-after", 0, "stop each job after this epoch (checkpointed; continue with --resume)")
	cmd.Flags().IntVar(&f.nproc, "nproc-per-node", 1, "data parallel: run N local ranks (one GPU each), the global batch split between them; "+
		"under torchrun, srun or a Kubernetes Indexed Job semcom reads the ranks from their environment instead")
	cmd.Flags().DurationVar(&f.distTimeout, "dist-timeout", 5*time.Minute, "data parallel: how long a collective waits for the other ranks before failing")
}

// check refuses the numeric flags' impossible values before anything starts.
func (f *runFlags) check() error {
	switch {
	case f.stopAfter < 0:
		return invalid(fmt.Errorf("--stop-after %d: want an epoch ≥ 1 (0: run every epoch)", f.stopAfter))
	case f.nproc < 1:
		return invalid(fmt.Errorf("--nproc-per-node %d: want at least 1 rank", f.nproc))
	case f.distTimeout <= 0:
		return invalid(fmt.Errorf("--dist-timeout %v: want a positive duration, e.g. 5m", f.distTimeout))
	}
	return nil
}

// launched runs the command as local ranks when --nproc-per-node asks for several and this process is not
// a rank already; done reports that it did. It checks the flags first.
func (f *runFlags) launched() (done bool, err error) {
	if err := f.check(); err != nil {
		return true, err
	}
	if f.nproc <= 1 || os.Getenv("RANK") != "" {
		return false, nil
	}
	return true, launchLocal(f.nproc, withoutFlag(os.Args[1:], "--nproc-per-node"))
}

// overrides are the --set values and the flags that stand for keys, each naming itself in errors.
func (f *runFlags) overrides() ([]config.Override, error) {
	sets, err := config.ParseSets(f.set)
	if err != nil {
		return nil, err
	}
	for _, fl := range []struct{ key, flag, value string }{{"out", "--out", f.out}, {"name", "--name", f.name}, {"device", "--device", f.device}} {
		if fl.value != "" {
			sets = append(sets, config.Override{Key: fl.key, Value: fl.value, From: fl.flag, Literal: true})
		}
	}
	return sets, nil
}

// resolve loads the experiment. --resume without -c resumes with the run's stored config.yaml.
func (f *runFlags) resolve() (*config.Experiment, error) {
	sets, err := f.overrides()
	if err != nil {
		return nil, invalid(err)
	}
	path := f.config
	if f.resume && path == "" {
		where, err := config.Resolve("", sets)
		if err != nil {
			return nil, invalid(err)
		}
		stored := filepath.Join(where.Out, where.Name, runfolder.ConfigFile)
		if _, err := os.Stat(stored); err == nil {
			logrus.Infof("resuming with the run's stored config %s", stored)
			path = stored
		}
	}
	exp, err := config.Resolve(path, sets)
	if err != nil {
		return nil, invalid(err)
	}
	return exp, nil
}

// device parses and prepares the experiment's device.
func device(exp *config.Experiment) (torch.Device, error) {
	dev, err := torch.ParseDevice(exp.Device)
	if err != nil {
		return dev, invalid(fmt.Errorf("device: %w", err))
	}
	if dev.IsCUDA() && !torch.CUDAAvailable() {
		return dev, invalid(fmt.Errorf("device %s: CUDA is not usable with this shim (see 'semcom version')", exp.Device))
	}
	if exp.Threads > 0 {
		torch.SetNumThreads(exp.Threads)
	}
	if dev.IsCUDA() {
		torch.SetCudnnBenchmark(true)
	}
	return dev, nil
}

// session is an open run: the environment jobs share and the run folder it holds locked.
type session struct {
	*train.Env
	run  *runfolder.Run
	stop func()
}

// Close releases the run folder, leaves the group and stops watching for signals.
func (s *session) Close() {
	s.stop()
	if s.run != nil {
		s.run.Close()
	}
	if s.Group != nil {
		s.Group.Close()
	}
}

// setup resolves the config, checks that it fits in memory, opens and locks the run folder (checking the
// stored config when resuming), loads the data and records the resolved config in the run folder.
func (f *runFlags) setup() (*session, error) {
	exp, err := f.resolve()
	if err != nil {
		return nil, err
	}
	mode := runfolder.New
	switch {
	case f.resume && f.overwrite:
		return nil, invalid(errors.New("--resume and --overwrite: choose one (continue the run, or delete it and start again)"))
	case f.resume:
		mode = runfolder.Resume
	case f.overwrite:
		mode = runfolder.Overwrite
	}
	group, err := joinGroup(exp, f.distTimeout)
	if err != nil {
		return nil, err
	}
	s, err := openSessionIn(exp, mode, f.stopAfter, group)
	if err != nil && group != nil {
		group.Close()
	}
	return s, err
}

// openSession opens the run folder <out>/<name> of a resolved experiment in the given mode and prepares
// everything its jobs share.
func openSession(exp *config.Experiment, mode runfolder.Mode, stopAfter int) (*session, error) {
	return openSessionIn(exp, mode, stopAfter, nil)
}

// openSessionIn is openSession as one rank of a data-parallel group (nil: a single process). Only rank 0
// opens, locks and writes the run folder.
func openSessionIn(exp *config.Experiment, mode runfolder.Mode, stopAfter int, group *torch.ProcessGroup) (*session, error) {
	if group != nil && group.Rank != 0 {
		return otherRank(exp, stopAfter, group)
	}
	dev, err := device(exp)
	if err != nil {
		return nil, err
	}
	if group != nil {
		dev = rankDevice(dev)
	}
	prov := build()
	prov.Device = dev.String()
	runfolder.SetProvenance(prov)
	if s := exp.Data.Synthetic; exp.Data.Kind == "synthetic" {
		size := int64(exp.Data.ImageSize)
		if size == 0 {
			size = int64(s.Size)
		}
		if err := checkMemory(exp, dev, train.EstimateMemory(exp, []int64{3, 1}, s.Classes, int64(s.Train+s.Test), int64(s.Size), size)); err != nil {
			return nil, err
		}
	}
	hash := exp.Hash()
	run, err := runfolder.Open(exp.Out, exp.Name, mode, hash, func(stored string) []string {
		old, err := config.Resolve(stored, nil)
		if err != nil {
			return []string{fmt.Sprintf("the stored %s does not load: %v", stored, err)}
		}
		return config.Diff(old, exp)
	})
	var changed *runfolder.ConfigChangedError
	if errors.As(err, &changed) {
		return nil, invalid(err)
	}
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			run.Close()
		}
	}()
	if st := run.Lock.Stale; st != nil {
		logrus.Warnf("%s was left locked by %s, which ended without releasing it; taking it over", run.Dir, st)
	}
	for _, c := range run.Cleaned {
		logrus.Infof("removed %s, left by an interrupted write", c)
	}
	if run.NothingToResume {
		logrus.Warnf("--resume: %s holds no run yet; starting a new one", run.Dir)
	}
	ds, err := loadData(exp)
	if err != nil {
		return nil, invalid(err)
	}
	if exp.Data.Kind != "synthetic" {
		var chans []int64
		for _, m := range ds.Modalities {
			chans = append(chans, m.Channels)
		}
		size := int64(exp.Data.ImageSize)
		if size == 0 {
			size = ds.Train.Size()
		}
		if err := checkMemory(exp, dev, train.EstimateMemory(exp, chans, len(ds.ClassNames), ds.Train.N()+ds.Test.N()+val(ds), ds.Train.Size(), size)); err != nil {
			return nil, err
		}
	}
	toDevice(ds, dev)
	yaml, err := exp.YAML()
	if err != nil {
		return nil, err
	}
	if err := run.Commit(yaml, hash); err != nil {
		return nil, err
	}
	log := logrus.WithField("run", exp.Name)
	log.Infof("%s: %d train / %d validation / %d test samples, %d classes, modalities %s, %dpx; device %s; run folder %s",
		ds.Name, ds.Train.N(), val(ds), ds.Test.N(), len(ds.ClassNames), modalityNames(ds), ds.Train.Size(), dev, run.Dir)
	trackDir := ""
	if len(exp.Tracking) > 0 {
		trackDir = filepath.Join(run.Dir, "tb")
		if err := tracking.CheckWritable(trackDir); err != nil {
			return nil, invalid(fmt.Errorf("tracking: %w", err))
		}
	}
	interrupted, stop := watchSignals()
	ok = true
	return &session{Env: &train.Env{Exp: exp, Data: ds, Dev: dev, Log: log, Dir: run.Dir, Progress: progress.New, StopAfter: stopAfter,
		ConfigHash: hash, Interrupted: interrupted, TrackDir: trackDir, Group: group}, run: run, stop: stop}, nil
}

// otherRank prepares a rank other than 0: the same data and device, the run folder only read.
func otherRank(exp *config.Experiment, stopAfter int, group *torch.ProcessGroup) (*session, error) {
	dev, err := device(exp)
	if err != nil {
		return nil, err
	}
	dev = rankDevice(dev)
	ds, err := loadData(exp)
	if err != nil {
		return nil, invalid(err)
	}
	toDevice(ds, dev)
	interrupted, stop := watchSignals()
	return &session{Env: &train.Env{Exp: exp, Data: ds, Dev: dev, Log: logrus.WithField("rank", group.Rank), Dir: filepath.Join(exp.Out, exp.Name),
		StopAfter: stopAfter, ConfigHash: exp.Hash(), Interrupted: interrupted, Group: group}, stop: stop}, nil
}

// syntheticConfig maps the config's synthetic section to the generator's.
func syntheticConfig(s config.Synthetic) data.SyntheticConfig {
	c := data.SyntheticConfig{Train: s.Train, Test: s.Test, Size: s.Size, Classes: s.Classes, Noise: s.Noise, Seed: s.Seed,
		Version: s.Version, Difficulty: s.Difficulty}
	copy(c.Levels[:], s.Levels)
	return c
}

// val is the size of the validation split (0 without one).
func val(ds *data.Dataset) int64 {
	if ds.Val == nil {
		return 0
	}
	return ds.Val.N()
}

// toDevice moves every split to dev.
func toDevice(ds *data.Dataset, dev torch.Device) {
	for _, s := range []*data.Split{ds.Train, ds.Val, ds.Test} {
		if s != nil {
			s.To(dev)
		}
	}
}

// checkMemory refuses a config whose estimated peak memory exceeds what the device has free.
func checkMemory(exp *config.Experiment, dev torch.Device, est train.MemoryEstimate) error {
	var free int64
	var err error
	what := "available RAM"
	if dev.IsCUDA() {
		free, err = sysmem.CUDA(int(dev))
		what = fmt.Sprintf("free memory of %s", dev)
	} else {
		free, err = sysmem.CPU()
	}
	if err != nil {
		logrus.Debugf("memory check skipped: %v (estimate %v)", err, est)
		return nil
	}
	if est.Total() > free {
		return invalid(fmt.Errorf("config %q needs %v, more than the %s (%s): lower data.image_size, the batch sizes, model.width or the data size",
			exp.Name, est, what, sysmem.GiB(free)))
	}
	logrus.Debugf("memory estimate %v of %s %s", est, what, sysmem.GiB(free))
	return nil
}

func modalityNames(ds *data.Dataset) string {
	var n []string
	for _, m := range ds.Modalities {
		n = append(n, m.Name)
	}
	return strings.Join(n, "+")
}

// loadData loads the configured dataset and holds out its validation split.
func loadData(exp *config.Experiment) (*data.Dataset, error) {
	ds, err := loadSplits(exp)
	if err != nil {
		return nil, err
	}
	if err := ds.HoldOutValidation(exp.Data.ValidationFraction, exp.DataSeed()+11); err != nil {
		return nil, fmt.Errorf("data.validation_fraction: %w", err)
	}
	return ds, nil
}

func loadSplits(exp *config.Experiment) (*data.Dataset, error) {
	switch exp.Data.Kind {
	case "synthetic":
		s := exp.Data.Synthetic
		ds, err := data.Synthetic(syntheticConfig(s))
		if err != nil {
			return nil, fmt.Errorf("data.%w", err)
		}
		return ds, nil
	case "nyud2":
		n := exp.Data.NYUD2
		if n.Mat != "" {
			_, reused, err := prepareNYUD2(n.Mat, n.Splits, exp.Data.Path, n.Size, n.ClassOrder)
			if err != nil {
				return nil, fmt.Errorf("data.nyud2: %w", err)
			}
			if !reused {
				logrus.Infof("prepared the NYU Depth V2 cache in %s", exp.Data.Path)
			}
		}
		ds, _, err := nyud2.LoadCache(exp.Data.Path)
		if err != nil {
			return nil, fmt.Errorf("data.path: %w", err)
		}
		return ds, nil
	case "folder":
		ds, err := nyud2.LoadFolder(exp.Data.Path, exp.Data.NYUD2.Size)
		if err != nil {
			return nil, fmt.Errorf("data.path: %w", err)
		}
		return ds, nil
	case "mnist", "fashion-mnist":
		m := exp.Data.MNIST
		ds, err := data.Halves(data.HalvesConfig{Kind: exp.Data.Kind, Dir: exp.Data.Path, Square: mnist.Square(m.Square), Train: m.Train, Test: m.Test, Seed: m.Seed})
		if err != nil {
			return nil, fmt.Errorf("data.path: %w", err)
		}
		return ds, nil
	}
	return nil, fmt.Errorf("data.kind = %q: want synthetic, nyud2, folder, mnist or fashion-mnist", exp.Data.Kind)
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the paper's protocol (methods × SNRs × label fractions) and compare the methods",
		Long: `Runs Stage I (self-supervised pre-training, once per method) and Stage II (fine-tuning through the
channel at every SNR and label fraction), evaluates on the test split, and writes into <out>/<name>:
config.yaml, per-job metrics (CSV and JSON lines) and checkpoints, accuracy-vs-rounds plots (one PNG per
label fraction, one panel per SNR) and summary.md / summary.json.`,
		Example: "  semcom run --config configs/demo.yaml\n  semcom run -c configs/demo.yaml --set finetune.epochs=5 --name quick\n  semcom run -c configs/demo.yaml --resume",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if done, err := f.launched(); done {
				return err
			}
			env, err := f.setup()
			if err != nil {
				return err
			}
			defer env.Close()
			var res train.Results
			if cerr := torch.Catch(func() { res, err = env.RunProtocol(f.resume) }); cerr != nil {
				return fmt.Errorf("data-parallel collective: %w", cerr) // a rank that died or timed out
			}
			if err != nil {
				return resumable(err)
			}
			if env.Group != nil && env.Group.Rank != 0 {
				return nil // rank 0 writes the report
			}
			md, plots, err := report.Write(env.Dir, env.Exp.Name, res.Curves, res.Probes)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), md)
			for _, p := range plots {
				fmt.Fprintln(cmd.OutOrStdout(), "plot:", p)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "summary:", filepath.Join(env.Dir, "summary.md"))
			return nil
		},
	}
	f.bind(cmd)
	return cmd
}

func newPretrainCmd() *cobra.Command {
	var f runFlags
	var method string
	cmd := &cobra.Command{
		Use:   "pretrain",
		Short: "Stage I: label-free self-supervised pre-training of the device encoders",
		Long: `Pre-trains the encoders with one method and writes <run>/pretrain/<method>/: encoders.safetensors
(all modalities, for 'semcom finetune --init'), resnet18-<modality>.safetensors (torchvision names, loadable in
PyTorch), metrics and a checkpoint.`,
		Example: "  semcom pretrain -c configs/demo.yaml --method proposed",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if method == train.MethodSupervised || !slices.Contains(config.Methods, method) {
				return invalid(fmt.Errorf("--method %q: want proposed, simclr or barlow", method))
			}
			if done, err := f.launched(); done {
				return err
			}
			env, err := f.setup()
			if err != nil {
				return err
			}
			defer env.Close()
			var path string
			if cerr := torch.Catch(func() { path, err = env.Pretrain(method, f.resume) }); cerr != nil {
				return fmt.Errorf("data-parallel collective: %w", cerr)
			}
			if err != nil {
				return resumable(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "encoders:", path)
			return nil
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVarP(&method, "method", "m", "proposed", "proposed, simclr or barlow")
	return cmd
}

func newFinetuneCmd() *cobra.Command {
	var f runFlags
	var method, init string
	var snr, labels float64
	cmd := &cobra.Command{
		Use:   "finetune",
		Short: "Stage II: fine-tune encoders and server decoder through the channel with labels",
		Example: "  semcom finetune -c configs/demo.yaml --init runs/demo/pretrain/proposed/encoders.safetensors --snr 10\n" +
			"  semcom finetune -c configs/demo.yaml --method supervised --snr 0 --labels 0.5",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(config.Methods, method) {
				return invalid(fmt.Errorf("--method %q: want one of %s", method, strings.Join(config.Methods, ", ")))
			}
			if math.IsNaN(snr) || math.IsInf(snr, 0) {
				return invalid(fmt.Errorf("--snr %v: want a finite SNR in dB", snr))
			}
			if !(labels > 0 && labels <= 1) {
				return invalid(fmt.Errorf("--labels %v: want a fraction in (0, 1]", labels))
			}
			if init != "" {
				if _, err := os.Stat(init); err != nil {
					return invalid(fmt.Errorf("--init: %w", err))
				}
			} else if method != "supervised" {
				// Without encoders from Stage I the job trains from scratch: labelled "proposed" it would
				// pass a supervised baseline off as the method.
				return invalid(fmt.Errorf("--method %s without --init would train from scratch under the name %q: "+
					"give --init <run>/pretrain/%s/encoders.safetensors, or --method supervised", method, method, method))
			}
			if done, err := f.launched(); done {
				return err
			}
			env, err := f.setup()
			if err != nil {
				return err
			}
			defer env.Close()
			if init != "" {
				if err := checkInit(env.Env, init); err != nil {
					return err
				}
			}
			job := train.FinetuneJob{Method: method, LabelFraction: labels, TrainSNR: snr, Init: init}
			dir := job.Dir(env.Dir)
			var rows []train.Row
			if cerr := torch.Catch(func() { rows, err = env.Finetune(job, f.resume) }); cerr != nil {
				return fmt.Errorf("data-parallel collective: %w", cerr)
			}
			var div *train.DivergedError
			if errors.As(err, &div) {
				return fmt.Errorf("%w (metrics so far: %s)", err, filepath.Join(dir, "metrics.csv"))
			}
			if err != nil {
				return resumable(err)
			}
			last := rows[len(rows)-1]
			fmt.Fprintf(cmd.OutOrStdout(), "epoch %d: test accuracy %v, %d rounds, %d uplink bytes; metrics: %s\n",
				last.Epoch, last.Accuracy, last.Rounds, last.UplinkBytes, filepath.Join(dir, "metrics.csv"))
			return nil
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVarP(&method, "method", "m", "proposed", "label for the run: the method whose --init encoders these are, or supervised (from scratch unless --init)")
	cmd.Flags().StringVar(&init, "init", "", "pre-trained encoders (encoders.safetensors from 'semcom pretrain')")
	cmd.Flags().Float64Var(&snr, "snr", 10, "training SNR in dB")
	cmd.Flags().Float64Var(&labels, "labels", 1, "fraction of the training labels to use, in (0, 1]")
	return cmd
}

func newEvalCmd() *cobra.Command {
	var f runFlags
	var ckpt string
	cmd := &cobra.Command{
		Use:     "eval",
		Short:   "Evaluate a fine-tuned checkpoint on the test split at the configured SNRs",
		Example: "  semcom eval -c configs/demo.yaml --checkpoint runs/demo/finetune/proposed-labels100-snr10 --set channel.snrs_db=[-5,0,5,10,20]",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ckpt == "" {
				return invalid(errors.New("--checkpoint: name a fine-tuning job folder (its newest intact checkpoint is used) or a state.safetensors"))
			}
			if _, err := os.Stat(ckpt); err != nil {
				return invalidUnlessIO(fmt.Errorf("--checkpoint: %w", err))
			}
			if err := f.check(); err != nil {
				return err
			}
			exp, err := f.resolve()
			if err != nil {
				return err
			}
			dev, err := device(exp)
			if err != nil {
				return err
			}
			ds, err := loadData(exp)
			if err != nil {
				return invalid(err)
			}
			toDevice(ds, dev)
			env := &train.Env{Exp: exp, Data: ds, Dev: dev, Log: logrus.WithField("eval", ckpt)}
			acc, err := env.EvaluateCheckpoint(ckpt)
			if err != nil { // a checkpoint of another model, or not one at all
				return invalidUnlessIO(fmt.Errorf("--checkpoint: %w", err))
			}
			for _, s := range env.Exp.Channel.SNRsDB {
				k := train.SNRKey(s)
				fmt.Fprintf(cmd.OutOrStdout(), "SNR %6g dB: test accuracy %.2f%% ± %.2f (std over %d noise draws)\n", s, 100*acc.Mean[k], 100*acc.Std[k], exp.Eval.NoiseDraws)
			}
			return nil
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&ckpt, "checkpoint", "", "fine-tuning job folder (its newest intact checkpoint), or a state.safetensors")
	return cmd
}

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Show configuration"}
	cmd.AddCommand(&cobra.Command{
		Use:   "defaults",
		Short: "Print every key with its default value",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := cmd.OutOrStdout().Write(config.Defaults())
			return err
		},
	})
	var file string
	var set []string
	show := &cobra.Command{
		Use:   "show",
		Short: "Print the resolved configuration (defaults < file < SEMCOM_* environment < --set)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := config.Load(file, set)
			if err != nil {
				return invalid(err)
			}
			b, err := e.YAML()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	show.Flags().StringVarP(&file, "config", "c", "", "experiment YAML")
	show.Flags().StringArrayVar(&set, "set", nil, "override a key (repeatable)")
	cmd.AddCommand(show)
	return cmd
}

// checkInit refuses, before any training, a --init that is not encoders of this config's model: not a
// safetensors file, or another width, feature dimension or modality set.
func checkInit(env *train.Env, path string) error {
	enc, _, err := safetensors.Load(path)
	if err != nil {
		return invalidUnlessIO(fmt.Errorf("--init: %w", err))
	}
	defer torch.FreeAll(enc)
	sys := train.NewSystem(env.Exp.Model, env.Data.Modalities, len(env.Data.ClassNames), env.Exp.FinetuneSeed())
	if err := sys.Load(enc, "encoder"); err != nil {
		return invalid(fmt.Errorf("--init %s: %w (is it encoders.safetensors of a pre-training with this config's model section?)", path, err))
	}
	return nil
}
