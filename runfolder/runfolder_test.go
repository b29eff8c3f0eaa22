package runfolder

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semcom/semcom/internal/fsutil"
)

func TestValidName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"demo", true}, {"run-1.b", true}, {"proposed-labels0.1-snr-5", true},
		{"", false}, {".", false}, {"..", false}, {"a/b", false}, {`a\b`, false}, {"../x", false},
		{"tab\there", false}, {"-rf", false}, {"lock", false}, {"x.tmp-1", false}, {strings.Repeat("n", 201), false},
	} {
		if err := ValidName(c.name); (err == nil) != c.ok {
			t.Errorf("ValidName(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func noDiff(string) []string { return nil }

// TestOverwriteDeletesOnlyRunFolders: the names of item 1 can no longer reach outside out, and --overwrite
// deletes nothing that is not a semcom run folder.
func TestOverwriteDeletesOnlyRunFolders(t *testing.T) {
	sb := t.TempDir()
	out := filepath.Join(sb, "out")
	os.MkdirAll(out, 0o755)
	keep := filepath.Join(sb, "keep.txt")
	os.WriteFile(keep, []byte("precious"), 0o644)
	for _, name := range []string{"..", ".", "../out", ""} {
		if _, err := Open(out, name, Overwrite, "h", noDiff); err == nil {
			t.Fatalf("Open(%q) accepted", name)
		}
	}
	// A folder that semcom did not make is neither overwritten nor written into.
	foreign := filepath.Join(out, "data")
	os.MkdirAll(foreign, 0o755)
	os.WriteFile(filepath.Join(foreign, "x.bin"), []byte("x"), 0o644)
	for _, mode := range []Mode{New, Resume, Overwrite} {
		if _, err := Open(out, "data", mode, "h", noDiff); err == nil || !strings.Contains(err.Error(), "not a semcom run folder") {
			t.Fatalf("mode %d on a foreign folder: %v", mode, err)
		}
	}
	if _, err := os.Stat(filepath.Join(foreign, "x.bin")); err != nil {
		t.Fatal("foreign file removed")
	}
	os.WriteFile(filepath.Join(foreign, "y"+fsutil.TempInfix+"1"), nil, 0o644)
	Open(out, "data", Overwrite, "h", noDiff)
	if es, _ := os.ReadDir(foreign); len(es) != 2 { // x.bin and the temp-looking file: no lock, nothing cleaned
		t.Fatalf("a refused foreign folder was changed: %v", es)
	}
	// A start killed between its config and its marker trained nothing: resumed, it starts afresh.
	for _, mode := range []Mode{Resume, New, Overwrite} {
		half := filepath.Join(out, "half")
		os.MkdirAll(half, 0o755)
		os.WriteFile(filepath.Join(half, ConfigFile), []byte("name: half\n"), 0o644)
		os.WriteFile(filepath.Join(half, MarkerFile+fsutil.TempInfix+"9"), []byte("{"), 0o644)
		r, err := Open(out, "half", mode, "h", noDiff)
		if err != nil || !r.Fresh || r.NothingToResume != (mode == Resume) {
			t.Fatalf("mode %d on an interrupted start: %v %+v", mode, err, r)
		}
		if err := r.Commit([]byte("name: half\n"), "h"); err != nil {
			t.Fatal(err)
		}
		r.Close()
		os.RemoveAll(half)
	}
	// A run folder is overwritten, keeping nothing of the old run.
	r, err := Open(out, "r", New, "h", noDiff)
	if err != nil || !r.Fresh {
		t.Fatalf("new run: %v", err)
	}
	if err := r.Commit([]byte("name: r\n"), "h"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(r.Dir, "old.csv"), []byte("1"), 0o644)
	r.Close()
	if _, err := Open(out, "r", New, "h", noDiff); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("second new run: %v", err)
	}
	r, err = Open(out, "r", Overwrite, "h2", noDiff)
	if err != nil || !r.Fresh {
		t.Fatalf("overwrite: %v", err)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "old.csv")); !os.IsNotExist(err) {
		t.Fatal("overwrite kept the old run's files")
	}
	r.Close()
	if b, err := os.ReadFile(keep); err != nil || string(b) != "precious" {
		t.Fatal("a file beside out was touched")
	}
	// A symbolic link in place of the run folder is refused.
	os.Symlink(sb, filepath.Join(out, "link"))
	if _, err := Open(out, "link", Overwrite, "h", noDiff); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("symlinked run folder: %v", err)
	}
}

