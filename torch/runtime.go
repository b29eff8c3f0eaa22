package torch

// #include <limits.h>
// #include <malloc.h>
// #include "tg.h"
import "C"

import (
	"runtime"
	"sync"
)

// LockThread pins the calling goroutine to its OS thread, as libtorch's thread-local state needs, and
// returns the unlock function: `defer torch.LockThread()()`.
func LockThread() (unlock func()) {
	runtime.LockOSThread()
	if flushDenormal {
		C.tg_set_flush_denormal(1) // per-thread CPU state: apply it to this thread and its pool
	}
	return runtime.UnlockOSThread
}

var flushDenormal bool

// Run calls f on the torch thread, one OS thread locked for the life of the process, and returns when f
// does; a panic in f is raised again in the caller. CPU libtorch keeps an OpenMP worker pool per OS thread
// that calls it: work spread over several threads — as the goroutines that Go's testing package starts for
// each test and benchmark run are — builds several pools, whose idle workers then compete with the busy
// ones for the cores. A program whose torch work all runs in one goroutine behind LockThread (semcom's
// main) does not need Run. f must not end its goroutine (t.FailNow, runtime.Goexit): report failures after
// Run returns.
func Run(f func()) {
	torchThreadOnce.Do(func() {
		torchThread = make(chan func())
		go func() {
			LockThread()
			for g := range torchThread {
				g()
			}
		}()
	})
	var panicked any
	done := make(chan struct{})
	torchThread <- func() {
		defer close(done)
		defer func() { panicked = recover() }()
		f()
	}
	<-done
	if panicked != nil {
		panic(panicked)
	}
}

var (
	torchThreadOnce sync.Once
	torchThread     chan func()
)

// SetFlushDenormal makes CPU kernels treat denormal floats as zero (on the calling thread and its
// intra-op pool, and on every thread LockThread pins later). Denormals appear when activations or weights
// shrink during training and can slow CPU kernels tenfold; the numerical effect is below float32 resolution
// of any value that matters. It reports whether the CPU supports it.
func SetFlushDenormal(on bool) bool {
	flushDenormal = on
	return C.tg_set_flush_denormal(cbool(on)) != 0
}

// KeepFreedCPUMemory tells glibc's malloc to keep freed memory in the process for reuse: blocks up to
// 32 MiB come from the heap rather than from fresh mmaps, and the heap is not trimmed back to the system.
// libtorch's CPU allocator is plain malloc, and a training step frees and reallocates the same activation
// buffers every step; with glibc's defaults each of them costs fresh zeroed pages, which showed as 3× the
// page faults of PyTorch and 10–20% of a CPU step's time. It reports whether glibc accepted both settings.
func KeepFreedCPUMemory() bool {
	mmap := C.mallopt(C.M_MMAP_THRESHOLD, 32<<20)
	trim := C.mallopt(C.M_TRIM_THRESHOLD, C.INT_MAX)
	return mmap == 1 && trim == 1
}

// TorchVersion is the libtorch version the loaded shim was built against.
func TorchVersion() string { return C.GoString(C.tg_torch_version()) }

// SetNumThreads sets libtorch's intra-op thread count.
func SetNumThreads(n int) { C.tg_set_num_threads(C.int(n)) }

// NumThreads returns libtorch's intra-op thread count.
func NumThreads() int { return int(C.tg_get_num_threads()) }

// CUDAAvailable reports whether a CUDA device is usable.
func CUDAAvailable() bool { return C.tg_cuda_available() != 0 }

// CUDADeviceCount is the number of CUDA devices.
func CUDADeviceCount() int { return int(C.tg_cuda_device_count()) }

// HasCUDALib reports whether libtorch's CUDA library is loaded (false for a CPU shim, or a CUDA shim linked
// without --no-as-needed).
func HasCUDALib() bool { return C.tg_has_cuda_lib() != 0 }

// SetCudnnBenchmark switches cuDNN autotuning (fast for fixed shapes, not bitwise reproducible).
func SetCudnnBenchmark(on bool) { C.tg_set_cudnn_benchmark(cbool(on)) }

// CudnnBenchmark reports whether cuDNN autotuning is on.
func CudnnBenchmark() bool { return C.tg_cudnn_benchmark() != 0 }

// SetDeterministic asks cuDNN for deterministic algorithms.
func SetDeterministic(on bool) { C.tg_set_deterministic(cbool(on)) }

// Synchronize waits for all work on a CUDA device (a no-op on CPU).
func Synchronize(dev Device) {
	if dev.IsCUDA() {
		check(C.tg_cuda_synchronize(C.int(dev)), "Synchronize")
	}
}

// MemoryStats are the CUDA caching allocator's byte counts.
type MemoryStats struct{ Allocated, Reserved, PeakAllocated int64 }

// CUDAMemory reads the allocator statistics of a CUDA device (an error on a CPU shim).
func CUDAMemory(dev Device) (MemoryStats, error) {
	var a, r, p C.int64_t
	if err := checkErr(C.tg_cuda_memory(C.int(dev), &a, &r, &p), "CUDAMemory"); err != nil {
		return MemoryStats{}, err
	}
	return MemoryStats{int64(a), int64(r), int64(p)}, nil
}

// CheckCUDASyncs makes every operation that synchronises the host with a CUDA device — a blocking copy, reading
// a value, a data-dependent shape — fail with *Error while on (process-wide, libtorch's sync debug mode). A
// training step that runs with it on never waits for the GPU, so the host can queue work ahead. An error on a
// shim built without CUDA.
func CheckCUDASyncs(on bool) error {
	mode := 0
	if on {
		mode = 2
	}
	return checkErr(C.tg_cuda_set_sync_debug(C.int(mode)), "CheckCUDASyncs")
}

// ResetPeakMemory restarts the peak statistic of a CUDA device.
func ResetPeakMemory(dev Device) error {
	return checkErr(C.tg_cuda_reset_peak(C.int(dev)), "ResetPeakMemory")
}
