package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTerminalUnderTmux runs 'semcom run' in a real terminal (tmux, 160 columns) and reads the screen as a
// person would: progress bars and log lines never share a line, a finished bar shows its elapsed time and
// no ETA, and the summary follows.
func TestTerminalUnderTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skipf("tmux is not installed ('make test' installs it): %v", err)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "tmux.sock")
	args := []string{os.Args[0], "run", "--out", dir, "--name", "tt", "--set", "pretrain.epochs=30"}
	args = append(args, tiny...)
	for i, a := range args {
		args[i] = "'" + a + "'"
	}
	script := "SEMCOMTEST_MAIN=1 " + strings.Join(args, " ") + "; echo SEMCOM-EXIT=$?; sleep 60"
	tmux := func(a ...string) (string, error) {
		out, err := exec.Command("tmux", append([]string{"-S", sock}, a...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := tmux("new-session", "-d", "-x", "160", "-y", "50", "sh", "-c", script); err != nil {
		t.Fatalf("tmux: %v: %s", err, out)
	}
	defer tmux("kill-server")
	var screen string
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(screen, "SEMCOM-EXIT=") {
		if time.Now().After(deadline) {
			t.Fatalf("semcom did not finish under tmux:\n%s", screen)
		}
		time.Sleep(300 * time.Millisecond)
		screen, _ = tmux("capture-pane", "-p", "-J", "-S", "-3000")
	}
	if !strings.Contains(screen, "SEMCOM-EXIT=0") || !strings.Contains(screen, "| 100% | 5 | proposed |") {
		t.Fatalf("run under tmux:\n%s", screen)
	}
	bar := regexp.MustCompile(`\d+/\d+ (eta|elapsed) `)
	finished := 0
	for _, line := range strings.Split(screen, "\n") {
		isBar := bar.MatchString(line)
		if isBar && (strings.Contains(line, "level=") || strings.Contains(line, "msg=")) {
			t.Fatalf("a bar and a log line share a line: %q\n%s", line, screen)
		}
		if isBar && strings.Contains(line, "100%") {
			finished++
			if !strings.Contains(line, "elapsed") || strings.Contains(line, "eta ") {
				t.Fatalf("a finished bar shows no elapsed time: %q", line)
			}
		}
	}
	if finished < 3 { // pre-training and two fine-tuning jobs
		t.Fatalf("%d finished bars on the screen:\n%s", finished, screen)
	}
}
