package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/semcom/semcom/internal/fsutil"
	"github.com/semcom/semcom/runfolder"
)

// Exit codes of 'semcom sweep run', a contract with the engines (Slurm, Kubernetes' pod failure policy):
// anything else is transient and worth retrying.
const (
	ExitDone       = 0
	ExitInvalid    = 2 // invalid config or data: never worth retrying
	ExitDiverged   = 3 // the job diverged: a result, recorded
	ExitDependency = 4 // a dependency is not done yet
)

// Markers in a job folder. DONE is written last, atomically: a job with it is finished and never runs again.
const (
	DoneFile   = "DONE"
	FailedFile = "FAILED"
	MarkerFile = "sweep.json"
	GridCopy   = "grid.yaml"
)

// Outcome is what DONE or FAILED records.
type Outcome struct {
	Status   string    `json:"status"` // done, diverged, failed
	Exit     int       `json:"exit"`
	Message  string    `json:"message,omitempty"`
	Finished time.Time `json:"finished"`
}

// JobDir is a job's folder.
func (p *Plan) JobDir(j *Job) string { return filepath.Join(p.Grid.Dir(), "jobs", j.Name) }

// sweepMarker identifies the plan a sweep folder belongs to.
type sweepMarker struct {
	Name     string    `json:"name"`
	PlanHash string    `json:"plan_hash"`
	Jobs     int       `json:"jobs"`
	Created  time.Time `json:"created"`
}

// Prepare makes the sweep folder (or checks it): a folder made from another plan is refused, never mixed.
func (p *Plan) Prepare() error {
	dir := p.Grid.Dir()
	if err := os.MkdirAll(filepath.Join(dir, "jobs"), 0o755); err != nil {
		return err
	}
	if err := p.Check(); err == nil || !errors.Is(err, os.ErrNotExist) {
		return err
	}
	raw, err := os.ReadFile(p.Grid.path)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFile(filepath.Join(dir, GridCopy), raw, 0o644); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(sweepMarker{p.Grid.Name, p.Hash, len(p.Jobs), time.Now().UTC().Truncate(time.Second)}, "", "  ")
	return fsutil.WriteFile(filepath.Join(dir, MarkerFile), append(b, '\n'), 0o644)
}

// Check verifies that the sweep folder was made from this plan (os.ErrNotExist when it has no marker).
func (p *Plan) Check() error {
	b, err := os.ReadFile(filepath.Join(p.Grid.Dir(), MarkerFile))
	if err != nil {
		return err
	}
	var m sweepMarker
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(p.Grid.Dir(), MarkerFile), err)
	}
	if m.PlanHash != p.Hash {
		return fmt.Errorf("%s was made from another grid or version of it (plan %.12s, this grid's %.12s; %d jobs there, %d here): "+
			"refusing to mix their results; give the sweep another name", p.Grid.Dir(), m.PlanHash, p.Hash, m.Jobs, len(p.Jobs))
	}
	return nil
}

// State is a job's state as the sweep folder shows it.
type State struct {
	Status string // done, diverged, running, failed, interrupted, pending
	Exit   int
	Detail string
}

// StateOf reads a job's state from its folder alone, so it works for every engine.
func (p *Plan) StateOf(j *Job) State {
	dir := p.JobDir(j)
	if o, err := readOutcome(filepath.Join(dir, DoneFile)); err == nil {
		return State{Status: o.Status, Exit: o.Exit, Detail: o.Message}
	}
	if h, held := runfolder.Held(dir); held {
		return State{Status: "running", Detail: h.String()}
	}
	if o, err := readOutcome(filepath.Join(dir, FailedFile)); err == nil {
		return State{Status: "failed", Exit: o.Exit, Detail: o.Message}
	}
	if _, err := os.Stat(dir); err == nil {
		return State{Status: "interrupted", Detail: "started, not finished: resumes from its checkpoint"}
	}
	return State{Status: "pending"}
}

func readOutcome(path string) (Outcome, error) {
	var o Outcome
	b, err := os.ReadFile(path)
	if err != nil {
		return o, err
	}
	return o, json.Unmarshal(b, &o)
}

