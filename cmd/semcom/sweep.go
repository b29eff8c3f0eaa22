package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/semcom/semcom/internal/fsutil"
	"github.com/semcom/semcom/internal/progress"
	"github.com/semcom/semcom/runfolder"
	"github.com/semcom/semcom/sweep"
	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/tracking"
	"github.com/semcom/semcom/train"
)

func newSweepCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Grids of experiments over seeds and config values, on this machine, Slurm or Kubernetes",
		Long: `A grid file names a base config, seeds and lists of values for any key:

  name: fading-grid
  out: runs/sweeps
  base: ../configs/demo.yaml        # relative to the grid file
  set: {finetune.epochs: 8}         # the same for every point
  seeds: [1, 2, 3, 4, 5]
  vary_seeds: [pretrain, finetune, data]   # which seeds the list varies (default: all three)
  grid:
    channel.fading: [none, rayleigh]

It expands into a DAG of jobs: one pre-training per method, seed and Stage-I values (shared by every
fine-tuning job that needs it) and one fine-tuning job per point, method, label fraction and SNR. Every job
runs idempotently in <out>/<name>/jobs/<job>/ and ends with a DONE marker; 'semcom sweep run' runs one (by
--index, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX); 'local', 'slurm' and 'k8s' drive them all; 'status'
and 'collect' read the folders alone.

Exit codes of 'sweep run': 0 done (also: already done), 2 invalid config or data (never retry), 3 diverged
(a result, recorded), 4 a dependency is not done yet, anything else transient (retry).`,
	}
	var grid string
	var maxJobs int
	cmd.PersistentFlags().StringVarP(&grid, "grid", "g", "", "grid file (YAML)")
	defaultMax := sweep.DefaultMaxJobs
	if v, err := strconv.Atoi(os.Getenv("SEMCOM_MAX_JOBS")); err == nil { // set for the processes a sweep starts
		defaultMax = v
	}
	cmd.PersistentFlags().IntVar(&maxJobs, "max-jobs", defaultMax, "refuse a grid that expands into more jobs than this (also SEMCOM_MAX_JOBS)")
	load := func() (*sweep.Plan, error) {
		if grid == "" {
			return nil, invalid(errors.New("--grid: name the grid file"))
		}
		g, err := sweep.Load(grid)
		if err != nil {
			return nil, invalid(err)
		}
		if maxJobs < 1 {
			return nil, invalid(fmt.Errorf("--max-jobs %d: want at least 1", maxJobs))
		}
		p, err := g.ExpandMax(maxJobs)
		if err != nil {
			return nil, invalid(err)
		}
		os.Setenv("SEMCOM_MAX_JOBS", strconv.Itoa(maxJobs)) // the 'sweep run' and 'sweep exec' children expand it too
		return p, nil
	}
	cmd.AddCommand(newSweepPlanCmd(load), newSweepRunCmd(load, &grid), newSweepExecCmd(load), newSweepWaitCmd(load), newSweepLocalCmd(load, &grid), newSweepStatusCmd(load),
		newSweepCollectCmd(load), newSweepSlurmCmd(load, &grid), newSweepK8sCmd(load))
	return cmd
}

type planLoader func() (*sweep.Plan, error)

// raisedMaxJobs is the --max-jobs that the loaded plan was expanded with when it is not the default (0
// otherwise): the scripts for a cluster hand it to their tasks.
func raisedMaxJobs() int {
	if n, err := strconv.Atoi(os.Getenv("SEMCOM_MAX_JOBS")); err == nil && n != sweep.DefaultMaxJobs {
		return n
	}
	return 0
}

