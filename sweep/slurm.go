package sweep

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/semcom/semcom/internal/fsutil"
)

// SlurmOptions shape the sbatch scripts.
type SlurmOptions struct {
	Semcom    string // the semcom binary as the compute nodes see it
	Grid      string // the grid file as the compute nodes see it
	Workdir   string // the folder the jobs run in (the grid's relative paths start here)
	Partition string
	Account   string
	Time      string // e.g. 04:00:00
	GPUs      int    // per job (--gres=gpu:N); 0 runs on CPUs only
	CPUs      int    // per job
	Mem       string // e.g. 32G
	Throttle  int    // at most this many tasks of an array at once (%P); 0 = no limit
	// ContainerImage runs each job in an enroot/pyxis container (srun --container-image); Apptainer runs it
	// with 'apptainer exec --nv IMAGE'. At most one of them.
	ContainerImage, ContainerMounts, Apptainer string
	// SignalGrace is how many seconds before its time limit Slurm sends a task SIGUSR1 (--signal=B:USR1@N)
	// and so how long semcom has to finish its step; the task then requeues itself. Default 120; < 0: off.
	SignalGrace int
	// ContainerSemcom is the semcom binary inside the container (default DefaultContainerSemcom, where
	// Dockerfile.cuda installs it); Semcom, the host's path, does not exist there.
	ContainerSemcom string
	Extra           []string // more #SBATCH lines, verbatim (e.g. "--qos=normal")
	MaxJobs         int      // --max-jobs of the plan, exported to the tasks when set
}

// DefaultContainerSemcom is where Dockerfile.cuda installs semcom in its image.
const DefaultContainerSemcom = "/opt/semcom/bin/semcom"

