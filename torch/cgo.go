// Package torch is semcom's Go API over libtorch: tensors, ops, autograd, memory scopes, errors, devices
// and autocast. It links only against libtgshim.so (the pure C ABI in tg.h, built by `make shim`), so one Go
// build runs on a CPU or a CUDA libtorch depending on which shim it loads.
//
// Rules of use:
//   - libtorch keeps grad mode, autocast and the CUDA stream per OS thread: make every torch call from one
//     goroutine that called LockThread (semcom's main does; tests call it first).
//   - Ops panic with *Error on a libtorch error (a shape mismatch is a programming error); Catch turns the
//     panic back into an error where recovery is wanted.
//   - Tensors made while a Scope is open are freed when it closes; Keep moves one out. Tensors made outside
//     any scope are freed by Free or, as a safety net, by the garbage collector.
package torch

// #cgo LDFLAGS: -ltgshim
// #include "tg.h"
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"unsafe"
)

func init() {
	if v := int(C.tg_abi_version()); v != C.TG_ABI_VERSION {
		panic(fmt.Sprintf("torch: libtgshim.so has ABI %d, this build expects %d: rebuild the shim (make shim)", v, C.TG_ABI_VERSION))
	}
	// Debian's libtorch defaults to one thread; use every core unless the user chose.
	if os.Getenv("OMP_NUM_THREADS") == "" {
		SetNumThreads(runtime.NumCPU())
	}
	// Applied by LockThread on the thread that does the work, so that init starts no OpenMP pool of its own.
	flushDenormal = os.Getenv("SEMCOM_KEEP_DENORMALS") == ""
	// Unless the user tunes malloc (or opts out): see KeepFreedCPUMemory.
	if os.Getenv("SEMCOM_DEFAULT_MALLOC") == "" && os.Getenv("GLIBC_TUNABLES") == "" &&
		os.Getenv("MALLOC_MMAP_THRESHOLD_") == "" && os.Getenv("MALLOC_TRIM_THRESHOLD_") == "" {
		KeepFreedCPUMemory()
	}
}

// check turns a shim error into a panic with *Error, freeing the C error.
func check(e C.tg_error, op string) {
	if e == nil {
		return
	}
	err := &Error{Op: op, Kind: ErrKind(C.tg_error_kind(e)), Msg: C.GoString(C.tg_error_msg(e))}
	C.tg_error_free(e)
	panic(err)
}

// checkErr is check for the few calls that return an error instead of panicking.
func checkErr(e C.tg_error, op string) error {
	if e == nil {
		return nil
	}
	err := &Error{Op: op, Kind: ErrKind(C.tg_error_kind(e)), Msg: C.GoString(C.tg_error_msg(e))}
	C.tg_error_free(e)
	return err
}

// i64p passes a Go []int64 (no Go pointers inside, so cgo allows it) as a C array.
func i64p(s []int64) *C.int64_t {
	if len(s) == 0 {
		return nil
	}
	return (*C.int64_t)(unsafe.Pointer(&s[0]))
}

func ints64(s []int) []int64 {
	r := make([]int64, len(s))
	for i, v := range s {
		r[i] = int64(v)
	}
	return r
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// handles gathers the C handles of ts (panicking on a freed one) for list-taking calls.
func handles(ts []*Tensor, op string) []C.tg_tensor {
	hs := make([]C.tg_tensor, len(ts))
	for i, t := range ts {
		hs[i] = t.handle(op)
	}
	return hs
}

func hp(hs []C.tg_tensor) *C.tg_tensor {
	if len(hs) == 0 {
		return nil
	}
	return &hs[0]
}

// keepAll keeps every tensor of ts reachable until the C call that uses their handles has returned.
func keepAll(ts []*Tensor) { runtime.KeepAlive(ts) }
