// Package runfolder keeps run folders whole: run and job names that are single path components, a marker
// that makes a folder a semcom run (the only kind --overwrite deletes), the hash of the resolved config that
// --resume compares, exclusive locks on run and job folders, and the removal of what interrupted writes
// left behind.
package runfolder

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/semcom/semcom/internal/fsutil"
)

// ValidName accepts a run or job name that is one ordinary path component.
func ValidName(name string) error {
	switch {
	case name == "":
		return errors.New("a non-empty name")
	case name == "." || name == "..":
		return errors.New("a name other than . and ..")
	case strings.ContainsAny(name, `/\`):
		return errors.New("a name without slashes (one folder, not a path)")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return errors.New("a name without control characters")
	case strings.HasPrefix(name, "-"):
		return errors.New("a name that does not start with '-'")
	case len(name) > 200:
		return errors.New("a name of at most 200 bytes")
	case fsutil.IsTemp(name) || name == LockFile:
		return fmt.Errorf("a name that is neither %q nor contains %q", LockFile, fsutil.TempInfix)
	}
	return nil
}

// Marker files: run.json makes a folder a semcom run; job.json a job inside one.
const (
	MarkerFile    = "run.json"
	JobMarkerFile = "job.json"
	ConfigFile    = "config.yaml"
)

// Marker records what a folder is and which resolved config made it.
type Marker struct {
	Format     int       `json:"format"`
	Kind       string    `json:"kind"` // "run" or "job"
	Name       string    `json:"name"`
	ConfigHash string    `json:"config_hash"`
	Created    time.Time `json:"created"`
	// Provenance is the build and device that made the folder (absent in folders of older semcoms).
	Provenance *Provenance `json:"provenance,omitempty"`
	// Init is the pre-trained encoders a fine-tuning job started from (absent: from scratch).
	Init *InitRecord `json:"init,omitempty"`
}

// Provenance says which program made a folder: semcom's module version and VCS revision, the Go
// toolchain, the libtorch it ran on and the device.
type Provenance struct {
	Semcom   string `json:"semcom"`
	Revision string `json:"revision,omitempty"`
	Modified bool   `json:"modified,omitempty"` // built from a work tree with uncommitted changes
	Go       string `json:"go"`
	Libtorch string `json:"libtorch"`
	Device   string `json:"device"`
}

// provenance is recorded in every marker this process writes; set once by the command that runs.
var provenance *Provenance

// SetProvenance records p in every run.json and job.json this process makes from now on.
func SetProvenance(p Provenance) { provenance = &p }

// InitRecord names the encoders a fine-tuning job was initialised from, with their SHA-256, so that a
// resume from other encoders is refused rather than mixed.
type InitRecord struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// ReadMarker reads a folder's marker (os.ErrNotExist when it has none).
func ReadMarker(path string) (Marker, error) {
	var m Marker
	b, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func writeMarker(path string, m Marker) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFile(path, append(b, '\n'), 0o644)
}

// Mode says what to do with a run folder that exists.
type Mode int

const (
	New       Mode = iota // refuse an existing run
	Resume                // continue it (same config hash)
	Overwrite             // delete it first (only if it is a semcom run)
)

// ConfigChangedError refuses to resume a run under another config.
type ConfigChangedError struct {
	Dir     string
	Changes []string // "key: stored → new"
}

func (e *ConfigChangedError) Error() string {
	return fmt.Sprintf("%s was made with another config (%s): its results would no longer match its config.yaml; "+
		"resume with the stored config (drop -c and --set), or start a new run with another --name",
		e.Dir, strings.Join(e.Changes, "; "))
}

// Run is an open, locked run folder.
type Run struct {
	Dir  string
	Lock *Lock
	// Fresh is true when no run was there (new, overwritten, or nothing to resume): Commit writes its files.
	Fresh bool
	// NothingToResume is true when Resume found no run and a new one starts.
	NothingToResume bool
	// Cleaned lists leftovers of interrupted writes that were removed.
	Cleaned []string
}

// Open locks <out>/<name> and checks it against mode. hash is the resolved config's hash; diff lists the
// keys in which the stored config (the run's config.yaml) differs from the new one, for the message.
func Open(out, name string, mode Mode, hash string, diff func(stored string) []string) (*Run, error) {
	if err := ValidName(name); err != nil {
		return nil, fmt.Errorf("run name %q: want %v", name, err)
	}
	dir := filepath.Join(out, name)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	if err := mkdirReal(dir); err != nil {
		return nil, err
	}
	// A folder that is not semcom's is refused before the lock file is created in it: left exactly as it was.
	// One with a lock file is semcom's: whoever holds it is named first (Acquire), then it is checked.
	if _, err := os.Stat(filepath.Join(dir, LockFile)); os.IsNotExist(err) {
		if err := notOurs(dir); err != nil {
			return nil, err
		}
	}
	lock, err := Acquire(dir)
	if err != nil {
		return nil, err
	}
	r := &Run{Dir: dir, Lock: lock}
	if err := r.check(mode, hash, diff); err != nil {
		lock.Release()
		return nil, err
	}
	return r, nil
}

func (r *Run) check(mode Mode, hash string, diff func(string) []string) error {
	var err error
	if r.Cleaned, err = fsutil.CleanTemp(r.Dir); err != nil {
		return err
	}
	m, err := ReadMarker(filepath.Join(r.Dir, MarkerFile))
	switch {
	case err == nil && m.Kind == "run":
		switch mode {
		case New:
			return fmt.Errorf("run folder %s already holds a run: pass --resume to continue it, --overwrite to replace it, or choose another --name", r.Dir)
		case Overwrite:
			r.Fresh = true
			return clearExceptLock(r.Dir)
		}
		if m.ConfigHash != hash {
			return &ConfigChangedError{Dir: r.Dir, Changes: diff(filepath.Join(r.Dir, ConfigFile))}
		}
		return nil
	case err == nil:
		return fmt.Errorf("%s: %s says kind %q, not a run folder", r.Dir, MarkerFile, m.Kind)
	case !os.IsNotExist(err):
		return err
	}
	if err := notOurs(r.Dir); err != nil {
		return err
	}
	// Empty, or a start interrupted between the config and the marker (Commit): nothing was trained, so
	// the run starts afresh (a resume of it too).
	r.Fresh = true
	r.NothingToResume = mode == Resume
	return nil
}

// startFile says whether name is what a start interrupted before its marker can leave: the lock and the config (or a
// temporary file of either write).
func startFile(name string) bool {
	for _, f := range []string{LockFile, ConfigFile, MarkerFile} {
		if name == f || strings.HasPrefix(name, f+fsutil.TempInfix) {
			return true
		}
	}
	return false
}

// notOurs refuses a folder without a run marker that holds anything but what an interrupted start leaves.
func notOurs(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, MarkerFile)); err == nil {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if startFile(e.Name()) {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "checkpoints")); err == nil {
			return fmt.Errorf("%s holds a run made by an older semcom (no %s, checkpoints in the old layout): "+
				"it cannot be resumed or overwritten safely; move it away or choose another --name", dir, MarkerFile)
		}
		return fmt.Errorf("%s exists and is not a semcom run folder (no %s): semcom neither writes into it nor deletes it; choose another --name or --out",
			dir, MarkerFile)
	}
	return nil
}

// clearExceptLock deletes everything in dir but the lock that this process holds.
func clearExceptLock(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() != LockFile {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// Commit makes a fresh folder a run: the resolved config first, then the marker, so that every folder with
// a marker also has its config. A resumed run keeps the files it has.
func (r *Run) Commit(config []byte, hash string) error {
	if !r.Fresh {
		return nil
	}
	if err := fsutil.WriteFile(filepath.Join(r.Dir, ConfigFile), config, 0o644); err != nil {
		return err
	}
	return writeMarker(filepath.Join(r.Dir, MarkerFile), Marker{Format: 1, Kind: "run", Name: filepath.Base(r.Dir),
		ConfigHash: hash, Created: time.Now().UTC().Truncate(time.Second), Provenance: provenance})
}

// Close releases the run's lock.
func (r *Run) Close() { r.Lock.Release() }

// Job is an open, locked job folder inside a run.
type Job struct {
	Dir  string
	Lock *Lock
}

// OpenJob makes (or opens) the job folder root/parts..., refusing names that are not single components
// and symbolic links on the way, locks it, removes leftovers of interrupted writes, and checks its marker:
// a job made under another config hash is refused, never mixed.
func OpenJob(root, hash string, parts ...string) (*Job, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	dir := root
	for _, p := range parts {
		if err := ValidName(p); err != nil {
			return nil, fmt.Errorf("job name %q: want %v", p, err)
		}
		dir = filepath.Join(dir, p)
		if err := mkdirReal(dir); err != nil {
			return nil, err
		}
	}
	lock, err := Acquire(dir)
	if err != nil {
		return nil, err
	}
	j := &Job{Dir: dir, Lock: lock}
	if err := j.check(hash); err != nil {
		lock.Release()
		return nil, err
	}
	return j, nil
}

func (j *Job) check(hash string) error {
	if _, err := fsutil.CleanTemp(j.Dir); err != nil {
		return err
	}
	path := filepath.Join(j.Dir, JobMarkerFile)
	m, err := ReadMarker(path)
	switch {
	case err == nil && m.ConfigHash != hash:
		return fmt.Errorf("%s was made under config hash %.12s, not this config's %.12s: refusing to mix results of two configs in one job folder",
			j.Dir, m.ConfigHash, hash)
	case err == nil:
		return nil
	case !os.IsNotExist(err):
		return err
	}
	return writeMarker(path, Marker{Format: 1, Kind: "job", Name: filepath.Base(j.Dir), ConfigHash: hash,
		Created: time.Now().UTC().Truncate(time.Second), Provenance: provenance})
}

// CheckInit makes sure the job starts, or goes on, from the encoders init names (nil: from scratch). The
// first call records them in job.json; a later one with other encoders (another checksum), or from scratch
// where encoders were recorded or the reverse once the job has checkpoints, is refused.
func (j *Job) CheckInit(init *InitRecord, started bool) error {
	path := filepath.Join(j.Dir, JobMarkerFile)
	m, err := ReadMarker(path)
	if err != nil {
		return err
	}
	switch {
	case m.Init != nil && init != nil && m.Init.SHA256 == init.SHA256:
		return nil
	case m.Init != nil && init != nil:
		return fmt.Errorf("%s was started from --init %s (sha256 %.12s), not %s (sha256 %.12s): refusing to mix two initialisations in one job; use the same --init or another --name",
			j.Dir, m.Init.Path, m.Init.SHA256, init.Path, init.SHA256)
	case m.Init != nil:
		return fmt.Errorf("%s was started from --init %s: refusing to go on from scratch; pass the same --init", j.Dir, m.Init.Path)
	case init == nil:
		return nil
	case started:
		return fmt.Errorf("%s was started from scratch: refusing to go on from --init %s; use another --name", j.Dir, init.Path)
	}
	m.Init = init
	return writeMarker(path, m)
}

// Close releases the job's lock.
func (j *Job) Close() { j.Lock.Release() }

// mkdirReal makes dir (its parent exists) unless it is there; a symbolic link or a file in its place is
// refused, never followed or replaced.
func mkdirReal(dir string) error {
	if fi, err := os.Lstat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("%s exists and is not a folder (a symbolic link or a file): semcom writes only into folders it made", dir)
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return err
	}
	return nil
}