// containerBinds lists the host folders a containerised job needs at the same paths: the working directory
// (run folders, relative paths) and the grid's folder (the grid and its base config), each once.
func (o SlurmOptions) containerBinds() []string {
	var out []string
	for _, d := range []string{o.Workdir, filepath.Dir(o.Grid)} {
		if d != "" && d != "." && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// Script names in <sweep>/slurm.
const (
	PretrainScript = "pretrain.sbatch"
	FinetuneScript = "finetune.sbatch"
	SubmitScript   = "submit.sh"
	SubmittedFile  = "submitted.json"
)

// Ranges of the two arrays: pre-training jobs are 0…P−1, fine-tuning jobs P…N−1 (run with --offset P).
func (p *Plan) stageCounts() (pre, fine int) {
	for _, j := range p.Jobs {
		if j.Stage == "pretrain" {
			pre++
		}
	}
	return pre, len(p.Jobs) - pre
}

// SlurmScripts renders the job-array scripts and a submit script that chains them: the fine-tuning array
// starts after the whole pre-training array has ended (afterany: a fine-tuning job checks its own
// dependency and records a diverged one), each task runs 'semcom sweep run' with its array index.
func (p *Plan) SlurmScripts(o SlurmOptions) (map[string]string, error) {
	if o.ContainerImage != "" && o.Apptainer != "" {
		return nil, fmt.Errorf("--container-image and --apptainer: choose one")
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	pre, fine := p.stageCounts()
	logs := filepath.Join(absPath(p.Grid.Dir()), "logs")
	script := func(stage string, n, offset int) string {
		var b strings.Builder
		b.WriteString("#!/bin/bash\n")
		fmt.Fprintf(&b, "#SBATCH --job-name=%s-%s\n", p.Grid.Name, stage)
		throttle := ""
		if o.Throttle > 0 {
			throttle = fmt.Sprintf("%%%d", o.Throttle)
		}
		fmt.Fprintf(&b, "#SBATCH --array=0-%d%s\n", n-1, throttle)
		fmt.Fprintf(&b, "#SBATCH --output=%s/slurm-%s-%%A_%%a.out\n", logs, stage)
		b.WriteString("#SBATCH --ntasks=1\n")
		if o.GPUs > 0 {
			fmt.Fprintf(&b, "#SBATCH --gres=gpu:%d\n", o.GPUs)
		}
		for _, f := range [][2]string{{"partition", o.Partition}, {"account", o.Account}, {"time", o.Time}, {"mem", o.Mem}} {
			if f[1] != "" {
				fmt.Fprintf(&b, "#SBATCH --%s=%s\n", f[0], f[1])
			}
		}
		grace := cmp.Or(o.SignalGrace, 120)
		if grace > 0 {
			// A pre-empted task is requeued by Slurm; one that reaches its time limit gets SIGUSR1 first and
			// requeues itself below. Either way 'sweep run' resumes the job from its checkpoint.
			fmt.Fprintf(&b, "#SBATCH --requeue\n#SBATCH --signal=B:USR1@%d\n", grace)
		}
		if o.CPUs > 0 {
			fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", o.CPUs)
		}
		for _, e := range o.Extra {
			fmt.Fprintf(&b, "#SBATCH %s\n", e)
		}
		fmt.Fprintf(&b, "# Job %s of sweep %s (plan %.12s): task i runs job %d+i. Exit codes: 0 done, 2 invalid (do not retry),\n", stage, p.Grid.Name, p.Hash, offset)
		b.WriteString("# 3 diverged (a result), 4 dependency not done, other transient; a requeued task resumes from its checkpoint.\n")
		b.WriteString("set -u\n")
		fmt.Fprintf(&b, "echo \"semcom sweep %s task ${SLURM_ARRAY_TASK_ID} on $(hostname) CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-none}\"\n", p.Grid.Name)
		fmt.Fprintf(&b, "cd %s\n", ShellQuote(o.Workdir))
		b.WriteString("export OMP_WAIT_POLICY=passive\n")
		if o.CPUs > 0 {
			b.WriteString("export SEMCOM_THREADS=${SLURM_CPUS_PER_TASK:-1}\n")
		}
		if o.MaxJobs > 0 { // each task expands the plan again
			fmt.Fprintf(&b, "export SEMCOM_MAX_JOBS=%d\n", o.MaxJobs)
		}
		bin := o.Semcom
		if o.ContainerImage != "" || o.Apptainer != "" {
			bin = cmp.Or(o.ContainerSemcom, DefaultContainerSemcom)
		}
		run := fmt.Sprintf("%s sweep run --grid %s --offset %d", ShellQuote(bin), ShellQuote(o.Grid), offset)
		if o.GPUs > 1 { // one data-parallel rank per GPU of the task
			run += fmt.Sprintf(" --nproc-per-node %d", o.GPUs)
		}
		line := ""
		switch {
		case o.ContainerImage != "":
			var ms []string
			for _, d := range o.containerBinds() {
				ms = append(ms, d+":"+d)
			}
			if o.ContainerMounts != "" {
				ms = append(ms, o.ContainerMounts)
			}
			mounts := ""
			if len(ms) > 0 {
				mounts = " --container-mounts=" + ShellQuote(strings.Join(ms, ","))
			}
			line = fmt.Sprintf("srun --container-image=%s%s --container-workdir=%s %s", ShellQuote(o.ContainerImage), mounts, ShellQuote(o.Workdir), run)
		case o.Apptainer != "":
			binds := ""
			if ds := o.containerBinds(); len(ds) > 0 {
				binds = " --bind " + ShellQuote(strings.Join(ds, ","))
			}
			line = fmt.Sprintf("apptainer exec --nv%s --pwd %s %s %s", binds, ShellQuote(o.Workdir), ShellQuote(o.Apptainer), run)
		default:
			line = run
		}
		if grace <= 0 {
			fmt.Fprintf(&b, "exec %s\n", line)
			return b.String()
		}
		// The batch shell gets the signal (B:): it passes it on and waits; semcom stops after its step with
		// exit 138 (128 + SIGUSR1), and the task requeues itself to resume.
		fmt.Fprintf(&b, "%s &\npid=$!\ntrap 'kill -USR1 $pid 2>/dev/null' USR1\n", line)
		b.WriteString("while :; do wait $pid; code=$?; kill -0 $pid 2>/dev/null || break; done\n")
		b.WriteString("if [ $code -eq 138 ]; then scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\"; fi\nexit $code\n")
		return b.String()
	}
	out := map[string]string{}
	var submit strings.Builder
	submit.WriteString("#!/bin/bash\n# Submits the sweep's arrays; 'semcom sweep slurm --submit' does the same and records the job ids.\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\n")
	dep := ""
	if pre > 0 {
		out[PretrainScript] = script("pretrain", pre, 0)
		submit.WriteString("pre=$(sbatch --parsable " + PretrainScript + ")\necho \"pre-training array: $pre\"\n")
		dep = "--dependency=afterany:${pre%%;*} "
	}
	if fine > 0 {
		out[FinetuneScript] = script("finetune", fine, pre)
		submit.WriteString("fine=$(sbatch --parsable " + dep + FinetuneScript + ")\necho \"fine-tuning array: $fine\"\n")
	}
	out[SubmitScript] = submit.String()
	return out, nil
}

// WriteSlurm writes the scripts into <sweep>/slurm and returns that folder.
func (p *Plan) WriteSlurm(o SlurmOptions) (string, error) {
	files, err := p.SlurmScripts(o)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(p.Grid.Dir(), "slurm")
	if err := os.MkdirAll(filepath.Join(p.Grid.Dir(), "logs"), 0o755); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for name, body := range files {
		if err := fsutil.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// Submitted records the arrays that were submitted, so that a second --submit does not submit them again.
type Submitted struct {
	PlanHash string `json:"plan_hash"`
	Pretrain string `json:"pretrain_job,omitempty"`
	Finetune string `json:"finetune_job,omitempty"`
}

// SubmitSlurm submits the arrays that are not yet submitted (sbatch --parsable), recording each job id as
// soon as it is known: a Slurm that cannot be reached, or fails half-way, never gets an array twice.
func (p *Plan) SubmitSlurm(dir string, sbatch string) (Submitted, error) {
	path := filepath.Join(dir, SubmittedFile)
	s := Submitted{PlanHash: p.Hash}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &s); err != nil {
			return s, fmt.Errorf("%s: %w", path, err)
		}
		if s.PlanHash != p.Hash {
			return s, fmt.Errorf("%s records a submission of another plan: remove it only if those jobs are gone", path)
		}
	}
	save := func() error {
		b, _ := json.MarshalIndent(s, "", "  ")
		return fsutil.WriteFile(path, b, 0o644)
	}
	submit := func(args ...string) (string, error) {
		cmd := exec.Command(sbatch, append([]string{"--parsable"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("sbatch %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
		return id, nil
	}
	pre, fine := p.stageCounts()
	if pre > 0 && s.Pretrain == "" {
		id, err := submit(PretrainScript)
		if err != nil {
			return s, err
		}
		s.Pretrain = id
		if err := save(); err != nil {
			return s, err
		}
	}
	if fine > 0 && s.Finetune == "" {
		args := []string{FinetuneScript}
		if s.Pretrain != "" {
			args = []string{"--dependency=afterany:" + s.Pretrain, FinetuneScript}
		}
		id, err := submit(args...)
		if err != nil {
			return s, fmt.Errorf("%w (the pre-training array %s is submitted and recorded; run --submit again to submit only the fine-tuning array)", err, s.Pretrain)
		}
		s.Finetune = id
		if err := save(); err != nil {
			return s, err
		}
	}
	return s, nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// ShellQuote quotes s for a POSIX shell where it needs it (as the sbatch scripts and resume hints write it).
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
