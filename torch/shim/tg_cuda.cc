// tg_cuda.cc — CUDA libtorch only: caching-allocator statistics (needs the CUDA runtime headers, which the
// Makefile finds in the CUDA toolkit or the pip wheel's nvidia/ packages).
#include <c10/cuda/CUDACachingAllocator.h>

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
}
