package train

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/semcom/semcom/internal/fsutil"
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
	// BatchNormGroups is how many parts of each batch BatchNorm normalised separately when it was written
	// (local BN on W ranks: W; model.ghost_bn: its value; synchronised or one process: 1). A resume under
	// another count would silently change the results; 0 (older checkpoints) reads as 1.
	BatchNormGroups int `json:"batchnorm_groups,omitempty"`
	// StateSHA256 and StateBytes check state.safetensors; Outputs maps each file that a complete job
	// exported (encoders.safetensors, …) to its SHA-256.
	StateSHA256 string            `json:"state_sha256"`
	StateBytes  int64             `json:"state_bytes"`
	Outputs     map[string]string `json:"outputs,omitempty"`
}

// Checkpoint layout: <job>/checkpoints/ckpt-NNNNNN/{state.safetensors, checkpoint.json}. A generation is
// written in a staging folder (a temporary name) and renamed into place whole, so a crash at any point
// leaves the previous generation intact and the new one either complete or absent. The newest two are kept.
const (
	CheckpointDir   = "checkpoints"
	StateFile       = "state.safetensors"
	CheckpointJSON  = "checkpoint.json"
	keepGenerations = 2
)

// ErrNoCheckpoint says a job has no checkpoint to resume from.
var ErrNoCheckpoint = errors.New("no checkpoint")

// generation is one checkpoint folder.
type generation struct {
	seq  int
	path string
}

// generations lists a job's checkpoint folders, newest first.
func generations(job string) ([]generation, error) {
	entries, err := os.ReadDir(filepath.Join(job, CheckpointDir))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []generation
	for _, e := range entries {
		n, ok := strings.CutPrefix(e.Name(), "ckpt-")
		seq, err := strconv.Atoi(n)
		if !ok || err != nil || !e.IsDir() {
			continue // staging folders carry fsutil.TempInfix and are removed on the next start
		}
		out = append(out, generation{seq, filepath.Join(job, CheckpointDir, e.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq > out[j].seq })
	return out, nil
}

// saveCheckpoint commits model, optimiser and generator states with info as a new generation, then prunes
// generations older than the previous one.
func saveCheckpoint(job string, info CheckpointInfo, model map[string]*torch.Tensor, o optim.Optimizer, gens map[string]*torch.Generator) error {
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
	meta := map[string]string{"epoch": strconv.Itoa(info.Epoch), "stage": info.Stage, "method": info.Method}
	root := filepath.Join(job, CheckpointDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	existing, err := generations(job)
	if err != nil {
		return err
	}
	seq := 1
	if len(existing) > 0 {
		seq = existing[0].seq + 1
	}
	final := filepath.Join(root, fmt.Sprintf("ckpt-%06d", seq))
	staging, err := os.MkdirTemp(root, filepath.Base(final)+fsutil.TempInfix)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	fsutil.Fault("checkpoint")
	if info.StateSHA256, info.StateBytes, err = saveHashed(filepath.Join(staging, StateFile), tensors, meta); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	fsutil.Fault("checkpoint")
	js, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	if err := fsutil.WriteFile(filepath.Join(staging, CheckpointJSON), js, 0o644); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	fsutil.Fault("checkpoint")
	if err := os.Rename(staging, final); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	fsutil.Fault("checkpoint")
	if err := fsutil.SyncDir(root); err != nil {
		return err
	}
	fsutil.Fault("checkpoint")
	for i, g := range existing {
		if i+1 >= keepGenerations { // the new one plus the previous
			if err := os.RemoveAll(g.path); err != nil {
				return fmt.Errorf("checkpoint: prune %s: %w", g.path, err)
			}
			fsutil.Fault("checkpoint")
		}
	}
	return nil
}

// checkpoint is a verified generation: its info and raw state.
type checkpoint struct {
	Info  CheckpointInfo
	Path  string // the generation folder
	state []byte
}

// newestCheckpoint finds the newest generation whose files are complete and match their checksums. Each
// damaged generation it skips is described in skipped (for the log). With no generation at all it
// returns ErrNoCheckpoint; when every generation is damaged, an error that lists them.
func newestCheckpoint(job string) (ck checkpoint, skipped []string, err error) {
	gens, err := generations(job)
	if err != nil {
		return ck, nil, err
	}
	if len(gens) == 0 {
		return ck, nil, ErrNoCheckpoint
	}
	for _, g := range gens {
		c, err := readGeneration(g.path)
		if err == nil {
			return c, skipped, nil
		}
		skipped = append(skipped, err.Error())
	}
	return ck, skipped, fmt.Errorf("every checkpoint of %s is damaged (%s): start the job again (--overwrite)", job, strings.Join(skipped, "; "))
}

func readGeneration(dir string) (checkpoint, error) {
	c := checkpoint{Path: dir}
	b, err := os.ReadFile(filepath.Join(dir, CheckpointJSON))
	if err != nil {
		return c, fmt.Errorf("%s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &c.Info); err != nil {
		return c, fmt.Errorf("%s: %w", filepath.Join(dir, CheckpointJSON), err)
	}
	state, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return c, fmt.Errorf("%s: %w", dir, err)
	}
	sum := sha256.Sum256(state)
	if int64(len(state)) != c.Info.StateBytes || hex.EncodeToString(sum[:]) != c.Info.StateSHA256 {
		return c, fmt.Errorf("%s: %d bytes with SHA-256 %.12s, but %s records %d bytes with %.12s (corrupted)",
			filepath.Join(dir, StateFile), len(state), hex.EncodeToString(sum[:]), CheckpointJSON, c.Info.StateBytes, c.Info.StateSHA256)
	}
	c.state = state
	return c, nil
}

// restore loads a verified checkpoint into the live model, optimiser and generators.
func (c checkpoint) restore(load func(map[string]*torch.Tensor) error, o optim.Optimizer, gens map[string]*torch.Generator) error {
	path := filepath.Join(c.Path, StateFile)
	tensors, _, err := safetensors.Parse(c.state, path)
	if err != nil {
		return err
	}
	defer torch.FreeAll(tensors)
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
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := o.LoadState(ost, c.Info.OptimizerSteps); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for n, g := range gens {
		s, ok := tensors["rng/"+n]
		if !ok {
			return fmt.Errorf("%s: generator state rng/%s missing", path, n)
		}
		if err := torch.Catch(func() { g.SetState(s) }); err != nil {
			return fmt.Errorf("%s: rng/%s: %w", path, n, err)
		}
	}
	return nil
}

// saveHashed writes tensors to path as safetensors (atomically) and returns the file's SHA-256 and size,
// computed while writing rather than by reading the file back.
func saveHashed(path string, tensors map[string]*torch.Tensor, meta map[string]string) (string, int64, error) {
	h := sha256.New()
	var size int64
	err := fsutil.WriteWith(path, 0o644, func(w io.Writer) error {
		cw := &countingWriter{w: io.MultiWriter(w, h)}
		err := safetensors.EncodeTo(cw, tensors, meta)
		size = cw.n
		return err
	})
	return hex.EncodeToString(h.Sum(nil)), size, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// fileSHA256 is the hex SHA-256 of a file ("" when it cannot be read).
func fileSHA256(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// outputsIntact reports whether every exported file still has the checksum the checkpoint recorded.
func outputsIntact(job string, outputs map[string]string) bool {
	for name, sum := range outputs {
		if fileSHA256(filepath.Join(job, name)) != sum {
			return false
		}
	}
	return true
}
