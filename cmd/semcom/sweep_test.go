package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/semcom/semcom/runfolder"
)

const sweepBase = `name: tiny
device: cpu
methods: [proposed, supervised]
data: {synthetic: {train: 48, test: 24, size: 16, classes: 8}}
model: {width: 4, feature_dim: 8, decoder_hidden: [8]}
channel: {snrs_db: [0, 10]}
pretrain: {epochs: 2, batch: 16}
finetune: {epochs: 3, batch: 16}
eval: {noise_draws: 2}
checkpoint: {every: 1}
`

// sweepGrid writes a base config and a grid named name into dir and returns the grid's path.
func sweepGrid(t *testing.T, dir, name, grid string) string {
	t.Helper()
	os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(sweepBase), 0o644)
	p := filepath.Join(dir, name+".yaml")
	body := fmt.Sprintf("name: %s\nout: %s\nbase: base.yaml\nseeds: [1, 2]\n%s", name, filepath.Join(dir, "sweeps"), grid)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// workersOf lists the processes running a job of the grid ('sweep run --grid GRID').
func workersOf(grid string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if args := strings.Split(string(b), "\x00"); slices.Contains(args, "run") && slices.Contains(args, grid) {
			out = append(out, filepath.Base(filepath.Dir(p))+": "+strings.Join(args, " "))
		}
	}
	return out
}

func countDone(dir string) int {
	m, _ := filepath.Glob(filepath.Join(dir, "jobs", "*", "DONE"))
	return len(m)
}

// TestSweepLocalKilledAndRestarted: a sweep killed (SIGKILL, the whole process group) mid-way and run
// again ends with the same summary as an uninterrupted one.
func TestSweepLocalKilledAndRestarted(t *testing.T) {
	dir := t.TempDir()
	grid := "grid: {channel.fading: [none, rayleigh]}\n"
	ref := sweepGrid(t, dir, "ref", grid)
	if out, code := semcom(t, nil, "sweep", "local", "-g", ref, "--workers", "2"); code != 0 {
		t.Fatalf("uninterrupted sweep: exit %d\n%s", code, out)
	}
	if out, code := semcom(t, nil, "sweep", "collect", "-g", ref); code != 0 || !strings.Contains(out, "channel.fading=rayleigh") {
		t.Fatalf("collect: exit %d\n%s", code, out)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "sweeps", "ref", "summary.csv"))

	killed := sweepGrid(t, dir, "killed", grid)
	cmd := exec.Command(os.Args[0], "sweep", "local", "-g", killed, "--workers", "2")
	cmd.Env = append(os.Environ(), "SEMCOMTEST_MAIN=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for countDone(filepath.Join(dir, "sweeps", "killed")) < 6 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	done := countDone(filepath.Join(dir, "sweeps", "killed"))
	if done >= 18 {
		t.Fatal("the sweep finished before it was killed: nothing tested")
	}
	status, _ := semcom(t, nil, "sweep", "status", "-g", killed)
	if !strings.Contains(status, fmt.Sprintf("%d done", done)) {
		t.Fatalf("status after the kill (%d done):\n%s", done, status)
	}
	if out, code := semcom(t, nil, "sweep", "local", "-g", killed, "--workers", "2"); code != 0 {
		t.Fatalf("restarted sweep: exit %d\n%s", code, out)
	}
	if out, code := semcom(t, nil, "sweep", "collect", "-g", killed); code != 0 {
		t.Fatalf("collect: exit %d\n%s", code, out)
	}
	if js, err := os.ReadFile(filepath.Join(dir, "sweeps", "killed", "summary.json")); err != nil || !strings.Contains(string(js), `"point": "channel.fading=rayleigh"`) {
		t.Fatalf("summary.json: %v\n%s", err, js)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "sweeps", "killed", "summary.csv"))
	if string(got) != string(want) || len(want) < 100 {
		t.Fatalf("killed and restarted sweep:\n%s\nuninterrupted:\n%s", got, want)
	}

	// SIGTERM to sweep local alone (a scheduler stopping it): its running workers stop after their step, it
	// exits 143 once they have ended, none is left behind, and running it again completes the same sweep.
	termed := sweepGrid(t, dir, "termed", grid)
	cmd = exec.Command(os.Args[0], "sweep", "local", "-g", termed, "--workers", "2")
	cmd.Env = append(os.Environ(), "SEMCOMTEST_MAIN=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for countDone(filepath.Join(dir, "sweeps", "termed")) < 4 && time.Now().Before(deadline.Add(2*time.Minute)) {
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 143 || !strings.Contains(stderr.String(), "sweep stopped by terminated") {
		t.Fatalf("sweep local after SIGTERM: %v\n%s", err, stderr.String())
	}
	if left := workersOf(termed); len(left) > 0 {
		t.Fatalf("workers left running after SIGTERM to sweep local: %v", left)
	}
	if out, code := semcom(t, nil, "sweep", "local", "-g", termed, "--workers", "2"); code != 0 {
		t.Fatalf("sweep after SIGTERM, again: exit %d\n%s", code, out)
	}
	if out, code := semcom(t, nil, "sweep", "collect", "-g", termed); code != 0 {
		t.Fatalf("collect: exit %d\n%s", code, out)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "sweeps", "termed", "summary.csv")); string(got) != string(want) {
		t.Fatalf("stopped by SIGTERM and run again:\n%s\nuninterrupted:\n%s", got, want)
	}

	// Exit-code contract and bad input.
	if out, code := semcom(t, nil, "sweep", "run", "-g", ref, "--index", "99"); code != exitInvalid || !strings.Contains(out, "18 jobs") {
		t.Fatalf("--index out of range: exit %d\n%s", code, out)
	}
	if out, code := semcom(t, nil, "sweep", "run", "-g", ref, "--index", "3"); code != 0 || !strings.Contains(out, "already done") {
		t.Fatalf("a done job: exit %d\n%s", code, out)
	}
	other := sweepGrid(t, dir, "ref", "grid: {channel.fading: [none]}\n") // the same name, another grid
	if out, code := semcom(t, nil, "sweep", "run", "-g", other, "--index", "0"); code != exitInvalid || !strings.Contains(out, "another grid") {
		t.Fatalf("a sweep folder of another grid: exit %d\n%s", code, out)
	}
}

