package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/semcom/semcom/internal/fsutil"
	"github.com/semcom/semcom/runfolder"
)

// TestMain lets the fault tests run semcom as a child process: the test binary re-executed with
// SEMCOMTEST_MAIN=1 is semcom (kill -9 and signals need a process of their own).
func TestMain(m *testing.M) {
	if os.Getenv("SEMCOMTEST_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// semcom runs the CLI as a child process and returns its combined output and exit code (-9 when killed
// by SIGKILL).
func semcom(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "SEMCOMTEST_MAIN=1"), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return string(out), -int(ws.Signal())
		}
		return string(out), ee.ExitCode()
	}
	t.Fatalf("semcom %v: %v", args, err)
	return "", 0
}

// faultArgs is a protocol with both stages, a checkpoint every epoch, and one job per stage.
func faultArgs(out string) []string {
	return append([]string{"run", "--out", out, "--name", "f", "--log-level", "warn", "--set", "checkpoint.every=1",
		"--set", "pretrain.epochs=2", "--set", "methods=[proposed]"}, tiny...)
}

func summaryOf(t *testing.T, run string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(run, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestKillAtEveryCheckpointWrite kills semcom (SIGKILL, as a power cut or the OOM killer) at every point of
// every checkpoint commit, in both stages, and resumes: each time the run must resume and end with the
// summary of an uninterrupted run, bit for bit.
func TestKillAtEveryCheckpointWrite(t *testing.T) {
	ref := t.TempDir()
	if out, code := semcom(t, nil, faultArgs(ref)...); code != 0 {
		t.Fatalf("uninterrupted run: exit %d\n%s", code, out)
	}
	want := summaryOf(t, filepath.Join(ref, "f"))
	points := 0
	for n := 1; ; n++ {
		out := t.TempDir()
		log, code := semcom(t, []string{fsutil.KillAtEnv + "=checkpoint:" + fmt.Sprint(n)}, faultArgs(out)...)
		if code == 0 {
			break // n is past the last fault point
		}
		if code != -int(syscall.SIGKILL) {
			t.Fatalf("kill point %d: exit %d\n%s", n, code, log)
		}
		points++
		log, code = semcom(t, nil, append(faultArgs(out), "--resume")...)
		if code != 0 {
			t.Fatalf("resume after kill point %d: exit %d\n%s", n, code, log)
		}
		if got := summaryOf(t, filepath.Join(out, "f")); got != want {
			t.Fatalf("kill point %d: the resumed run's summary differs from the uninterrupted one:\n%s\nwant\n%s", n, got, want)
		}
		matches, _ := filepath.Glob(filepath.Join(out, "f", "*", "*", "*", "*"+fsutil.TempInfix+"*"))
		if len(matches) > 0 {
			t.Fatalf("kill point %d: leftovers after the resume: %v", n, matches)
		}
	}
	// 2 pre-training and 2 fine-tuning checkpoints, each with 5 points (6 once a generation is pruned).
	if points < 20 {
		t.Fatalf("only %d kill points were reached", points)
	}
	t.Logf("%d kill points, each resumed to the uninterrupted summary", points)
}

// TestSignalStopsCleanly: SIGINT, SIGTERM and SIGUSR1 (Slurm's --signal) stop the run after the current step with a message saying how
// to resume and exit code 128+N; the resumed run ends as an uninterrupted one.
func TestSignalStopsCleanly(t *testing.T) {
	ref := t.TempDir()
	args := func(out string) []string {
		return append(faultArgs(out), "--set", "pretrain.epochs=40", "--log-level", "info")
	}
	if out, code := semcom(t, nil, args(ref)...); code != 0 {
		t.Fatalf("uninterrupted run: exit %d\n%s", code, out)
	}
	want := summaryOf(t, filepath.Join(ref, "f"))
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR1} {
		out := t.TempDir()
		cmd := exec.Command(os.Args[0], args(out)...)
		cmd.Env = append(os.Environ(), "SEMCOMTEST_MAIN=1")
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "epoch=2 ") { // pre-training's second epoch is done and checkpointed
				cmd.Process.Signal(sig)
			}
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
			t.Fatalf("%v: %v\n%s", sig, err, log.String())
		}
		for _, w := range []string{"interrupted by " + map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM", syscall.SIGUSR1: "SIGUSR1"}[sig],
			"newest checkpoint (epoch", "--resume"} {
			if !strings.Contains(log.String(), w) {
				t.Fatalf("%v: output lacks %q:\n%s", sig, w, log.String())
			}
		}
		if msg, code := semcom(t, nil, append(args(out), "--resume")...); code != 0 {
			t.Fatalf("resume after %v: exit %d\n%s", sig, code, msg)
		}
		if got := summaryOf(t, filepath.Join(out, "f")); got != want {
			t.Fatalf("after %v and --resume the summary differs", sig)
		}
	}
}

