package main

import (
	"bufio"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/semcom/semcom/torch"
)

// ddpArgs is the tiny protocol with the default options otherwise (the probes on: rank 0 alone runs them,
// which once made it issue a broadcast the other ranks never did).
func ddpArgs(out, name string, extra ...string) []string {
	args := append([]string{"run", "--out", out, "--name", name, "--set", "model.sync_bn=true",
		"--set", "methods=[proposed,supervised]", "--set", "checkpoint.every=1"}, tiny[:len(tiny)-2]...)
	return append(args, extra...)
}

// sameMetrics compares the metrics of every job of two runs, epoch by epoch (all columns but wall time).
func sameMetrics(t *testing.T, a, b string, jobs []string) {
	t.Helper()
	for _, job := range jobs {
		x := metricsOf(t, filepath.Join(a, job, "metrics.csv"))
		y := metricsOf(t, filepath.Join(b, job, "metrics.csv"))
		if len(x) == 0 || len(x) != len(y) {
			t.Fatalf("%s: %d rows vs %d", job, len(x), len(y))
		}
		for i := range x {
			for j := range x[i] {
				if math.IsNaN(x[i][j]) != math.IsNaN(y[i][j]) || math.Abs(x[i][j]-y[i][j]) > 1e-5*math.Max(1, math.Abs(x[i][j])) {
					t.Fatalf("%s, row %d, column %d: %v in %s, %v in %s", job, i, j, x[i][j], a, y[i][j], b)
				}
			}
		}
	}
}

// metricsOf reads a job's metrics.csv as rows of numbers (non-numeric cells are NaN).
func metricsOf(t *testing.T, path string) [][]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]float64
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		var row []float64
		for i, cell := range strings.Split(sc.Text(), ",") {
			if i == len(strings.Split(sc.Text(), ","))-1 {
				break // wall time
			}
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil {
				v = math.NaN()
			}
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	return rows
}