func newSweepPlanCmd(load planLoader) *cobra.Command {
	var benchFile string
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Print the job table (index, stage, values, hash, dependencies) and the projected compute",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := load()
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "index\tstage\tmethod\tlabels\tSNR\tpoint\tseed\thash\tdeps\tjob")
			for _, j := range p.Jobs {
				labels, snr := "—", "—"
				if j.Stage == "finetune" {
					labels, snr = fmt.Sprintf("%g%%", 100*j.LabelFraction), fmt.Sprint(j.SNR)
				}
				deps := "—"
				if len(j.Deps) > 0 {
					deps = strings.Trim(fmt.Sprint(j.Deps), "[]")
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%.10s\t%s\t%s\n", j.Index, j.Stage, j.Method, labels, snr, j.Point.Label(), j.Point.Seed, j.Hash, deps, j.Name)
			}
			w.Flush()
			work := planWork(p)
			fmt.Fprintf(cmd.OutOrStdout(), "\n%d jobs (%d pre-training, %d fine-tuning) over %d points: %d pre-training steps, %d fine-tuning steps, %d evaluation batches\n",
				len(p.Jobs), countStage(p, "pretrain"), countStage(p, "finetune"), len(p.Points), work.PretrainSteps, work.FinetuneSteps, work.EvalBatches)
			if benchFile != "" {
				ms, err := readBench(benchFile)
				if err != nil {
					return invalid(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "projected compute from %s: %s (steps × measured step times)\n", benchFile,
					work.Projected(ms["pretrain"], ms["finetune"], ms["eval"]).Round(time.Second))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sweep folder: %s\n", p.Grid.Dir())
			return nil
		},
	}
	cmd.Flags().StringVar(&benchFile, "bench", "", "step times: the output of 'semcom bench -c BASE --json' on the target device")
	return cmd
}

func countStage(p *sweep.Plan, stage string) int {
	n := 0
	for _, j := range p.Jobs {
		if j.Stage == stage {
			n++
		}
	}
	return n
}

// planWork counts the optimiser steps and evaluation batches of every job of a plan.
func planWork(p *sweep.Plan) train.ProtocolWork {
	var w train.ProtocolWork
	for _, j := range p.Jobs {
		x := *j.Point.Exp
		x.Methods = []string{j.Method}
		nTrain, nTest := 795, 654 // NYU Depth V2's official split when the data is not synthetic
		if s := x.Data.Synthetic; x.Data.Kind == "synthetic" {
			nTrain, nTest = s.Train, s.Test
		}
		if mnistKind(&x) {
			nTrain, nTest = mnistCounts(&x)
		}
		nTrain = int(math.Round(float64(nTrain) * (1 - x.Data.ValidationFraction)))
		if j.Stage == "pretrain" {
			w.PretrainSteps += train.CountProtocol(&x, nTrain, nTest).PretrainSteps
			continue
		}
		x.Data.LabelFractions, x.Channel.SNRsDB = []float64{j.LabelFraction}, x.Channel.SNRsDB[:1]
		c := train.CountProtocol(&x, nTrain, nTest)
		w.FinetuneSteps += c.FinetuneSteps
		w.EvalBatches += c.EvalBatches * len(j.Point.Exp.Channel.SNRsDB)
	}
	return w
}

func readBench(path string) (map[string]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rs []train.BenchResult
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("%s: want the JSON of 'semcom bench --json': %w", path, err)
	}
	ms := map[string]float64{}
	for _, r := range rs {
		ms[r.Step] = r.MsPerStep
	}
	return ms, nil
}

// indexFlags adds --index and --offset, which sweepIndex reads.
func indexFlags(cmd *cobra.Command, index, offset *int) {
	cmd.Flags().IntVar(index, "index", -1, "job index (default: SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX, plus --offset)")
	cmd.Flags().IntVar(offset, "offset", 0, "added to the engine's index (a Slurm array or Indexed Job that holds only the fine-tuning jobs)")
}

// sweepIndex reads the job index from --index or the engines' variables.
func sweepIndex(flag int, offset int) (int, error) {
	if flag < -1 { // -1 is the flag's "not given"
		return 0, invalid(fmt.Errorf("--index %d: a job index is ≥ 0 (see 'semcom sweep plan')", flag))
	}
	if offset < 0 {
		return 0, invalid(fmt.Errorf("--offset %d: want ≥ 0", offset))
	}
	if flag >= 0 {
		return flag, nil
	}
	for _, v := range []string{"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"} {
		if s := os.Getenv(v); s != "" {
			i, err := strconv.Atoi(s)
			if err != nil {
				return 0, invalid(fmt.Errorf("%s=%q: not an index", v, s))
			}
			return i + offset, nil
		}
	}
	return 0, invalid(errors.New("--index: give it, or run under a Slurm array (SLURM_ARRAY_TASK_ID) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)"))
}

