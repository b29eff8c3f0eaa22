package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/semcom/semcom/config"
	"github.com/semcom/semcom/data"
	"github.com/semcom/semcom/sweep"
	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/safetensors"
	"github.com/semcom/semcom/train"
)

// TestExitCodeContract runs semcom (the test binary as a child, built once) on invalid input of every kind
// that issue 18 found accepted or given the wrong code, and checks the exit code and that the one-line
// error names the flag, key or file. Every case fails before any training except the --stop-after one.
func TestExitCodeContract(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("base.yaml", sweepBase)
	grid := write("g.yaml", "name: g\nout: "+filepath.Join(dir, "sweeps")+"\nbase: base.yaml\nseeds: [1, 2]\ngrid: {channel.fading: [none, rayleigh]}\n")
	// a grid of its own for the refused scripts: no valid case writes its slurm folder
	inj := write("inj.yaml", "name: inj\nout: "+filepath.Join(dir, "sweeps")+"\nbase: base.yaml\nseeds: [1]\n")
	// 10⁶ points × 2 seeds: refused from the lengths, before anything is expanded.
	ten := "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"
	big := write("big.yaml", "name: big\nout: "+filepath.Join(dir, "sweeps")+"\nbase: base.yaml\nseeds: [1, 2]\ngrid:\n"+
		"  pretrain.epochs: "+ten+"\n  finetune.epochs: "+ten+"\n  model.feature_dim: "+ten+"\n  pretrain.batch: "+ten+
		"\n  finetune.batch: "+ten+"\n  eval.noise_draws: "+ten+"\n")
	garbage := write("garbage.safetensors", "not a safetensors file")
	truncated := write("truncated.mat", "\x89HDF\r\n\x1a\n\x00\x00") // the HDF5 signature and nothing else

	// encoders of a wider model than the config's (width 8 against 4), and a file of an unrelated tensor
	var m config.Model
	m.Width, m.FeatureDim, m.DecoderHidden = 8, 8, []int{8}
	mods := []data.Modality{{Name: "rgb", Channels: 3}, {Name: "depth", Channels: 1}}
	wide := filepath.Join(dir, "wide.safetensors")
	if err := safetensors.Save(wide, train.NewSystem(m, mods, 8, 1).StateDict("encoder"), nil); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.safetensors")
	if err := safetensors.Save(other, map[string]*torch.Tensor{"x": torch.Zeros(torch.Float32, torch.CPU, 2)}, nil); err != nil {
		t.Fatal(err)
	}
	// A sweep whose pre-training is marked DONE without its encoders: its fine-tuning jobs can never run.
	depGrid := write("dep.yaml", "name: dep\nout: "+filepath.Join(dir, "sweeps")+"\nbase: base.yaml\nseeds: [1]\n")
	g, err := sweep.Load(depGrid)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := g.Expand()
	if err != nil || plan.Prepare() != nil {
		t.Fatal(err)
	}
	pre, fine := plan.Jobs[0], -1
	for _, j := range plan.Jobs {
		if len(j.Deps) == 1 && j.Deps[0] == pre.Index {
			fine = j.Index
		}
	}
	os.MkdirAll(plan.JobDir(pre), 0o755)
	if fine < 0 || os.WriteFile(filepath.Join(plan.JobDir(pre), sweep.DoneFile), []byte(`{"status": "done", "exit": 0}`), 0o644) != nil {
		t.Fatalf("no fine-tuning job depends on %s", pre.Name)
	}
	runs := filepath.Join(dir, "runs")
	cfg := filepath.Join(dir, "base.yaml")
	ft := func(init string) []string {
		return []string{"finetune", "-c", cfg, "--out", runs, "--name", filepath.Base(init), "--init", init, "--log-level", "warn"}
	}

	cases := []struct {
		name string
		args []string
		code int
		want string // a fragment of the output
	}{
		// item 17: exit 2, not 1
		{"config show missing file", []string{"config", "show", "-c", "/nonexistent.yaml"}, 2, "/nonexistent.yaml"},
		{"config show wrong type", []string{"config", "show", "--set", "pretrain.epochs=abc"}, 2, "pretrain.epochs"},
		{"log level", []string{"version", "--log-level", "bogus"}, 2, "--log-level"},
		{"log format", []string{"version", "--log-format", "xml"}, 2, "--log-format"},
		{"bench device", []string{"bench", "--device", "bogus"}, 2, "--device"},
		{"collect no run", []string{"collect"}, 2, "arg"},
		{"compare one side", []string{"compare", dir}, 2, "arg"},
		{"dist timeout 0", []string{"run", "--dist-timeout", "0s"}, 2, "--dist-timeout"},
		{"dist timeout negative", []string{"run", "--dist-timeout", "-5s"}, 2, "--dist-timeout"},
		{"prepare without --mat", []string{"data", "prepare", "--splits", "s", "--out", "o"}, 2, "--mat"},
		{"prepare missing --mat", []string{"data", "prepare", "--mat", "/nonexistent.mat", "--splits", garbage, "--out", dir}, 2, "--mat"},
		{"prepare size 0", []string{"data", "prepare", "--mat", garbage, "--splits", garbage, "--out", dir, "--size", "0"}, 2, "--size"},
		{"prepare class order", []string{"data", "prepare", "--mat", garbage, "--splits", garbage, "--out", dir, "--class-order", "bogus"}, 2, "--class-order"},
		{"prepare garbage mat", []string{"data", "prepare", "--mat", garbage, "--splits", garbage, "--out", dir}, 2, "garbage.safetensors"},
		{"prepare truncated mat", []string{"data", "prepare", "--mat", truncated, "--splits", garbage, "--out", dir}, 2, "truncated.mat"},
		{"eval missing checkpoint", []string{"eval", "--checkpoint", "/nonexistent"}, 2, "--checkpoint"},
		{"eval /dev/null", []string{"eval", "-c", cfg, "--checkpoint", "/dev/null"}, 2, "--checkpoint"},
		{"eval garbage", []string{"eval", "-c", cfg, "--checkpoint", garbage}, 2, "--checkpoint"},
		{"eval another model", []string{"eval", "-c", cfg, "--checkpoint", wide}, 2, "model section"},
		{"finetune init garbage", ft(garbage), 2, "--init"},
		{"finetune init wider", ft(wide), 2, "--init"},
		{"finetune init unrelated", ft(other), 2, "--init"},
		// item 18: values that were accepted
		{"stop-after negative", []string{"run", "--stop-after", "-1"}, 2, "--stop-after"},
		{"nproc 0", []string{"run", "--nproc-per-node", "0"}, 2, "--nproc-per-node"},
		{"nproc negative", []string{"pretrain", "--nproc-per-node", "-3"}, 2, "--nproc-per-node"},
		{"sweep run nproc", []string{"sweep", "run", "-g", grid, "--index", "0", "--nproc-per-node", "-3"}, 2, "--nproc-per-node"},
		{"gpus per job 0", []string{"sweep", "local", "-g", grid, "--gpus-per-job", "0"}, 2, "--gpus-per-job"},
		{"gpus per job negative", []string{"sweep", "local", "-g", grid, "--gpus-per-job", "-2"}, 2, "--gpus-per-job"},
		{"wait every 0", []string{"sweep", "wait", "-g", grid, "--index", "4", "--every", "0s"}, 2, "--every"},
		{"wait timeout negative", []string{"sweep", "wait", "-g", grid, "--index", "4", "--timeout", "-1s"}, 2, "--timeout"},
		{"slurm throttle", []string{"sweep", "slurm", "-g", grid, "--throttle", "-1"}, 2, "--throttle"},
		{"slurm gpus", []string{"sweep", "slurm", "-g", grid, "--gpus", "-1"}, 2, "--gpus"},
		{"slurm cpus", []string{"sweep", "slurm", "-g", grid, "--cpus", "-4"}, 2, "--cpus"},
		{"slurm newline partition", []string{"sweep", "slurm", "-g", inj, "--partition", "gpu\ntouch /tmp/pwned"}, 2, "--partition"},
		{"slurm newline account", []string{"sweep", "slurm", "-g", grid, "--account", "a\rb"}, 2, "--account"},
		{"slurm newline sbatch", []string{"sweep", "slurm", "-g", inj, "--sbatch", "--qos=x\necho hi"}, 2, "--sbatch"},
		{"slurm sbatch not an option", []string{"sweep", "slurm", "-g", grid, "--sbatch", "echo hi"}, 2, "--sbatch"},
		{"slurm newline container", []string{"sweep", "slurm", "-g", grid, "--container-image", "img\nx"}, 2, "--container-image"},
		{"slurm space partition", []string{"sweep", "slurm", "-g", grid, "--partition", "gpu --exclusive"}, 2, "--partition"},
		{"slurm time in hours", []string{"sweep", "slurm", "-g", grid, "--time", "4h"}, 2, "--time"},
		{"slurm time too many colons", []string{"sweep", "slurm", "-g", grid, "--time", "1:2:3:4"}, 2, "--time"},
		{"slurm mem GB", []string{"sweep", "slurm", "-g", grid, "--mem", "32GB"}, 2, "--mem"},
		{"slurm mem fraction", []string{"sweep", "slurm", "-g", grid, "--mem", "1.5G"}, 2, "megabytes"},
		{"k8s backoff", []string{"sweep", "k8s", "-g", grid, "--image", "i", "--pvc", "p", "--backoff-per-index", "-1"}, 2, "--backoff-per-index"},
		{"k8s namespace", []string{"sweep", "k8s", "-g", grid, "--image", "i", "--pvc", "p", "--namespace", "Bad_NS!"}, 2, "--namespace"},
		{"k8s claim", []string{"sweep", "k8s", "-g", grid, "--image", "i", "--pvc", "My Claim"}, 2, "--pvc"},
		{"k8s relative mount", []string{"sweep", "k8s", "-g", grid, "--image", "i", "--pvc", "p", "--mount", "work"}, 2, "--mount"},
		// item 12: bounds
		{"workers beyond", []string{"sweep", "local", "-g", grid, "--workers", "99999999999"}, 2, "--workers"},
		{"workers 0", []string{"sweep", "local", "-g", grid, "--workers", "0"}, 2, "--workers"},
		{"threads beyond", []string{"config", "show", "--set", "threads=1000000"}, 2, "threads"},
		{"grid too large", []string{"sweep", "plan", "-g", big}, 2, "--max-jobs"},
		{"grid over --max-jobs", []string{"sweep", "plan", "-g", grid, "--max-jobs", "17"}, 2, "more than 17 jobs"},
		{"max-jobs 0", []string{"sweep", "plan", "-g", grid, "--max-jobs", "0"}, 2, "--max-jobs"},
		// item 16
		{"negative index", []string{"sweep", "run", "-g", grid, "--index", "-5"}, 2, "--index -5: a job index is ≥ 0"},
		{"negative offset", []string{"sweep", "run", "-g", grid, "--offset", "-1"}, 2, "--offset"},
		{"dependency done without encoders", []string{"sweep", "run", "-g", depGrid, "--index", strconv.Itoa(fine)}, 2, "marked done but has no"},
		// valid values still pass
		{"grid at --max-jobs", []string{"sweep", "plan", "-g", grid, "--max-jobs", "18"}, 0, "18 jobs"},
		{"slurm with --max-jobs", []string{"sweep", "slurm", "-g", depGrid, "--max-jobs", "5"}, 0, "submit with"},
		{"slurm formats", []string{"sweep", "slurm", "-g", grid, "--time", "1-02:00:00", "--mem", "32000", "--partition", "gpu", "--sbatch", "--qos=normal"}, 0, "submit with"},
		{"k8s valid", []string{"sweep", "k8s", "-g", grid, "--image", "i", "--pvc", "p", "--namespace", "ml-team", "--backoff-per-index", "0", "--mount", dir,
			"--out", filepath.Join(dir, "k8s.yaml")}, 0, "2 Indexed Jobs"},
		// a requested stop is not a failure: the job is checkpointed and --resume continues it
		{"stop-after reached", append(append([]string{"pretrain", "--out", runs, "--name", "stop", "--stop-after", "1", "--log-level", "warn"}, tiny...),
			"--set", "pretrain.epochs=2"), 0, "stopped after the requested epoch"},
	}
	then := map[string]func(t *testing.T){ // what a passing case must also have written
		"slurm with --max-jobs": func(t *testing.T) { // the tasks expand the plan with the same bound
			if b, err := os.ReadFile(filepath.Join(dir, "sweeps", "dep", "slurm", "finetune.sbatch")); err != nil || !strings.Contains(string(b), "export SEMCOM_MAX_JOBS=5\n") {
				t.Fatalf("finetune.sbatch (%v) does not export SEMCOM_MAX_JOBS=5:\n%s", err, b)
			}
		},
		"k8s valid": func(t *testing.T) { // --backoff-per-index 0 means no retries (it was silently made 2)
			if b, err := os.ReadFile(filepath.Join(dir, "k8s.yaml")); err != nil || strings.Count(string(b), "backoffLimitPerIndex: 0") != 2 {
				t.Fatalf("k8s manifest (%v) lacks backoffLimitPerIndex: 0 in both jobs:\n%s", err, b)
			}
		},
	}
	t.Run("cases", func(t *testing.T) { // returns when every parallel case has ended
		for _, c := range cases {
			t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
				t.Parallel()
				out, code := semcom(t, []string{"OMP_NUM_THREADS=1"}, c.args...)
				if code != c.code || !strings.Contains(out, c.want) {
					t.Fatalf("semcom %q: exit %d, want %d with %q in:\n%s", c.args, code, c.code, c.want, out)
				}
				if then := then[c.name]; then != nil {
					then(t)
				}
				// (a sweep job logs its error, then 'sweep run' says the job's exit code: two lines by design)
				if c.code == exitInvalid && !strings.Contains(out, "job ended with exit code 2") {
					if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 {
						t.Fatalf("semcom %q: want a one-line error, got %d lines:\n%s", c.args, len(lines), out)
					}
				}
			})
		}
	})
	// Nothing of a refused script is written.
	if _, err := os.Stat(filepath.Join(dir, "sweeps", "inj", "slurm")); !os.IsNotExist(err) {
		t.Fatalf("refused options left a slurm folder (%v)", err)
	}
}

