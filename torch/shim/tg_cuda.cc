// tg_cuda.cc — CUDA libtorch only: caching-allocator statistics (needs the CUDA runtime headers, which the
// Makefile finds in the CUDA toolkit or the pip wheel's nvidia/ packages).
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>

#include "tg_internal.h"

extern "C" {
tg_error tg_cuda_memory(int device, int64_t *allocated, int64_t *reserved, int64_t *peak) {
  GUARD({
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
    const size_t agg = 0;  // StatType::AGGREGATE, whose namespace moved between libtorch versions
    *allocated = stats.allocated_bytes[agg].current;
    *reserved = stats.reserved_bytes[agg].current;
    *peak = stats.allocated_bytes[agg].peak;
  });
}
tg_error tg_cuda_reset_peak(int device) { GUARD(c10::cuda::CUDACachingAllocator::resetPeakStats(device)); }
// The same switch as torch.cuda.set_sync_debug_mode: libtorch checks it wherever it would block the host.
tg_error tg_cuda_set_sync_debug(int mode) {
  GUARD({
    if (mode < 0 || mode > 2) throw std::invalid_argument("CUDA sync debug mode: want 0 (off), 1 (warn) or 2 (error)");
    c10::cuda::warning_state().set_sync_debug_mode(static_cast<c10::cuda::SyncDebugMode>(mode));
  });
}
}