func writeOutcome(path string, o Outcome) error {
	o.Finished = time.Now().UTC().Truncate(time.Second)
	b, _ := json.MarshalIndent(o, "", "  ")
	return fsutil.WriteFile(path, append(b, '\n'), 0o644)
}

// Executor trains job j in its folder dir; deps are the folders of its dependencies.
type Executor func(j *Job, dir string, deps []string) error

// Classifier maps an executor's error to an exit code: ExitDiverged, ExitInvalid, 128+N for a signal, or
// anything else for a transient failure.
type Classifier func(error) int

// Job returns job i, or an error naming the indices the sweep has.
func (p *Plan) Job(i int) (*Job, error) {
	if i < 0 || i >= len(p.Jobs) {
		return nil, fmt.Errorf("--index %d: the sweep has %d jobs (0 to %d)", i, len(p.Jobs), len(p.Jobs)-1)
	}
	return p.Jobs[i], nil
}

// RunJob runs job i idempotently and returns its exit code: a done job returns at once; a job whose
// dependency is not done returns ExitDependency (a diverged dependency makes the job a recorded divergence);
// a job that another process holds is waited for up to lockWait and then read as that process left it.
func (p *Plan) RunJob(i int, exec Executor, classify Classifier, lockWait time.Duration, logf func(string, ...any)) int {
	j, err := p.Job(i)
	if err != nil {
		logf("%v", err)
		return ExitInvalid
	}
	dir := p.JobDir(j)
	var deps []string
	for _, d := range j.Deps {
		dep := p.Jobs[d]
		switch st := p.StateOf(dep); st.Status {
		case "done":
			deps = append(deps, p.JobDir(dep))
		case "diverged":
			os.MkdirAll(dir, 0o755)
			msg := fmt.Sprintf("its pre-training %s diverged: %s", dep.Name, st.Detail)
			writeOutcome(filepath.Join(dir, DoneFile), Outcome{Status: "diverged", Exit: ExitDiverged, Message: msg})
			logf("job %d %s: %s", i, j.Name, msg)
			return ExitDiverged
		case "failed":
			if st.Exit == ExitInvalid { // it will never succeed: neither will this job
				os.MkdirAll(dir, 0o755)
				msg := fmt.Sprintf("its dependency %s failed for good (exit %d): %s", dep.Name, st.Exit, st.Detail)
				writeOutcome(filepath.Join(dir, FailedFile), Outcome{Status: "failed", Exit: ExitDependency, Message: msg})
				logf("job %d %s: %s", i, j.Name, msg)
				return ExitDependency
			}
			fallthrough
		default:
			logf("job %d %s: dependency %d %s is %s", i, j.Name, d, dep.Name, st.Status)
			return ExitDependency
		}
	}
	deadline := time.Now().Add(lockWait)
	for {
		if o, err := readOutcome(filepath.Join(dir, DoneFile)); err == nil {
			logf("job %d %s: already %s", i, j.Name, o.Status)
			return o.Exit
		}
		err := exec(j, dir, deps)
		var locked *runfolder.LockedError
		if errors.As(err, &locked) && time.Now().Before(deadline) {
			time.Sleep(min(2*time.Second, time.Until(deadline)))
			continue
		}
		code := ExitDone
		if err != nil {
			code = classify(err)
		}
		switch {
		case code == ExitDone:
			os.Remove(filepath.Join(dir, FailedFile))
			if err := writeOutcome(filepath.Join(dir, DoneFile), Outcome{Status: "done"}); err != nil {
				logf("job %d %s: %v", i, j.Name, err)
				return 1
			}
		case code == ExitDiverged:
			writeOutcome(filepath.Join(dir, DoneFile), Outcome{Status: "diverged", Exit: code, Message: err.Error()})
		case code >= 128 || errors.As(err, &locked):
			// interrupted (resumable) or still held by another process: nothing to record
		default:
			os.MkdirAll(dir, 0o755)
			writeOutcome(filepath.Join(dir, FailedFile), Outcome{Status: "failed", Exit: code, Message: err.Error()})
		}
		if err != nil {
			logf("job %d %s: %v", i, j.Name, err)
		}
		return code
	}
}