// TestEveryCommandRefusesBadFlagsAndArgs walks the whole command tree: an unknown flag and, where a command
// takes no or a bounded number of arguments, too many of them are invalid input (exit 2) for every command.
func TestEveryCommandRefusesBadFlagsAndArgs(t *testing.T) {
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if !c.Runnable() {
			return
		}
		path := strings.Fields(c.CommandPath())[1:]
		n++
		_, err := run(t, append(path, "--no-such-flag")...)
		if code := exitCode(err); code != exitInvalid || err == nil || !strings.Contains(err.Error(), "--no-such-flag") {
			t.Errorf("%s --no-such-flag: exit %d (%v), want %d naming the flag", c.CommandPath(), code, err, exitInvalid)
		}
		if c.Args == nil || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		extra := make([]string, 8) // more than any command takes (collect takes any number: it reads them)
		for i := range extra {
			extra[i] = filepath.Join(t.TempDir(), "x")
		}
		if c.Name() == "collect" && c.Parent().Name() == "semcom" {
			return
		}
		_, err = run(t, append(path, extra...)...)
		if code := exitCode(err); code != exitInvalid {
			t.Errorf("%s with 8 arguments: exit %d (%v), want %d", c.CommandPath(), code, err, exitInvalid)
		}
	}
	walk(newRoot())
	if n < 20 {
		t.Fatalf("walked %d commands: the tree is not what this test expects", n)
	}
}