// TestDataParallelMatchesSingleProcess: the protocol on 2 and 3 local ranks (synchronised BatchNorm, the
// global batch split between them) writes the metrics of a single process on the same global batch, epoch by
// epoch, for every method's Stage I (the proposed loss, SimCLR and Barlow Twins, intra- and cross-modal) and
// Stage II; a run stopped on 2 ranks resumes on 1 to the same metrics.
func TestDataParallelMatchesSingleProcess(t *testing.T) {
	if len(torch.DistBackends()) == 0 {
		t.Skip("this shim has no distributed backend (Gloo headers were missing at build: 'make' installs libgloo-dev)")
	}
	t.Setenv(torch.DistCheckEnv, "1") // every collective compared across the ranks: a divergence fails at once
	out := t.TempDir()
	run := func(name string, args ...string) string {
		if msg, code := semcom(t, nil, ddpArgs(out, name, args...)...); code != 0 {
			t.Fatalf("%s: exit %d\n%s", name, code, msg)
		}
		return filepath.Join(out, name)
	}
	all := []string{"--set", "methods=[proposed,simclr,barlow,supervised]"}
	jobs := []string{"pretrain/proposed", "pretrain/simclr", "pretrain/barlow", "finetune/proposed-labels100-snr5",
		"finetune/simclr-labels100-snr5", "finetune/barlow-labels100-snr5", "finetune/supervised-labels100-snr5"}
	one := run("one", all...)
	// Gradients: all-reduced in ~10 KB buckets during the backward here, in one all-reduce after it for the
	// cross-modal pair, in one 25 MB bucket (the default) on 3 ranks.
	msg, code := semcom(t, nil, ddpArgs(out, "two", append(all, "--nproc-per-node", "2", "--set", "performance.grad_bucket_mb=0.01", "--log-level", "debug")...)...)
	if code != 0 {
		t.Fatalf("two: exit %d\n%s", code, msg)
	}
	sameMetrics(t, one, filepath.Join(out, "two"), jobs)
	overlapped := regexp.MustCompile(`gradients: (\d+) buckets; (\d+) of (\d+) bucket all-reduces launched during the backward pass`).FindAllStringSubmatch(msg, -1)
	if len(overlapped) != len(jobs) {
		t.Fatalf("%d stages report their gradient buckets, want %d:\n%s", len(overlapped), len(jobs), msg)
	}
	for _, m := range overlapped {
		if m[1] == "1" || m[2] != m[3] || m[2] == "0" {
			t.Errorf("%s: want several buckets, every all-reduce launched during the backward", m[0])
		}
	}
	cross := []string{"--set", "methods=[simclr,barlow]", "--set", "pretrain.simclr.pairing=cross", "--set", "pretrain.barlow.pairing=cross"}
	sameMetrics(t, run("cross1", cross...), run("cross2", append(cross, "--nproc-per-node", "2", "--set", "performance.overlap_grad_reduce=false")...), jobs[1:3])
	three := []string{"--set", "pretrain.batch=12", "--set", "finetune.batch=12"} // proposed and supervised
	sameMetrics(t, run("three1", three...), run("three3", append(three, "--nproc-per-node", "3")...), []string{jobs[0], jobs[3], jobs[6]})

	// Local BatchNorm on 2 ranks is one process normalising the two halves of each batch separately.
	local := append(all, "--set", "model.sync_bn=false")
	sameMetrics(t, run("ghost", append(local, "--set", "model.ghost_bn=2")...), run("local2", append(local, "--nproc-per-node", "2")...), jobs)
	if d := metricsOf(t, filepath.Join(out, "local2", jobs[3], "metrics.csv")); d[len(d)-1][5] == metricsOf(t, filepath.Join(one, jobs[3], "metrics.csv"))[len(d)-1][5] {
		t.Fatal("local and synchronised BatchNorm gave the same loss: the comparison cannot tell them apart")
	}

	// Local BatchNorm stopped on 2 ranks cannot resume on 1 exactly: refused (exit 2); on 2 ranks it resumes
	// to the uninterrupted metrics.
	if msg, code := semcom(t, nil, ddpArgs(out, "localstop", append(local, "--nproc-per-node", "2", "--stop-after", "1")...)...); code != 0 || !strings.Contains(msg, "--resume") {
		t.Fatalf("stop after epoch 1: exit %d\n%s", code, msg)
	}
	if msg, code := semcom(t, nil, ddpArgs(out, "localstop", append(local, "--resume")...)...); code != exitInvalid || !strings.Contains(msg, "--nproc-per-node 2") {
		t.Fatalf("local BN of 2 ranks resumed on 1: exit %d\n%s", code, msg)
	}
	sameMetrics(t, filepath.Join(out, "local2"), run("localstop", append(local, "--nproc-per-node", "2", "--resume")...), jobs)

	// Checkpoints hold the global-batch state: stopped on 2 ranks, resumed on 1, the same metrics.
	if msg, code := semcom(t, nil, ddpArgs(out, "resumed", append(all, "--nproc-per-node", "2", "--stop-after", "1")...)...); code != 0 || !strings.Contains(msg, "--resume") { // a requested stop exits 0
		t.Fatalf("stop after epoch 1 on 2 ranks: exit %d\n%s", code, msg)
	}
	sameMetrics(t, one, run("resumed", append(all, "--resume")...), jobs)

	// The probes ran (rank 0) in the data-parallel run as in the single process.
	for _, run := range []string{one, filepath.Join(out, "two")} {
		if _, err := os.Stat(filepath.Join(run, "pretrain", "proposed", "probes.json")); err != nil {
			t.Fatalf("probes of %s: %v", run, err)
		}
	}
	// Only rank 0 writes: one set of event files.
	if m, _ := filepath.Glob(filepath.Join(out, "two", "tb", "pretrain-proposed", "events.out.tfevents.*")); len(m) != 1 {
		t.Fatalf("event files of the 2-rank run: %v", m)
	}
	// A global batch that does not split evenly is refused before any work.
	if msg, code := semcom(t, nil, ddpArgs(out, "uneven", "--nproc-per-node", "3")...); code == 0 || !strings.Contains(msg, "split evenly") {
		t.Fatalf("3 ranks on a batch of 16: exit %d\n%s", code, msg)
	}
}

