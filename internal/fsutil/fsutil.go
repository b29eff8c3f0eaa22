// Package fsutil writes files so that a crash, a kill or a full disk leaves either the old content or the
// new, never a torn or empty file: a temporary file in the same folder, fsync, rename over the target,
// fsync of the folder. It also finds and removes what interrupted writes leave behind, and holds the
// fault-injection points that the crash tests kill the process at.
package fsutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// TempInfix marks the name of every temporary file or folder that semcom writes ("metrics.csv.tmp-123"):
// anything carrying it is a leftover of an interrupted write once no process holds the folder's lock.
const TempInfix = ".tmp-"

// WriteFile replaces path with data atomically and durably. A symbolic link at path is replaced, never
// followed.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return WriteWith(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteWith is WriteFile for content produced by a writer function.
func WriteWith(path string, perm fs.FileMode, write func(io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, base+TempInfix+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if err := write(tmp); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: fsync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	committed = true
	return SyncDir(dir)
}

// SyncDir makes a folder's entries (a rename, a new file) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) { // some filesystems cannot sync a folder
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// IsTemp reports whether a file or folder name is a leftover of an interrupted write.
func IsTemp(name string) bool {
	return strings.Contains(name, TempInfix) || strings.HasSuffix(name, ".tmp")
}

// CleanTemp removes every leftover of an interrupted write below root and returns their paths. Call it
// only while holding root's lock, so that no live writer's temporary file is taken.
func CleanTemp(root string) ([]string, error) {
	var removed []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != root && IsTemp(d.Name()) {
			if err := os.RemoveAll(path); err != nil {
				return err
			}
			removed = append(removed, path)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	return removed, err
}

// KillAtEnv names the fault-injection variable of the crash tests: "LABEL:N" kills the process (SIGKILL,
// as a power cut or the OOM killer would) at the N-th fault point with that label. Unset in normal use.
const KillAtEnv = "SEMCOMTEST_KILL_AT"

var faultHits atomic.Int64

// Fault marks a point where a crash must leave a recoverable state; the crash tests kill the process here.
func Fault(label string) {
	spec := os.Getenv(KillAtEnv)
	if spec == "" {
		return
	}
	l, n, ok := strings.Cut(spec, ":")
	if !ok || l != label {
		return
	}
	want, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return
	}
	if faultHits.Add(1) == want {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
