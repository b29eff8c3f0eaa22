package runfolder

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// LockFile is the lock of a run or job folder. It stays in the folder after release: removing it would let
// a process that opened the old file and one that creates a new one both believe they hold the lock.
const LockFile = "lock"

// Holder says who holds (or last held) a lock.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Since   time.Time `json:"since"`
	Command string    `json:"command"`
}

func (h Holder) String() string {
	return fmt.Sprintf("PID %d on host %s (since %s: %s)", h.PID, h.Host, h.Since.Format(time.RFC3339), h.Command)
}

// Lock is an exclusive lock on a folder: flock(2) on its lock file. The kernel drops it when the holding
// process dies, however it dies, so a lock left by a dead process is taken over by the next one (over NFS,
// Linux maps flock to the server's byte-range locks, which a crashed client's lease also releases).
type Lock struct {
	f   *os.File
	Dir string
	// Stale is the previous holder when it had left without releasing (it crashed or was killed).
	Stale *Holder
}

// LockedError says another process holds a folder's lock.
type LockedError struct {
	Dir    string
	Holder Holder
}

func (e *LockedError) Error() string {
	who := e.Holder.String()
	if e.Holder.PID == 0 {
		who = "another process"
	}
	return fmt.Sprintf("%s is in use by %s: wait for it to finish or stop it; two processes never write one folder", e.Dir, who)
}

// Acquire takes dir's lock without waiting: a *LockedError names the holder when another process has it.
func Acquire(dir string) (*Lock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := readHolder(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Dir: dir, Holder: holder}
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	l := &Lock{f: f, Dir: dir}
	if prev := readHolder(f); prev.PID != 0 {
		l.Stale = &prev
	}
	host, _ := os.Hostname()
	me := Holder{PID: os.Getpid(), Host: host, Since: time.Now().UTC().Truncate(time.Second), Command: strings.Join(os.Args, " ")}
	if err := l.write(me); err != nil {
		l.Release()
		return nil, err
	}
	return l, nil
}

func readHolder(f *os.File) Holder {
	var h Holder
	b := make([]byte, 64<<10)
	n, _ := f.ReadAt(b, 0)
	json.Unmarshal(b[:n], &h)
	return h
}

func (l *Lock) write(h Holder) error {
	b, _ := json.Marshal(h)
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("lock %s: %w", l.Dir, err)
	}
	if _, err := l.f.WriteAt(append(b, '\n'), 0); err != nil {
		return fmt.Errorf("lock %s: %w", l.Dir, err)
	}
	return nil
}

// Release empties the holder record (so the next process sees a clean release, not a crash) and unlocks.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Truncate(0)
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}

// Held reports whether a process holds dir's lock now, and who, without taking it or writing anything.
func Held(dir string) (Holder, bool) {
	f, err := os.Open(filepath.Join(dir, LockFile))
	if err != nil {
		return Holder{}, false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return readHolder(f), errors.Is(err, syscall.EWOULDBLOCK)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return Holder{}, false
}