// TestSweepJobContract: a job held by another process is waited for and not run twice; a job whose
// dependency is not done exits 4; a bad data path exits 2 and records it; status shows each.
func TestSweepJobContract(t *testing.T) {
	dir := t.TempDir()
	g := sweepGrid(t, dir, "c", "set: {data.kind: folder, data.path: /nonexistent}\n")
	sw := filepath.Join(dir, "sweeps", "c")
	// Job 2 is a fine-tuning job of 'proposed': its pre-training (job 0) has not run.
	if out, code := semcom(t, nil, "sweep", "run", "-g", g, "--index", "2"); code != 4 || !strings.Contains(out, "is pending") {
		t.Fatalf("dependency not done: exit %d\n%s", code, out)
	}
	out, code := semcom(t, nil, "sweep", "run", "-g", g, "--index", "0")
	if code != exitInvalid || !strings.Contains(out, "data.path") {
		t.Fatalf("a bad data path: exit %d\n%s", code, out)
	}
	status, _ := semcom(t, nil, "sweep", "status", "-g", g)
	if !strings.Contains(status, "1 failed, 9 pending") || !strings.Contains(status, "/nonexistent") {
		t.Fatalf("status:\n%s", status)
	}
	// Another process holds a job: the second waits, then leaves it alone.
	jobs, _ := filepath.Glob(filepath.Join(sw, "jobs", "*"))
	lock, err := runfolder.Acquire(jobs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if out, code := semcom(t, nil, "sweep", "run", "-g", g, "--index", "0", "--lock-wait", "1s"); code != exitFailed || !strings.Contains(out, "in use by PID") {
		t.Fatalf("a job held by another process: exit %d\n%s", code, out)
	}
	if status, _ := semcom(t, nil, "sweep", "status", "-g", g); !strings.Contains(status, "running") {
		t.Fatalf("a held job is not shown running:\n%s", status)
	}
}
