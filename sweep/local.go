package sweep

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// LocalOptions configure the local engine.
type LocalOptions struct {
	Workers int
	// GPUs are device ids handed out one per worker through CUDA_VISIBLE_DEVICES; empty runs on the CPU,
	// splitting Cores between the workers (SEMCOM_THREADS).
	GPUs  []string
	Cores int
	// GPUsPerJob hands each worker this many GPUs (a data-parallel job; the Command runs that many ranks).
	GPUsPerJob int
	// Command returns the process that runs job i ('semcom sweep run -g GRID --index i').
	Command func(i int) *exec.Cmd
	Logf    func(string, ...any)
	// Ended, when set, hears of every job that ends (for a progress bar).
	Ended func()
	// Stop, when set, delivers the signals that stop the sweep: no job starts after the first, the running
	// ones get it too (so they stop after their current step and keep their checkpoints; SIGINT is not
	// passed on, since a terminal's Ctrl-C reaches the whole process group already and a second SIGINT
	// makes a job exit at once), and RunLocal returns once they have ended.
	Stop <-chan os.Signal
}

// LocalResult counts how the jobs ended.
type LocalResult struct {
	Done, Diverged, Failed, Blocked int
	Exit                            map[int]int // exit code of every job run in this invocation
	Stopped                         os.Signal   // the signal that stopped the sweep (nil: it ran to its end)
}

// RunLocal runs the DAG on this machine with Workers processes at a time, each job as soon as its
// dependencies are done. Jobs already done are skipped, interrupted ones resume from their checkpoints, so
// running it again after a kill continues the sweep. A job whose dependency failed is left blocked.
func (p *Plan) RunLocal(o LocalOptions) (LocalResult, error) {
	res := LocalResult{Exit: map[int]int{}}
	if o.Workers < 1 {
		return res, fmt.Errorf("--workers %d: want at least 1", o.Workers)
	}
	if err := os.MkdirAll(filepath.Join(p.Grid.Dir(), "logs"), 0o755); err != nil {
		return res, err
	}
	state := make([]string, len(p.Jobs)) // finished, failed, running, ""
	for _, j := range p.Jobs {
		switch p.StateOf(j).Status {
		case "done":
			state[j.Index], res.Done = "finished", res.Done+1
		case "diverged":
			state[j.Index], res.Diverged = "finished", res.Diverged+1
		}
	}
	type ended struct{ job, slot, code int }
	endc := make(chan ended)
	free := make([]bool, o.Workers)
	for i := range free {
		free[i] = true
	}
	running := 0
	procs := map[int]*exec.Cmd{}
	ready := func(j *Job) (ok, blocked bool) {
		for _, d := range j.Deps {
			switch state[d] {
			case "finished":
			case "failed", "blocked":
				return false, true
			default:
				return false, false
			}
		}
		return true, false
	}
	for {
		launched := false
		for _, j := range p.Jobs {
			if res.Stopped != nil {
				break
			}
			if state[j.Index] != "" {
				continue
			}
			ok, blocked := ready(j)
			if blocked {
				state[j.Index] = "blocked"
				res.Blocked++
				continue
			}
			slot := -1
			for s, f := range free {
				if f {
					slot = s
					break
				}
			}
			if !ok || slot < 0 {
				continue
			}
			cmd := o.Command(j.Index)
			cmd.Env = append(os.Environ(), "OMP_WAIT_POLICY=passive")
			if len(o.GPUs) > 0 {
				per := max(1, o.GPUsPerJob)
				var ids []string
				for k := range per {
					ids = append(ids, o.GPUs[(slot*per+k)%len(o.GPUs)])
				}
				cmd.Env = append(cmd.Env, "CUDA_VISIBLE_DEVICES="+strings.Join(ids, ","))
			} else {
				cmd.Env = append(cmd.Env, "SEMCOM_THREADS="+strconv.Itoa(max(1, o.Cores/o.Workers)))
			}
			logFile, err := os.OpenFile(filepath.Join(p.Grid.Dir(), "logs", j.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return res, err
			}
			cmd.Stdout, cmd.Stderr = logFile, logFile
			if err := cmd.Start(); err != nil {
				logFile.Close()
				return res, fmt.Errorf("job %d: %w", j.Index, err)
			}
			state[j.Index], free[slot] = "running", false
			procs[j.Index] = cmd
			running++
			launched = true
			o.Logf("started job %d/%d %s (worker %d)", j.Index, len(p.Jobs), j.Name, slot)
			go func(idx, slot int, cmd *exec.Cmd, f *os.File) {
				err := cmd.Wait()
				f.Close()
				code := 0
				if err != nil {
					code = cmd.ProcessState.ExitCode()
					if code < 0 {
						code = 128 + 9 // killed by a signal
					}
				}
				endc <- ended{idx, slot, code}
			}(j.Index, slot, cmd, logFile)
		}
		if running == 0 && !launched {
			break
		}
		var e ended
		select {
		case e = <-endc:
		case sig := <-o.Stop:
			if res.Stopped == nil {
				res.Stopped = sig
				o.Logf("%v: stopping the %d running jobs after their current step; no new job starts", sig, running)
			}
			if sig != os.Interrupt {
				for _, c := range procs {
					c.Process.Signal(sig)
				}
			}
			continue
		}
		delete(procs, e.job)
		running--
		free[e.slot] = true
		res.Exit[e.job] = e.code
		if o.Ended != nil {
			o.Ended()
		}
		j := p.Jobs[e.job]
		switch e.code {
		case ExitDone:
			state[e.job], res.Done = "finished", res.Done+1
		case ExitDiverged:
			state[e.job], res.Diverged = "finished", res.Diverged+1
		default:
			state[e.job], res.Failed = "failed", res.Failed+1
		}
		o.Logf("job %d %s ended with exit %d (%d done, %d diverged, %d failed, %d running)", e.job, j.Name, e.code,
			res.Done, res.Diverged, res.Failed, running)
	}
	return res, nil
}