func TestResumeChecksTheConfigHash(t *testing.T) {
	out := t.TempDir()
	r, _ := Open(out, "r", New, "aaa", noDiff)
	r.Commit([]byte("seed: 1\n"), "aaa")
	r.Close()
	_, err := Open(out, "r", Resume, "bbb", func(stored string) []string {
		if filepath.Base(stored) != ConfigFile {
			t.Fatalf("diff got %s", stored)
		}
		return []string{"seed: 1 → 5"}
	})
	var changed *ConfigChangedError
	if !errors.As(err, &changed) || !strings.Contains(err.Error(), "seed: 1 → 5") || !strings.Contains(err.Error(), "drop -c and --set") {
		t.Fatalf("resume under another config: %v", err)
	}
	os.WriteFile(filepath.Join(out, "r", "metrics.csv"+".tmp-123"), nil, 0o644) // an interrupted write
	r, err = Open(out, "r", Resume, "aaa", noDiff)
	if err != nil || r.Fresh || len(r.Cleaned) != 1 {
		t.Fatalf("resume: %v fresh=%v cleaned=%v", err, r != nil && r.Fresh, r.Cleaned)
	}
	r.Close()
	r, err = Open(out, "nothing", Resume, "aaa", noDiff)
	if err != nil || !r.NothingToResume || !r.Fresh {
		t.Fatalf("resume of nothing: %v", err)
	}
	r.Close()
}

func TestLockNamesTheHolderAndTakesOverStaleLocks(t *testing.T) {
	dir := t.TempDir()
	a, err := Acquire(dir)
	if err != nil || a.Stale != nil {
		t.Fatalf("first lock: %v %v", err, a.Stale)
	}
	host, _ := os.Hostname()
	_, err = Acquire(dir) // flock conflicts between two open files, also within one process
	var locked *LockedError
	if !errors.As(err, &locked) || locked.Holder.PID != os.Getpid() || !strings.Contains(err.Error(), host) {
		t.Fatalf("second lock: %v", err)
	}
	if _, err := Open(filepath.Dir(dir), filepath.Base(dir), Resume, "h", noDiff); !errors.As(err, &locked) {
		t.Fatalf("Open of a locked folder: %v", err)
	}
	a.Release()
	b, err := Acquire(dir)
	if err != nil || b.Stale != nil {
		t.Fatalf("after a clean release: %v, stale %v", err, b.Stale)
	}
	b.Release()
	// A holder record without a held lock is what a killed process leaves: taken over, and said.
	dead, _ := json.Marshal(Holder{PID: 999999, Host: "gone"})
	os.WriteFile(filepath.Join(dir, LockFile), dead, 0o644)
	c, err := Acquire(dir)
	if err != nil || c.Stale == nil || c.Stale.PID != 999999 {
		t.Fatalf("stale lock: %v %+v", err, c.Stale)
	}
	c.Release()
}

func TestOpenJob(t *testing.T) {
	run := t.TempDir()
	j, err := OpenJob(run, "h1", "finetune", "proposed-labels100-snr5")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenJob(run, "h1", "finetune", "proposed-labels100-snr5"); err == nil {
		t.Fatal("a job folder was opened twice")
	}
	j.Close()
	if _, err := OpenJob(run, "h2", "finetune", "proposed-labels100-snr5"); err == nil || !strings.Contains(err.Error(), "refusing to mix") {
		t.Fatalf("job under another hash: %v", err)
	}
	if _, err := OpenJob(run, "h1", "finetune", ".."); err == nil {
		t.Fatal("job name .. accepted")
	}
	os.Symlink(t.TempDir(), filepath.Join(run, "pretrain"))
	if _, err := OpenJob(run, "h1", "pretrain", "proposed"); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("symlinked stage folder: %v", err)
	}
}
