package torch

import "fmt"

// ErrKind classifies a libtorch error.
type ErrKind int

// The kinds match tg.h's TG_ERR_* codes; ErrFreed is Go-side only.
const (
	ErrOther ErrKind = iota
	ErrOOM
	ErrIndex
	ErrValue
	ErrNotImplemented
	ErrFreed
)

func (k ErrKind) String() string {
	switch k {
	case ErrOOM:
		return "out of memory"
	case ErrIndex:
		return "index error"
	case ErrValue:
		return "value error"
	case ErrNotImplemented:
		return "not implemented"
	case ErrFreed:
		return "use of freed tensor"
	}
	return "error"
}

// Error is a libtorch error (short message, no C++ backtrace) or a misuse of the Go API.
type Error struct {
	Op   string
	Kind ErrKind
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("torch: %s: %s", e.Op, e.Msg) }

// Catch runs f and returns the *Error it panicked with, if any. Other panics propagate.
func Catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if te, ok := r.(*Error); ok {
				err = te
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}
