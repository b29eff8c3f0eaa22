package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/semcom/semcom/torch/dist"
)

// freePort asks the kernel for an unused TCP port on the loopback.
func freePort(t *testing.T) int {
	port, err := dist.FreeLocalPort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// startSlurm starts a single-node Slurm (munge, slurmctld, slurmd on 127.0.0.1) with two stand-in GPUs
// (character devices) and returns the environment its clients need. Everything stops at the test's end.
func startSlurm(t *testing.T) []string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the real-Slurm test starts slurmctld, slurmd and munged and needs root (CI runs as root)")
	}
	for _, b := range []string{"slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo", "munged"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s is not installed ('make test' installs slurmctld, slurmd, slurm-client and munge with apt-get; it failed here): %v", b, err)
		}
	}
	dir := t.TempDir()
	host, err := exec.Command("hostname", "-s").Output()
	if err != nil {
		t.Fatal(err)
	}
	node := strings.TrimSpace(string(host))
	for _, d := range []string{"state", "spool", "log"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	for i := range 2 {
		dev := filepath.Join(dir, fmt.Sprintf("nvidia%d", i))
		if out, err := exec.Command("mknod", dev, "c", "1", "3").CombinedOutput(); err != nil {
			t.Skipf("mknod (stand-in GPU devices): %v: %s", err, out)
		}
	}
	conf := filepath.Join(dir, "slurm.conf")
	body := fmt.Sprintf(`ClusterName=semcomtest
SlurmctldHost=%[1]s(127.0.0.1)
SlurmctldPort=%[3]d
SlurmdPort=%[4]d
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=%[2]s/state
SlurmdSpoolDir=%[2]s/spool
SlurmctldPidFile=%[2]s/slurmctld.pid
SlurmdPidFile=%[2]s/slurmd.pid
SlurmctldLogFile=%[2]s/log/slurmctld.log
SlurmdLogFile=%[2]s/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=600
GresTypes=gpu
NodeName=%[1]s NodeAddr=127.0.0.1 CPUs=2 RealMemory=8000 Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
`, node, dir, freePort(t), freePort(t))
	os.WriteFile(conf, []byte(body), 0o644)
	// From 23.x slurmd loads a cgroup plugin even with proctrack/linuxproc and task/none, and fails where no
	// cgroup file system is mounted (containers, chroots): disable it there.
	if entries, _ := os.ReadDir("/sys/fs/cgroup"); len(entries) == 0 {
		os.WriteFile(filepath.Join(dir, "cgroup.conf"), []byte("CgroupPlugin=disabled\n"), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "gres.conf"), []byte(fmt.Sprintf("NodeName=%s Name=gpu File=%s/nvidia[0-1]\n", node, dir)), 0o644)
	env := []string{"SLURM_CONF=" + conf}
	run := func(name string, args ...string) (string, error) {
		c := exec.Command(name, args...)
		c.Env = append(os.Environ(), env...)
		out, err := c.CombinedOutput()
		return string(out), err
	}
	if _, err := run("munge", "-n"); err != nil {
		os.MkdirAll("/run/munge", 0o755)
		if out, err := run("munged", "--force"); err != nil {
			t.Skipf("munged does not start: %v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("pkill", "-x", "munged").Run() })
	}
	for _, d := range []string{"slurmctld", "slurmd"} {
		if out, err := run(d, "-f", conf); err != nil {
			t.Fatalf("%s: %v: %s", d, err, out)
		}
	}
	t.Cleanup(func() {
		run("scancel", "--partition=debug")
		for _, pid := range []string{"slurmd.pid", "slurmctld.pid"} {
			if b, err := os.ReadFile(filepath.Join(dir, pid)); err == nil {
				exec.Command("kill", strings.TrimSpace(string(b))).Run()
			}
		}
		time.Sleep(500 * time.Millisecond)
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := run("sinfo", "-h", "-o", "%t")
		state := strings.TrimSpace(out)
		if state == "idle" {
			break
		}
		if time.Now().After(deadline) {
			ctld, _ := os.ReadFile(filepath.Join(dir, "log", "slurmctld.log"))
			d, _ := os.ReadFile(filepath.Join(dir, "log", "slurmd.log"))
			t.Fatalf("the node did not become idle (state %q):\nslurmctld.log:\n%s\nslurmd.log:\n%s", state, ctld, d)
		}
		if strings.HasPrefix(state, "down") || strings.HasPrefix(state, "drain") || state == "inval" {
			run("scontrol", "update", "nodename="+node, "state=resume")
		}
		time.Sleep(500 * time.Millisecond)
	}
	return env
}

// TestSweepOnRealSlurm submits a tiny grid (2 methods × 2 SNRs × 2 seeds on 16 px data, and a point planted
// with a bad data path) to a real single-node Slurm, waits for it, and checks every job folder, the
// exit-code contract (the bad job ends with 2 and is not retried), that each task had its own stand-in GPU,
// that a second --submit submits nothing, and that collect merges the good point.
func TestSweepOnRealSlurm(t *testing.T) {
	env := startSlurm(t)
	dir := t.TempDir()
	grid := sweepGrid(t, dir, "slurm", "set: {data.path: /nonexistent}\ngrid: {data.kind: [synthetic, folder]}\n")
	out, code := semcom(t, env, "sweep", "slurm", "-g", grid, "--gpus", "1", "--throttle", "2", "--submit")
	if code != 0 || !strings.Contains(out, "submitted: pre-training array") {
		t.Fatalf("submit: exit %d\n%s", code, out)
	}
	ids := regexp.MustCompile(`array (\d+)`).FindAllStringSubmatch(out, -1)
	if len(ids) != 2 {
		t.Fatalf("job ids in %q", out)
	}
	again, code := semcom(t, env, "sweep", "slurm", "-g", grid, "--submit")
	if code != 0 || !strings.Contains(again, ids[0][1]) || !strings.Contains(again, ids[1][1]) {
		t.Fatalf("a second --submit submitted again: exit %d\n%s", code, again)
	}
	squeue := func() string {
		c := exec.Command("squeue", "-h", "-o", "%i %T")
		c.Env = append(os.Environ(), env...)
		b, _ := c.CombinedOutput()
		return strings.TrimSpace(string(b))
	}
	deadline := time.Now().Add(6 * time.Minute)
	for squeue() != "" {
		if time.Now().After(deadline) {
			t.Fatalf("the sweep did not finish:\n%s", squeue())
		}
		time.Sleep(time.Second)
	}
	status, _ := semcom(t, nil, "sweep", "status", "-g", grid)
	// 20 jobs: the synthetic point's 2 pre-trainings and 8 fine-tunings are done; the folder point's 2
	// pre-trainings and 4 supervised fine-tunings fail with 2, its 4 proposed fine-tunings with 4.
	if !strings.Contains(status, "20 jobs: 10 done, 10 failed") {
		t.Fatalf("status:\n%s", status)
	}
	// The bad pre-training task: exit 2 in Slurm's record, never restarted.
	c := exec.Command("scontrol", "show", "job", ids[0][1])
	c.Env = append(os.Environ(), env...)
	show, _ := c.CombinedOutput()
	if !strings.Contains(string(show), "ExitCode=2:0") || strings.Contains(string(show), "Restarts=1") {
		t.Fatalf("scontrol show job %s:\n%s", ids[0][1], show)
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "sweeps", "slurm", "logs", "slurm-*.out"))
	gpus := map[string]bool{}
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		if m := regexp.MustCompile(`CUDA_VISIBLE_DEVICES=(\S+)`).FindSubmatch(b); m != nil {
			gpus[string(m[1])] = true
		}
	}
	if len(logs) != 20 || !gpus["0"] || len(gpus) > 2 || gpus["none"] {
		t.Fatalf("%d task logs, CUDA_VISIBLE_DEVICES seen: %v", len(logs), gpus)
	}
	merged, code := semcom(t, nil, "sweep", "collect", "-g", grid)
	if code != 0 || !strings.Contains(merged, "data.kind=synthetic") || !strings.Contains(merged, "Left out (unfinished jobs): data.kind=folder") {
		t.Fatalf("collect: exit %d\n%s", code, merged)
	}
}