// TestDataParallelRankDeath: when one rank is killed, the other fails with an error within the collective
// timeout instead of hanging.
func TestDataParallelRankDeath(t *testing.T) {
	if len(torch.DistBackends()) == 0 {
		t.Skip("this shim has no distributed backend")
	}
	out := t.TempDir()
	port := freePort(t)
	args := append(ddpArgs(out, "d"), "--set", "pretrain.epochs=200", "--dist-timeout", "5s")
	ranks := make([]*exec.Cmd, 2)
	var rank0 strings.Builder
	for r := range 2 {
		c := exec.Command(os.Args[0], args...)
		c.Env = append(os.Environ(), "SEMCOMTEST_MAIN=1", "RANK="+strconv.Itoa(r), "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", "MASTER_PORT="+strconv.Itoa(port))
		if r == 0 {
			c.Stderr = &rank0
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		ranks[r] = c
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(rank0.String(), "epoch done") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	ranks[1].Process.Signal(syscall.SIGKILL)
	ranks[1].Wait()
	killed := time.Now()
	err := ranks[0].Wait()
	if err == nil || time.Since(killed) > 30*time.Second || !strings.Contains(rank0.String(), "collective") {
		t.Fatalf("rank 0 after rank 1 died: %v after %v\n%s", err, time.Since(killed), rank0.String())
	}
}

// TestDataParallelConfigMismatch: ranks that resolved different configs are refused at start.
func TestDataParallelConfigMismatch(t *testing.T) {
	if len(torch.DistBackends()) == 0 {
		t.Skip("this shim has no distributed backend")
	}
	out := t.TempDir()
	port := freePort(t)
	outs := make([]string, 2)
	done := make(chan struct{}, 2)
	for r := range 2 {
		go func(r int) {
			args := ddpArgs(out, "m", "--set", "seed="+strconv.Itoa(1+r), "--dist-timeout", "10s")
			c := exec.Command(os.Args[0], args...)
			c.Env = append(os.Environ(), "SEMCOMTEST_MAIN=1", "RANK="+strconv.Itoa(r), "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", "MASTER_PORT="+strconv.Itoa(port))
			b, _ := c.CombinedOutput()
			outs[r] = string(b)
			done <- struct{}{}
		}(r)
	}
	<-done
	<-done
	if !strings.Contains(outs[1], "resolved another config than rank 0") {
		t.Fatalf("rank 1 with another seed:\n%s", outs[1])
	}
}

// TestSweepJobsOnSeveralRanks: a sweep whose jobs each run on 2 data-parallel ranks ends with the summary
// of the same sweep on one process per job.
func TestSweepJobsOnSeveralRanks(t *testing.T) {
	if len(torch.DistBackends()) == 0 {
		t.Skip("this shim has no distributed backend")
	}
	t.Setenv(torch.DistCheckEnv, "1")
	dir := t.TempDir()
	grid := "set: {model.sync_bn: true}\n" // probes and tracking on, as by default
	one := sweepGrid(t, dir, "one", grid)
	two := sweepGrid(t, dir, "two", grid)
	if msg, code := semcom(t, nil, "sweep", "local", "-g", one, "--workers", "2"); code != 0 {
		t.Fatalf("1 rank per job: exit %d\n%s", code, msg)
	}
	if msg, code := semcom(t, nil, "sweep", "local", "-g", two, "--workers", "1", "--gpus-per-job", "2"); code != 0 {
		t.Fatalf("2 ranks per job: exit %d\n%s", code, msg)
	}
	for _, g := range []string{one, two} {
		if msg, code := semcom(t, nil, "sweep", "collect", "-g", g); code != 0 {
			t.Fatalf("collect: exit %d\n%s", code, msg)
		}
	}
	a, _ := os.ReadFile(filepath.Join(dir, "sweeps", "one", "summary.csv"))
	b, _ := os.ReadFile(filepath.Join(dir, "sweeps", "two", "summary.csv"))
	if string(a) != string(b) || len(a) < 100 {
		t.Fatalf("2 ranks per job:\n%s\n1 rank per job:\n%s", b, a)
	}
}