// TestRunFolderIntegrity: a second process on a run folder, resuming under another config, resuming
// without -c, the names of item 1 with --overwrite, and bad flag values.
func TestRunFolderIntegrity(t *testing.T) {
	sb := t.TempDir()
	out := filepath.Join(sb, "out")
	cfg := filepath.Join(sb, "tiny.yaml")
	yaml := "name: r\nmethods: [supervised]\ndata: {synthetic: {train: 32, test: 16, size: 16, classes: 8}}\n" +
		"model: {width: 4, feature_dim: 8, decoder_hidden: [8]}\nchannel: {snrs_db: [5]}\n" +
		"pretrain: {epochs: 1, batch: 16}\nfinetune: {epochs: 2, batch: 16}\ndevice: cpu\n"
	os.WriteFile(cfg, []byte(yaml), 0o644)
	os.WriteFile(filepath.Join(sb, "keep.txt"), []byte("keep"), 0o644)
	if _, err := run(t, "run", "-c", cfg, "--out", out); err != nil {
		t.Fatal(err)
	}
	run1 := summaryOf(t, filepath.Join(out, "r"))

	// Another process holds the run: refused, naming it.
	lock, err := runfolder.Acquire(filepath.Join(out, "r"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = run(t, "run", "-c", cfg, "--out", out, "--resume")
	host, _ := os.Hostname()
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("in use by PID %d on host %s", os.Getpid(), host)) {
		t.Fatalf("second process: %v", err)
	}
	lock.Release()

	// Resuming under another config is refused with the keys that differ, exit code 2.
	_, err = run(t, "run", "-c", cfg, "--out", out, "--resume", "--set", "seed=5", "--set", "finetune.epochs=3")
	if err == nil || !strings.Contains(err.Error(), "seed: 1 → 5") || !strings.Contains(err.Error(), "finetune.epochs: 2 → 3") || exitCode(err) != exitInvalid {
		t.Fatalf("resume with another config: %v (exit %d)", err, exitCode(err))
	}
	// Without -c, --resume uses the stored config (not the defaults).
	if stdout, err := run(t, "run", "--out", out, "--name", "r", "--resume"); err != nil || !strings.Contains(stdout, "| 100% | 5 | supervised |") {
		t.Fatalf("resume without -c: %v\n%s", err, stdout)
	}
	if summaryOf(t, filepath.Join(out, "r")) != run1 {
		t.Fatal("resuming a finished run changed its summary")
	}

	// The names of item 1 never leave out, and --overwrite deletes only run folders.
	for _, name := range []string{"..", "."} {
		_, err := run(t, "run", "-c", cfg, "--out", out, "--name", name, "--overwrite")
		if err == nil || !strings.Contains(err.Error(), "--name") || exitCode(err) != exitInvalid {
			t.Fatalf("--name %s: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(sb, "keep.txt")); err != nil {
		t.Fatal("a file beside out is gone")
	}
	if _, err := os.Stat(filepath.Join(out, "r", "summary.json")); err != nil {
		t.Fatal("a run in out is gone")
	}
	os.MkdirAll(filepath.Join(out, "notes"), 0o755)
	os.WriteFile(filepath.Join(out, "notes", "todo.txt"), []byte("x"), 0o644)
	if _, err := run(t, "run", "-c", cfg, "--out", out, "--name", "notes", "--overwrite"); err == nil || !strings.Contains(err.Error(), "not a semcom run folder") {
		t.Fatalf("--overwrite of a foreign folder: %v", err)
	}

	// An unwritable tracking folder fails before any training starts.
	os.WriteFile(filepath.Join(out, "blocked"), nil, 0o644)
	if _, err := run(t, "run", "-c", cfg, "--out", filepath.Join(out, "blocked", "x")); err == nil {
		t.Fatal("a run below a file started")
	}
	os.RemoveAll(filepath.Join(out, "r", "tb"))
	os.WriteFile(filepath.Join(out, "r", "tb"), []byte("not a folder"), 0o644)
	if _, err := run(t, "run", "-c", cfg, "--out", out, "--resume"); err == nil || !strings.Contains(err.Error(), "tracking") || exitCode(err) != exitInvalid {
		t.Fatalf("an unwritable tracking folder: %v", err)
	}
	os.Remove(filepath.Join(out, "r", "tb"))

	// A failed start leaves nothing that needs --overwrite.
	if _, err := run(t, "run", "-c", cfg, "--out", out, "--name", "later", "--set", "data.kind=nyud2", "--set", "data.path="+sb); err == nil {
		t.Fatal("a missing NYU cache was accepted")
	}
	if _, err := run(t, "run", "-c", cfg, "--out", out, "--name", "later"); err != nil {
		t.Fatalf("the corrected rerun: %v", err)
	}

	// Bad flag values are refused before any work, with exit code 2.
	for _, args := range [][]string{
		{"finetune", "-c", cfg, "--out", out, "--snr", "NaN"},
		{"finetune", "-c", cfg, "--out", out, "--snr", "Inf"},
		{"finetune", "-c", cfg, "--out", out, "--labels", "NaN"},
		{"run", "-c", cfg, "--out", out, "--name", "big", "--set", "data.synthetic.size=100000"},
		{"model", "summary", "--width", "100000"},
		{"run", "-c", cfg, "--out", out, "--resume", "--overwrite"},
	} {
		_, err := run(t, args...)
		if err == nil || exitCode(err) != exitInvalid {
			t.Fatalf("%v: %v (exit %d)", args, err, exitCode(err))
		}
	}
	if _, err := os.Stat(filepath.Join(out, "big")); err == nil {
		t.Fatal("a config refused for its memory left a run folder")
	}
}

func TestResumeCommand(t *testing.T) {
	if got := resumeCommand([]string{"semcom", "sweep", "run", "-g", "g.yaml", "--index", "3"}); got != "semcom sweep run -g g.yaml --index 3" {
		t.Fatalf("sweep resume command %q: sweep run has no --resume", got)
	}
	if got := resumeCommand([]string{"semcom", "run", "--set", "methods=[proposed]"}); got != "semcom run --set 'methods=[proposed]' --resume" {
		t.Fatalf("resume command %q: want the glob quoted", got)
	}
	got := resumeCommand([]string{"semcom", "run", "-c", "x.yaml", "--overwrite"})
	if got != "semcom run -c x.yaml --resume" {
		t.Fatalf("resumeCommand = %q", got)
	}
	if exitCode(nil) != 0 || exitCode(errors.New("x")) != exitFailed || exitCode(invalid(errors.New("x"))) != exitInvalid {
		t.Fatal("exit codes")
	}
}
