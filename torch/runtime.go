package torch

// #include "tg.h"
import "C"

import "runtime"

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

// SetFlushDenormal makes CPU kernels treat denormal floats as zero (on the calling thread and its
// intra-op pool, and on every thread LockThread pins later). Denormals appear when activations or weights
// shrink during training and can slow CPU kernels tenfold; the numerical effect is below float32 resolution
// of any value that matters. It reports whether the CPU supports it.
func SetFlushDenormal(on bool) bool {
	flushDenormal = on
	return C.tg_set_flush_denormal(cbool(on)) != 0
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

// ResetPeakMemory restarts the peak statistic of a CUDA device.
func ResetPeakMemory(dev Device) error {
	return checkErr(C.tg_cuda_reset_peak(C.int(dev)), "ResetPeakMemory")
}
