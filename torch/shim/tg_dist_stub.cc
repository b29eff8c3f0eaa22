// tg_dist_stub.cc — a shim built without a c10d backend (no Gloo headers): the same symbols, each "not
// implemented", so every shim exports one ABI.
#include "tg_internal.h"

namespace {
tg_error none() {
  return tg::make_error(TG_ERR_NOTIMPL, "this shim was built without a distributed backend (install libgloo-dev and rebuild: make shim)");
}
}  // namespace

extern "C" {
int tg_dist_backends(void) { return 0; }
tg_error tg_dist_init(const char *, int, int, int, int64_t, int, tg_dist *) { return none(); }
void tg_dist_free(tg_dist) {}
tg_error tg_dist_all_reduce_sum(tg_dist, tg_tensor) { return none(); }
tg_error tg_dist_all_reduce_sum_grad(tg_dist, tg_tensor, tg_tensor *) { return none(); }
tg_error tg_dist_all_gather(tg_dist, tg_tensor, tg_tensor *) { return none(); }
tg_error tg_dist_broadcast(tg_dist, tg_tensor, int) { return none(); }
tg_error tg_dist_barrier(tg_dist) { return none(); }
tg_error tg_dist_reducer_new(tg_dist, const tg_tensor *, int, int64_t, tg_reducer *) { return none(); }
tg_error tg_dist_reducer_finish(tg_reducer) { return none(); }
void tg_dist_reducer_stats(tg_reducer, int *buckets, int64_t *launched, int64_t *early) { *buckets = 0, *launched = 0, *early = 0; }
void tg_dist_reducer_free(tg_reducer) {}
}
