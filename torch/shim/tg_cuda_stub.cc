// tg_cuda_stub.cc — the CPU libtorch build of the CUDA-only extras: the same symbols, each "not implemented",
// so every shim exports one ABI.
#include "tg_internal.h"

extern "C" {
tg_error tg_cuda_memory(int, int64_t *, int64_t *, int64_t *) {
  return tg::make_error(TG_ERR_NOTIMPL, "CUDA memory statistics need a shim built against a CUDA libtorch");
}
tg_error tg_cuda_reset_peak(int) {
  return tg::make_error(TG_ERR_NOTIMPL, "CUDA memory statistics need a shim built against a CUDA libtorch");
}
tg_error tg_cuda_set_sync_debug(int) {
  return tg::make_error(TG_ERR_NOTIMPL, "the CUDA synchronisation check needs a shim built against a CUDA libtorch");
}
}