func newSweepRunCmd(load planLoader, grid *string) *cobra.Command {
	var index, offset, nproc int
	var lockWait time.Duration
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run one job of the sweep (idempotent: a done job exits 0 at once; an interrupted one resumes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := load()
			if err != nil {
				return err
			}
			i, err := sweepIndex(index, offset)
			if err != nil {
				return err
			}
			if nproc < 1 {
				return invalid(fmt.Errorf("--nproc-per-node %d: want at least 1 rank", nproc))
			}
			if err := p.Prepare(); err != nil {
				return invalid(err)
			}
			exec := execSweepJob
			if nproc > 1 { // the job's data-parallel ranks, each a 'sweep exec' process
				exec = func(j *sweep.Job, _ string, _ []string) error {
					return launchLocal(nproc, []string{"sweep", "exec", "--grid", *grid, "--index", strconv.Itoa(j.Index)})
				}
			}
			code := p.RunJob(i, exec, exitCode, lockWait, logrus.Infof)
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	indexFlags(cmd, &index, &offset)
	cmd.Flags().IntVar(&nproc, "nproc-per-node", 1, "run the job on N data-parallel ranks (one GPU each)")
	cmd.Flags().DurationVar(&lockWait, "lock-wait", 10*time.Minute, "how long to wait for another process that holds the same job (a requeue or a duplicate pod)")
	return cmd
}

// newSweepExecCmd is one data-parallel rank of a job that 'sweep run --nproc-per-node' started (its
// launcher's environment says which); 'sweep run' keeps the job's markers.
func newSweepExecCmd(load planLoader) *cobra.Command {
	var index int
	cmd := &cobra.Command{
		Use:    "exec",
		Short:  "One data-parallel rank of a sweep job (started by 'sweep run --nproc-per-node')",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := load()
			if err != nil {
				return err
			}
			j, err := p.Job(index)
			if err != nil {
				return invalid(err)
			}
			var deps []string
			for _, d := range j.Deps {
				deps = append(deps, p.JobDir(p.Jobs[d]))
			}
			exp := *j.Point.Exp
			group, err := joinGroup(&exp, 5*time.Minute)
			if err != nil {
				return err
			}
			return execSweepJobIn(j, p.JobDir(j), deps, group)
		},
	}
	cmd.Flags().IntVar(&index, "index", -1, "job index")
	return cmd
}

// exitError carries a sweep job's exit code out of cobra, with what to tell the user (default: the code).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return fmt.Sprintf("job ended with exit code %d", e.code)
}

// execSweepJob trains one job in its folder.
func execSweepJob(j *sweep.Job, dir string, deps []string) error {
	return execSweepJobIn(j, dir, deps, nil)
}

// execSweepJobIn trains one job in its folder, as one rank of group (nil: a single process).
func execSweepJobIn(j *sweep.Job, dir string, deps []string, group *torch.ProcessGroup) error {
	if j.Stage == "finetune" && len(deps) > 0 {
		// A pre-training marked DONE without its encoders (deleted, or a folder copied without them) would
		// fail this job the same way on every retry: say so, and how to re-run it.
		enc := filepath.Join(deps[0], "pretrain", j.Method, train.EncodersFile)
		if _, err := os.Stat(enc); errors.Is(err, os.ErrNotExist) {
			if group != nil {
				group.Close()
			}
			return invalid(fmt.Errorf("its pre-training %s is marked done but has no %s: remove %s to run it again",
				filepath.Base(deps[0]), enc, filepath.Join(deps[0], sweep.DoneFile)))
		}
	}
	exp := *j.Point.Exp
	exp.Out, exp.Name = filepath.Dir(dir), filepath.Base(dir)
	s, err := openSessionIn(&exp, runfolder.Resume, 0, group)
	if err != nil {
		if group != nil {
			group.Close()
		}
		return err
	}
	defer s.Close()
	if s.TrackDir != "" { // one log folder per sweep: tensorboard --logdir <sweep>/tb shows every job
		s.TrackDir = filepath.Join(filepath.Dir(filepath.Dir(dir)), "tb", j.Name)
		if err := tracking.CheckWritable(s.TrackDir); err != nil {
			return invalid(fmt.Errorf("tracking: %w", err))
		}
	}
	if cerr := torch.Catch(func() {
		if j.Stage == "pretrain" {
			_, err = s.Pretrain(j.Method, true)
			return
		}
		init := ""
		if len(deps) > 0 {
			init = filepath.Join(deps[0], "pretrain", j.Method, train.EncodersFile)
		}
		_, err = s.Finetune(train.FinetuneJob{Method: j.Method, LabelFraction: j.LabelFraction, TrainSNR: j.SNR, Init: init}, true)
	}); cerr != nil {
		return fmt.Errorf("data-parallel collective: %w", cerr)
	}
	return resumable(err)
}

