// Package tracking sends a job's metrics to the tools people watch runs in: TensorBoard event files, which
// TensorBoard shows and W&B ('wandb sync') and Aim import. A Tracker takes scalars by tag and step, and text.
package tracking

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Names are the trackers semcom knows.
var Names = []string{"tensorboard"}

// Tracker records one job's metrics.
type Tracker interface {
	// Scalars records values (tag → value) at a step.
	Scalars(step int64, values map[string]float64) error
	// Text records a text (e.g. the resolved config) at a step.
	Text(step int64, tag, text string) error
	// Flush makes everything recorded so far visible to readers.
	Flush() error
	Close() error
}

// Check refuses unknown tracker names, naming the valid ones.
func Check(names []string) error {
	for _, n := range names {
		if !slices.Contains(Names, n) {
			return fmt.Errorf("tracking: %q is not a tracker; known: %s", n, strings.Join(Names, ", "))
		}
	}
	return nil
}

// CheckWritable makes dir and proves that files can be written in it, so that a bad tracking folder fails
// before any training starts.
func CheckWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tracking folder: %w", err)
	}
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("tracking folder %s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// Open starts the named trackers for a job whose files go below dir (TensorBoard: dir/<job>/).
func Open(names []string, dir, job string) (Tracker, error) {
	if err := Check(names); err != nil {
		return nil, err
	}
	var ts multi
	for _, n := range names {
		switch n {
		case "tensorboard":
			tb, err := NewTensorBoard(filepath.Join(dir, job))
			if err != nil {
				ts.Close()
				return nil, err
			}
			ts = append(ts, tb)
		}
	}
	return ts, nil
}

// None records nothing.
var None Tracker = multi(nil)

// multi fans out to several trackers (none: a silent tracker).
type multi []Tracker

func (m multi) Scalars(step int64, v map[string]float64) error {
	var errs []error
	for _, t := range m {
		errs = append(errs, t.Scalars(step, v))
	}
	return errors.Join(errs...)
}

func (m multi) Text(step int64, tag, text string) error {
	var errs []error
	for _, t := range m {
		errs = append(errs, t.Text(step, tag, text))
	}
	return errors.Join(errs...)
}

func (m multi) Flush() error {
	var errs []error
	for _, t := range m {
		errs = append(errs, t.Flush())
	}
	return errors.Join(errs...)
}

func (m multi) Close() error {
	var errs []error
	for _, t := range m {
		errs = append(errs, t.Close())
	}
	return errors.Join(errs...)
}
