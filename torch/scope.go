package torch

// #include "tg.h"
import "C"

import "runtime"

// Scope owns the tensors created while it is the innermost open scope and frees them all in one call when
// it closes. Scopes nest; they belong to the torch goroutine (see LockThread), which is why the stack of
// open scopes can be a plain package variable.
type Scope struct {
	tensors []*Tensor
	parent  *Scope
	closed  bool
}

var currentScope *Scope

// NewScope opens a scope; close it with Close (usually deferred).
func NewScope() *Scope {
	s := &Scope{parent: currentScope}
	currentScope = s
	return s
}

// Close frees every tensor still owned by the scope. Scopes must close innermost first.
func (s *Scope) Close() {
	if s.closed {
		return
	}
	if currentScope != s {
		panic(&Error{Op: "Scope.Close", Kind: ErrValue, Msg: "scopes must be closed innermost first"})
	}
	hs := make([]C.tg_tensor, 0, len(s.tensors))
	for _, t := range s.tensors {
		if t != nil && t.h != nil {
			hs = append(hs, t.h)
			t.h = nil
			t.scope = nil
		}
	}
	if len(hs) > 0 {
		C.tg_free_n(&hs[0], C.int(len(hs)))
	}
	s.tensors = nil
	s.closed = true
	currentScope = s.parent
}

// WithScope runs f inside a fresh scope.
func WithScope(f func()) {
	s := NewScope()
	defer s.Close()
	f()
}

// Scoped runs f inside a fresh scope and moves its result out (the other tensors f made are freed).
func Scoped(f func() *Tensor) *Tensor {
	s := NewScope()
	defer s.Close()
	return f().Keep()
}

// adopt registers a fresh handle with the innermost scope, or with the garbage collector outside any scope.
func adopt(h C.tg_tensor) *Tensor {
	if h == nil {
		return nil
	}
	t := &Tensor{h: h}
	if currentScope != nil {
		t.scope = currentScope
		t.idx = len(currentScope.tensors)
		currentScope.tensors = append(currentScope.tensors, t)
	} else {
		t.track()
	}
	return t
}

// track attaches the garbage-collector safety net; freeing a handle is thread-safe in libtorch.
func (t *Tensor) track() {
	t.cleanup = runtime.AddCleanup(t, func(h C.tg_tensor) { C.tg_free(h) }, t.h)
	t.tracked = true
}

// Keep moves t out of its scope into the enclosing one (or out of all scopes) and returns t.
func (t *Tensor) Keep() *Tensor {
	if t == nil || t.scope == nil {
		return t
	}
	s := t.scope
	s.tensors[t.idx] = nil
	if p := s.parent; p != nil {
		t.scope = p
		t.idx = len(p.tensors)
		p.tensors = append(p.tensors, t)
	} else {
		t.scope = nil
		t.track()
	}
	return t
}

// persist takes t out of every scope, for a tensor that lives as long as the process.
func (t *Tensor) persist() *Tensor {
	for t.scope != nil {
		t.Keep()
	}
	return t
}

// Free releases t now. Using t afterwards panics with ErrFreed.
func (t *Tensor) Free() {
	if t == nil || t.h == nil {
		return
	}
	if t.scope != nil {
		t.scope.tensors[t.idx] = nil
		t.scope = nil
	}
	if t.tracked {
		t.cleanup.Stop()
		t.tracked = false
	}
	C.tg_free(t.h)
	t.h = nil
}

// LiveTensors is the number of tensor handles alive in the shim; tests use it to catch leaks.
func LiveTensors() int64 { return int64(C.tg_live_tensors()) }