func newSweepLocalCmd(load planLoader, grid *string) *cobra.Command {
	var workers, perJob int
	var gpus string
	cmd := &cobra.Command{
		Use:   "local",
		Short: "Run the whole sweep on this machine with N worker processes (one GPU each, or the cores split)",
		Long: `Runs every job of the DAG as a 'semcom sweep run' process, N at a time, each as soon as its dependencies are
done. With --gpus each worker gets one device through CUDA_VISIBLE_DEVICES; without, the cores are split
between the workers. Logs go to <sweep>/logs/<job>.log. Running it again after a kill continues the sweep:
done jobs are skipped, interrupted ones resume from their checkpoints.`,
		Example: "  semcom sweep local -g grids/fading.yaml --workers 4 --gpus 0,1,2,3\n  semcom sweep local -g grids/fading.yaml --workers 2",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Bounded before anything is allocated per worker: more workers than jobs never run, and more
			// than a few per core only thrash.
			if maxWorkers := 4 * runtime.NumCPU(); workers < 1 || workers > maxWorkers {
				return invalid(fmt.Errorf("--workers %d: want 1 to %d (4 × the %d cores)", workers, maxWorkers, runtime.NumCPU()))
			}
			if perJob < 1 {
				return invalid(fmt.Errorf("--gpus-per-job %d: want at least 1", perJob))
			}
			p, err := load()
			if err != nil {
				return err
			}
			if err := p.Prepare(); err != nil {
				return invalid(err)
			}
			if workers > len(p.Jobs) {
				logrus.Infof("--workers %d: the sweep has %d jobs, so %d workers", workers, len(p.Jobs), len(p.Jobs))
				workers = max(1, len(p.Jobs))
			}
			var ids []string
			if gpus != "" {
				ids = strings.Split(gpus, ",")
				if !torch.CUDAAvailable() {
					logrus.Warnf("--gpus %s: this semcom's libtorch cannot use CUDA (see 'semcom version'): jobs with device: auto run on the CPU, device: cuda fails", gpus)
				}
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			finished := 0
			for _, j := range p.Jobs {
				if st := p.StateOf(j).Status; st == "done" || st == "diverged" {
					finished++
				}
			}
			bar := progress.New(fmt.Sprintf("sweep %s (%d workers)", p.Grid.Name, workers), len(p.Jobs))
			bar.Add(finished, "")
			defer bar.Finish()
			if len(ids) > 0 && workers*perJob > len(ids) {
				return invalid(fmt.Errorf("--workers %d × --gpus-per-job %d needs %d GPUs, --gpus names %d", workers, perJob, workers*perJob, len(ids)))
			}
			stop := make(chan os.Signal, 4)
			signal.Notify(stop, os.Interrupt, syscall.SIGTERM, syscall.SIGUSR1)
			defer signal.Stop(stop)
			res, err := p.RunLocal(sweep.LocalOptions{Workers: workers, GPUs: ids, GPUsPerJob: perJob, Cores: runtime.NumCPU(), Logf: logrus.Infof,
				Ended: func() { bar.Add(1, "") }, Stop: stop,
				Command: func(i int) *exec.Cmd {
					c := exec.Command(self, "sweep", "run", "--grid", *grid, "--index", strconv.Itoa(i), "--nproc-per-node", strconv.Itoa(max(1, perJob)))
					c.Env = os.Environ()
					return c
				}})
			if err != nil {
				return invalid(err)
			}
			if s, ok := res.Stopped.(syscall.Signal); ok {
				return &exitError{128 + int(s), fmt.Sprintf("sweep stopped by %v; its jobs keep their checkpoints. Continue with: %s", s, shellJoin(os.Args))}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d jobs: %d done, %d diverged, %d failed, %d blocked by a failed dependency; status: semcom sweep status -g %s\n",
				len(p.Jobs), res.Done, res.Diverged, res.Failed, res.Blocked, *grid)
			if res.Failed+res.Blocked > 0 {
				return fmt.Errorf("%d jobs failed and %d are blocked (logs in %s)", res.Failed, res.Blocked, filepath.Join(p.Grid.Dir(), "logs"))
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&workers, "workers", 1, "processes at a time")
	cmd.Flags().StringVar(&gpus, "gpus", "", "GPU ids to hand out, one per worker (e.g. 0,1,2,3)")
	cmd.Flags().IntVar(&perJob, "gpus-per-job", 1, "data-parallel ranks per job (GPUs per worker with --gpus; on the CPU, the worker's cores split between them)")
	return cmd
}

func newSweepStatusCmd(load planLoader) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Done / running / failed (with exit code and message) / pending per job, from the sweep folder alone",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := load()
			if err != nil {
				return err
			}
			if err := p.Check(); err != nil && !errors.Is(err, os.ErrNotExist) {
				return invalid(err)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "index\tjob\tstatus\texit\tdetail")
			counts := map[string]int{}
			for _, j := range p.Jobs {
				st := p.StateOf(j)
				counts[st.Status]++
				fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\n", j.Index, j.Name, st.Status, st.Exit, firstLine(st.Detail))
			}
			w.Flush()
			var parts []string
			for _, s := range []string{"done", "diverged", "running", "failed", "interrupted", "pending"} {
				if counts[s] > 0 {
					parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\n%d jobs: %s\n", len(p.Jobs), strings.Join(parts, ", "))
			return nil
		},
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

func newSweepWaitCmd(load planLoader) *cobra.Command {
	var index, offset int
	var every, timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait",
		Short: "Wait until a job's dependencies have ended (the init container of Kubernetes fine-tuning pods)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := load()
			if err != nil {
				return err
			}
			if every <= 0 {
				return invalid(fmt.Errorf("--every %v: want a positive duration, e.g. 15s", every))
			}
			if timeout < 0 {
				return invalid(fmt.Errorf("--timeout %v: want ≥ 0 (0: wait for ever)", timeout))
			}
			i, err := sweepIndex(index, offset)
			if err != nil {
				return err
			}
			j, err := p.Job(i)
			if err != nil {
				return invalid(err)
			}
			deadline := time.Now().Add(timeout)
			for {
				waiting := ""
				for _, d := range j.Deps {
					switch st := p.StateOf(p.Jobs[d]); {
					case st.Status == "done" || st.Status == "diverged" || st.Status == "failed" && st.Exit == sweep.ExitInvalid:
					default:
						waiting = fmt.Sprintf("%s is %s", p.Jobs[d].Name, st.Status)
					}
				}
				if waiting == "" {
					return nil
				}
				if timeout > 0 && time.Now().After(deadline) {
					return &exitError{code: sweep.ExitDependency}
				}
				logrus.Debugf("job %d: waiting: %s", i, waiting)
				time.Sleep(every)
			}
		},
	}
	indexFlags(cmd, &index, &offset)
	cmd.Flags().DurationVar(&every, "every", 15*time.Second, "how often to look")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long with exit code 4 (0: never)")
	return cmd
}

func newSweepSlurmCmd(load planLoader, grid *string) *cobra.Command {
	var o sweep.SlurmOptions
	var submit bool
	cmd := &cobra.Command{
		Use:   "slurm",
		Short: "Write sbatch job-array scripts for the sweep (and submit them with --submit)",
		Long: `Writes <sweep>/slurm/pretrain.sbatch and finetune.sbatch — job arrays, one task per job, with GPUs (--gres),
a throttle (%P), partition, account, time and an optional container — and submit.sh, which chains them:
the fine-tuning array starts after the pre-training array has ended (afterany). With --submit semcom
submits them itself and records the job ids in submitted.json, so running it again never submits an
array twice (after a failure half-way it submits only what is missing). The sweep folder, the grid and its
base config must be on a filesystem that the compute nodes share.

Containers: --container-image runs each task with NVIDIA pyxis ('srun --container-image=IMG', enroot); with
Apptainer, --apptainer semcom.sif runs 'apptainer exec --nv semcom.sif semcom ...'. Inside a container the
job runs the image's semcom (--container-semcom, default where Dockerfile.cuda installs it), and the working
directory and the grid's folder are mounted at their own paths (pyxis --container-mounts, apptainer --bind).`,
		Example: "  semcom sweep slurm -g grids/fading.yaml --partition gpu --time 04:00:00 --gpus 1 --throttle 8 --submit\n" +
			"  semcom sweep slurm -g grids/fading.yaml --container-image nvcr.io#me/semcom:cuda --container-mounts /scratch:/scratch",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := load()
			if err != nil {
				return err
			}
			if err := p.Prepare(); err != nil {
				return invalid(err)
			}
			if o.Semcom == "" {
				if o.Semcom, err = os.Executable(); err != nil {
					return err
				}
			}
			wd, _ := os.Getwd()
			if o.Workdir == "" {
				o.Workdir = wd
			}
			if o.Grid == "" {
				o.Grid, _ = filepath.Abs(*grid)
			}
			o.MaxJobs = raisedMaxJobs()
			dir, err := p.WriteSlurm(o)
			if err != nil {
				return invalid(err)
			}
			// (after the options are checked: a refused option is the one line the user sees)
			if o.GPUs > 0 && o.ContainerImage == "" && o.Apptainer == "" && !torch.CUDAAvailable() {
				logrus.Warnf("--gpus %d: this semcom's libtorch cannot use CUDA (see 'semcom version'); if the compute nodes run this binary, their jobs with device: auto run on the CPU while holding GPUs", o.GPUs)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d jobs)\n", dir, len(p.Jobs))
			if !submit {
				fmt.Fprintf(cmd.OutOrStdout(), "submit with: bash %s  (or --submit)\n", filepath.Join(dir, sweep.SubmitScript))
				return nil
			}
			sbatch, err := exec.LookPath("sbatch")
			if err != nil {
				return fmt.Errorf("--submit: sbatch is not on PATH (is this a Slurm login node?): %w", err)
			}
			s, err := p.SubmitSlurm(dir, sbatch)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "submitted: pre-training array %s, fine-tuning array %s (recorded in %s)\n", orDash(s.Pretrain), orDash(s.Finetune),
				filepath.Join(dir, sweep.SubmittedFile))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Semcom, "semcom", "", "semcom binary as the compute nodes see it (default: this one)")
	f.StringVar(&o.Workdir, "workdir", "", "folder the jobs run in (default: the current one)")
	f.StringVar(&o.Partition, "partition", "", "Slurm partition")
	f.StringVar(&o.Account, "account", "", "Slurm account")
	f.StringVar(&o.Time, "time", "", "time limit per job, e.g. 04:00:00")
	f.IntVar(&o.GPUs, "gpus", 1, "GPUs per job (--gres=gpu:N); 0 for CPU jobs")
	f.IntVar(&o.CPUs, "cpus", 0, "CPUs per job (--cpus-per-task)")
	f.StringVar(&o.Mem, "mem", "", "memory per job, e.g. 32G")
	f.IntVar(&o.Throttle, "throttle", 0, "at most this many tasks of an array at once (%P)")
	f.StringVar(&o.ContainerImage, "container-image", "", "run in this container with pyxis (srun --container-image)")
	f.StringVar(&o.ContainerMounts, "container-mounts", "", "pyxis --container-mounts")
	f.StringVar(&o.Apptainer, "apptainer", "", "run in this Apptainer image (apptainer exec --nv)")
	f.IntVar(&o.SignalGrace, "signal-grace", 120, "seconds before the time limit that Slurm sends SIGUSR1 (--signal=B:USR1@N; the task stops after its step and requeues itself); -1: no --signal/--requeue")
	f.StringVar(&o.ContainerSemcom, "container-semcom", sweep.DefaultContainerSemcom, "semcom inside the container (with --container-image or --apptainer)")
	f.StringArrayVar(&o.Extra, "sbatch", nil, "an extra #SBATCH option, verbatim (repeatable)")
	f.BoolVar(&submit, "submit", false, "submit the arrays (recording their ids; never twice)")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func newSweepK8sCmd(load planLoader) *cobra.Command {
	var o sweep.K8sOptions
	var out string
	cmd := &cobra.Command{
		Use:   "k8s",
		Short: "Write Kubernetes Indexed Job manifests for the sweep (apply them with kubectl)",
		Long: `Writes one Indexed Job per stage (<sweep>/k8s/jobs.yaml): completionMode Indexed, completions, parallelism,
backoffLimitPerIndex, maxFailedIndexes, restartPolicy Never, a podFailurePolicy that maps the exit-code
contract (FailIndex on 2 invalid, 3 diverged and 4 a failed dependency; Ignore on pre-emption, the
DisruptionTarget condition), nvidia.com/gpu limits and the ReadWriteMany claim --pvc mounted for the run
folders, --cpu/--memory requests (memory also the limit), terminationGracePeriodSeconds (--grace-period,
time for the step and checkpoint after SIGTERM) and, for multi-GPU pods, a memory-backed /dev/shm for NCCL.
The fine-tuning Job is created suspended, so its pods hold no GPUs while pre-training runs; the generated
<sweep>/k8s/submit.sh applies both and releases it once the pre-training Job has ended (an init container
'semcom sweep wait' then confirms each job's own dependencies). The claim must hold the grid file and its
base config at the same relative paths (--grid-path otherwise); an absolute out: outside --mount is refused.
Submit with: bash <sweep>/k8s/submit.sh; watch with: semcom sweep status -g GRID.`,
		Example: "  semcom sweep k8s -g grids/fading.yaml --image registry.example/semcom:cuda --pvc semcom-runs --parallelism 8",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := load()
			if err != nil {
				return err
			}
			o.MaxJobs = raisedMaxJobs()
			jobs, err := p.K8sJobs(o)
			if err != nil {
				return invalid(err)
			}
			b, err := sweep.K8sYAML(jobs)
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join(p.Grid.Dir(), "k8s", "jobs.yaml")
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return err
			}
			if err := fsutil.WriteFile(out, b, 0o644); err != nil {
				return err
			}
			script := filepath.Join(filepath.Dir(out), sweep.K8sSubmitScript)
			if err := fsutil.WriteFile(script, []byte(sweep.K8sSubmit(jobs, filepath.Base(out))), 0o755); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d Indexed Jobs for %d jobs; submit with: bash %s\n", out, len(jobs), len(p.Jobs), script)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Image, "image", "", "container image with semcom (see Dockerfile.cuda)")
	f.StringVar(&o.Claim, "pvc", "", "ReadWriteMany PersistentVolumeClaim for the run folders")
	f.StringVar(&o.MountPath, "mount", "/work", "where the claim is mounted (the jobs' working folder)")
	f.StringVar(&o.Grid, "grid-path", "", "the grid file as the pods see it (default: the mount + the grid's path)")
	f.StringVar(&o.Semcom, "semcom", "semcom", "semcom in the image")
	f.StringVar(&o.Namespace, "namespace", "", "namespace")
	f.IntVar(&o.GPUs, "gpus", 1, "GPUs per pod (nvidia.com/gpu)")
	f.IntVar(&o.Parallelism, "parallelism", 0, "pods per stage at once (default: all)")
	f.IntVar(&o.BackoffPerIdx, "backoff-per-index", 2, "retries of an index after a transient failure")
	f.StringVar(&o.ServiceAccount, "service-account", "", "service account of the pods")
	f.StringVar(&o.CPU, "cpu", "4", "CPU request per pod (a Kubernetes quantity; empty: none)")
	f.StringVar(&o.Memory, "memory", "32Gi", "memory request and limit per pod (a Kubernetes quantity; empty: none); 'semcom bench -c BASE' estimates a job's need")
	f.IntVar(&o.GracePeriod, "grace-period", 120, "seconds between SIGTERM and SIGKILL for a pod (the step and checkpoint must fit)")
	f.StringVarP(&out, "out", "o", "", "manifest file (default <sweep>/k8s/jobs.yaml)")
	return cmd
}
