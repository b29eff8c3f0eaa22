package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/optim"
	"github.com/semcom/semcom/torch/safetensors"
)

// CheckpointInfo is the small JSON beside a checkpoint's tensors.
type CheckpointInfo struct {
	Stage          string  `json:"stage"`
	Method         string  `json:"method"`
	Epoch          int     `json:"epoch"` // epochs completed
	OptimizerSteps int64   `json:"optimizer_steps"`
	Ledger         Ledger  `json:"ledger"`
	WallSeconds    float64 `json:"wall_s"`
	Complete       bool    `json:"complete"`
	Seed           uint64  `json:"seed"`
}

// ErrNoCheckpoint says a job has no checkpoint to resume from.
var ErrNoCheckpoint = errors.New("no checkpoint")

// saveCheckpoint writes model, optimiser and generator states (checkpoint.safetensors) and then the info
// (checkpoint.json). Both are written atomically; the epoch is stored in both so that a crash between the
// two writes is detected on load.
func saveCheckpoint(dir string, info CheckpointInfo, model map[string]*torch.Tensor, o optim.Optimizer, gens map[string]*torch.Generator) error {
	tensors := map[string]*torch.Tensor{}
	for n, t := range model {
		tensors["model/"+n] = t
	}
	st, steps := o.State()
	info.OptimizerSteps = steps
	for n, t := range st {
		tensors["optim/"+n] = t
	}
	var states []*torch.Tensor
	for n, g := range gens {
		s := g.State()
		states = append(states, s)
		tensors["rng/"+n] = s
	}
	defer func() {
		for _, s := range states {
			s.Free()
		}
	}()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	meta := map[string]string{"epoch": strconv.Itoa(info.Epoch), "stage": info.Stage, "method": info.Method}
	if err := safetensors.Save(filepath.Join(dir, "checkpoint.safetensors"), tensors, meta); err != nil {
		return err
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, "checkpoint.json"), b)
}

// readCheckpointInfo reads a checkpoint's JSON (ErrNoCheckpoint if absent).
func readCheckpointInfo(dir string) (CheckpointInfo, error) {
	var info CheckpointInfo
	b, err := os.ReadFile(filepath.Join(dir, "checkpoint.json"))
	if os.IsNotExist(err) {
		return info, ErrNoCheckpoint
	}
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("%s: %w", filepath.Join(dir, "checkpoint.json"), err)
	}
	return info, nil
}

// loadCheckpoint restores a checkpoint written by saveCheckpoint into the live model, optimiser and
// generators.
func loadCheckpoint(dir string, load func(map[string]*torch.Tensor) error, o optim.Optimizer, gens map[string]*torch.Generator) (CheckpointInfo, error) {
	info, err := readCheckpointInfo(dir)
	if err != nil {
		return info, err
	}
	path := filepath.Join(dir, "checkpoint.safetensors")
	tensors, meta, err := safetensors.Load(path)
	if err != nil {
		return info, err
	}
	defer torch.FreeAll(tensors)
	if meta["epoch"] != strconv.Itoa(info.Epoch) {
		return info, fmt.Errorf("%s holds epoch %s but checkpoint.json says %d: the checkpoint was interrupted mid-write", path, meta["epoch"], info.Epoch)
	}
	model, ost := map[string]*torch.Tensor{}, map[string]*torch.Tensor{}
	for n, t := range tensors {
		switch {
		case strings.HasPrefix(n, "model/"):
			model[strings.TrimPrefix(n, "model/")] = t
		case strings.HasPrefix(n, "optim/"):
			ost[strings.TrimPrefix(n, "optim/")] = t
		}
	}
	if err := load(model); err != nil {
		return info, fmt.Errorf("%s: %w", path, err)
	}
	if err := o.LoadState(ost, info.OptimizerSteps); err != nil {
		return info, fmt.Errorf("%s: %w", path, err)
	}
	for n, g := range gens {
		s, ok := tensors["rng/"+n]
		if !ok {
			return info, fmt.Errorf("%s: generator state rng/%s missing", path, n)
		}
		if err := torch.Catch(func() { g.SetState(s) }); err != nil {
			return info, fmt.Errorf("%s: rng/%s: %w", path, n, err)
		}
	}
	return info, nil
}
