// tg_dist.cc — c10d process groups and collectives (built where the Gloo headers exist, with
// -DUSE_DISTRIBUTED -DUSE_C10D_GLOO, and NCCL too with -DUSE_C10D_NCCL against a CUDA libtorch;
// tg_dist_stub.cc otherwise). Rank 0 serves the TCPStore.
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>

#include "tg_internal.h"

struct tg_dist_s {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#ifdef USE_C10D_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  int size = 1;
  std::chrono::milliseconds timeout;
};

namespace {
// with calls f on the group's backend (the same collective signatures on both).
template <typename F>
auto with(tg_dist d, F f) {
#ifdef USE_C10D_NCCL
  if (d->nccl) return f(*d->nccl);
#endif
  return f(*d->gloo);
}

void wait(const c10::intrusive_ptr<c10d::Work> &w, std::chrono::milliseconds timeout) {
  if (!w->wait(timeout)) throw std::runtime_error("collective timed out");
}

void all_reduce_sum(tg_dist d, at::Tensor &t) {
  std::vector<at::Tensor> v{t};
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::SUM;
  o.timeout = d->timeout;
  wait(with(d, [&](auto &pg) { return pg.allreduce(v, o); }), d->timeout);
}

// The sum over ranks as an autograd function: y = Σ_r x_r, so ∂L/∂x_r = Σ_s ∂L_s/∂y — the backward is an
// all-reduce of the incoming gradient. Every rank must run the same backward (the same graph), as DDP does.
struct AllReduceSumFn : public torch::autograd::Function<AllReduceSumFn> {
  static at::Tensor forward(torch::autograd::AutogradContext *ctx, const at::Tensor &x, int64_t handle) {
    ctx->saved_data["d"] = handle;
    at::Tensor y = x.detach().clone(at::MemoryFormat::Contiguous);
    all_reduce_sum(reinterpret_cast<tg_dist>(handle), y);
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx, torch::autograd::variable_list grads) {
    auto d = reinterpret_cast<tg_dist>(ctx->saved_data["d"].toInt());
    at::Tensor g = grads[0].detach().clone(at::MemoryFormat::Contiguous);
    all_reduce_sum(d, g);
    return {g, at::Tensor()};
  }
};
}  // namespace

extern "C" {
int tg_dist_backends(void) {
#ifdef USE_C10D_NCCL
  return TG_DIST_GLOO | TG_DIST_NCCL;
#else
  return TG_DIST_GLOO;
#endif
}

tg_error tg_dist_init(const char *host, int port, int rank, int world, int64_t timeout_ms, int backend, tg_dist *out) {
  GUARD({
#ifndef USE_C10D_NCCL
    if (backend != TG_DIST_GLOO) throw std::invalid_argument("this shim has the Gloo backend only");
#endif
    if (world < 1 || rank < 0 || rank >= world) throw std::invalid_argument("rank must be in [0, world size)");
    auto timeout = std::chrono::milliseconds(timeout_ms);
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(port);
    so.isServer = rank == 0;
    so.numWorkers = world;
    so.waitWorkers = true;
    so.timeout = timeout;
    auto d = std::make_unique<tg_dist_s>();
    d->timeout = timeout;
    d->store = c10::make_intrusive<c10d::TCPStore>(std::string(host), so);
    d->size = world;
#ifdef USE_C10D_NCCL
    if (backend == TG_DIST_NCCL) {
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout;
      d->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(d->store, rank, world, opts);
      *out = d.release();
      return nullptr;
    }
#endif
    auto opts = c10d::ProcessGroupGloo::Options::create();
    opts->timeout = timeout;
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(std::string(host)));
    d->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(d->store, rank, world, opts);
    *out = d.release();
  });
}

void tg_dist_free(tg_dist d) { delete d; }

tg_error tg_dist_all_reduce_sum(tg_dist d, tg_tensor t) { GUARD(all_reduce_sum(d, tg::T(t))); }

tg_error tg_dist_all_reduce_sum_grad(tg_dist d, tg_tensor t, tg_tensor *out) {
  GUARD(*out = tg::wrap(AllReduceSumFn::apply(tg::T(t), reinterpret_cast<int64_t>(d))));
}

tg_error tg_dist_all_gather(tg_dist d, tg_tensor t, tg_tensor *out) {
  GUARD({
    at::Tensor in = tg::T(t).contiguous();
    std::vector<at::Tensor> inputs{in};
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int i = 0; i < d->size; i++) outputs[0].push_back(at::empty_like(in));
    c10d::AllgatherOptions o;
    o.timeout = d->timeout;
    wait(with(d, [&](auto &pg) { return pg.allgather(outputs, inputs, o); }), d->timeout);
    *out = tg::wrap(at::cat(outputs[0], 0));
  });
}

tg_error tg_dist_broadcast(tg_dist d, tg_tensor t, int root) {
  GUARD({
    std::vector<at::Tensor> v{tg::T(t)};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    o.timeout = d->timeout;
    wait(with(d, [&](auto &pg) { return pg.broadcast(v, o); }), d->timeout);
  });
}

tg_error tg_dist_barrier(tg_dist d) {
  GUARD({
    c10d::BarrierOptions o;
    o.timeout = d->timeout;
    wait(with(d, [&](auto &pg) { return pg.barrier(o); }), d->timeout);
  });
}
}
