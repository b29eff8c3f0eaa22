// tg_dist.cc — c10d process groups and collectives (built where the Gloo headers exist, with
// -DUSE_DISTRIBUTED -DUSE_C10D_GLOO, and NCCL too with -DUSE_C10D_NCCL against a CUDA libtorch;
// tg_dist_stub.cc otherwise). Rank 0 serves the TCPStore.
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <utility>

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

// The gradient all-reduce overlapped with the backward pass, as DDP's reducer does it: parameters are packed
// into buckets in reverse order (the order the backward produces their gradients); a post-hook on each
// parameter's gradient accumulator copies its gradient into its bucket, and the bucket whose last gradient
// arrived is all-reduced asynchronously while the backward goes on. Buckets are launched in index order, so
// every rank issues the same collectives in the same order. finish() launches what is left (parameters the
// backward did not reach count as zeros), waits, and writes the averages back.
struct tg_reducer_s {
  struct Slot {
    int bucket;
    int64_t offset, numel;
    bool ready = false;
  };
  struct Bucket {
    at::Tensor flat;
    int size = 0, pending = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };
  tg_dist d = nullptr;
  std::vector<at::Tensor> params;
  std::vector<Slot> slots;
  std::vector<Bucket> buckets;
  // The accumulators are held here: the parameter keeps only a weak reference, and a hook on an accumulator
  // that autograd recreates would never fire. (A shared_ptr up to 2.x, an intrusive_ptr in the newest.)
  using NodeRef = decltype(torch::autograd::impl::grad_accumulator(std::declval<const at::Tensor &>()));
  std::vector<std::pair<NodeRef, uintptr_t>> hooks;
  std::mutex mu;  // hooks run on autograd's threads (the device threads on CUDA)
  size_t next = 0;
  int64_t launched = 0, early = 0;
  std::string failure;

  void launch_ready(bool in_backward) {
    while (next < buckets.size() && buckets[next].pending == 0) {
      auto &b = buckets[next++];
      std::vector<at::Tensor> v{b.flat};
      c10d::AllreduceOptions o;
      o.reduceOp = c10d::ReduceOp::SUM;
      o.timeout = d->timeout;
      b.work = with(d, [&](auto &pg) { return pg.allreduce(v, o); });
      launched++;
      if (in_backward) early++;
    }
  }

  // fill copies parameter i's gradient (zeros where it has none) into its bucket.
  void fill(size_t i) {
    auto &s = slots[i];
    at::NoGradGuard no_grad;
    at::Tensor dst = buckets[s.bucket].flat.narrow(0, s.offset, s.numel);
    const at::Tensor &g = params[i].grad();
    if (g.defined()) {
      dst.copy_(g.reshape(-1));
    } else {
      dst.zero_();
    }
    s.ready = true;
    buckets[s.bucket].pending--;
  }

  void ready(size_t i) {
    std::lock_guard<std::mutex> lock(mu);
    if (slots[i].ready) {
      if (failure.empty()) failure = "parameter " + std::to_string(i) + "'s gradient arrived twice before the reduction (a backward pass without finish?)";
      return;
    }
    try {
      fill(i);
      launch_ready(true);
    } catch (const std::exception &e) {
      if (failure.empty()) failure = e.what();
    }
  }

  void finish() {
    std::lock_guard<std::mutex> lock(mu);
    std::string err = failure;
    try {
      if (err.empty()) {
        for (size_t i = 0; i < slots.size(); i++)
          if (!slots[i].ready) fill(i);
        launch_ready(false);
      }
      // Waited even after a failure: no collective may still write a bucket when the next backward fills it.
      for (auto &b : buckets)
        if (b.work) wait(b.work, d->timeout);
      if (err.empty()) {
        at::NoGradGuard no_grad;
        for (auto &b : buckets) b.flat.div_(d->size);
        for (size_t i = 0; i < slots.size(); i++) {
          at::Tensor &g = params[i].mutable_grad();
          if (g.defined()) g.copy_(buckets[slots[i].bucket].flat.narrow(0, slots[i].offset, slots[i].numel).view(g.sizes()));
        }
      }
    } catch (const std::exception &e) {
      err = e.what();
    }
    // Ready for the next step whatever happened: the next backward starts from empty buckets.
    for (auto &s : slots) s.ready = false;
    for (auto &b : buckets) {
      b.pending = b.size;
      b.work.reset();
    }
    next = 0;
    failure.clear();
    if (!err.empty()) throw std::runtime_error(err);
  }

  ~tg_reducer_s() {
    for (auto &h : hooks) h.first->del_post_hook(h.second);
  }
};

namespace {
struct GradReadyHook : public torch::autograd::FunctionPostHook {
  tg_reducer r;
  size_t index;
  GradReadyHook(tg_reducer r, size_t index) : r(r), index(index) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list &outputs,
                                            const torch::autograd::variable_list & /*inputs*/) override {
    r->ready(index);
    return outputs;
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
#if TG_AT_LEAST(2, 4)
    // From 2.4 the store asks for its libuv backend by default, which a libtorch built without libuv
    // (Debian's) refuses: use the classic backend there.
    try {
      d->store = c10::make_intrusive<c10d::TCPStore>(std::string(host), so);
    } catch (const std::exception &e) {
      if (!so.useLibUV || std::string(e.what()).find("libuv") == std::string::npos) throw;
      so.useLibUV = false;
      d->store = c10::make_intrusive<c10d::TCPStore>(std::string(host), so);
    }
#else
    d->store = c10::make_intrusive<c10d::TCPStore>(std::string(host), so);
#endif
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

tg_error tg_dist_reducer_new(tg_dist d, const tg_tensor *params, int n, int64_t bucket_bytes, tg_reducer *out) {
  GUARD({
    auto r = std::make_unique<tg_reducer_s>();
    r->d = d;
    r->params = tg::list(params, n);
    r->slots.resize(r->params.size());
    // Reverse order, a new bucket when the current one is full or the dtype/device changes.
    std::vector<int64_t> numel;  // per bucket
    std::vector<int> first;      // per bucket: its first parameter, whose options it takes
    for (int i = n - 1; i >= 0; i--) {
      const at::Tensor &p = r->params[i];
      if (!p.requires_grad()) throw std::invalid_argument("parameter " + std::to_string(i) + " does not require a gradient");
      bool fresh = numel.empty() ||
                   (numel.back() + p.numel()) * static_cast<int64_t>(p.element_size()) > bucket_bytes ||
                   r->params[first.back()].scalar_type() != p.scalar_type() || r->params[first.back()].device() != p.device();
      if (fresh) {
        numel.push_back(0);
        first.push_back(i);
        r->buckets.emplace_back();
      }
      r->slots[i] = {static_cast<int>(numel.size() - 1), numel.back(), p.numel()};
      numel.back() += p.numel();
      r->buckets.back().size++;
    }
    for (size_t k = 0; k < r->buckets.size(); k++) {
      auto &b = r->buckets[k];
      b.flat = at::empty({numel[k]}, r->params[first[k]].options().requires_grad(false));
      b.pending = b.size;
    }
    for (int i = 0; i < n; i++) {
      auto acc = torch::autograd::impl::grad_accumulator(r->params[i]);
      if (!acc) throw std::invalid_argument("parameter " + std::to_string(i) + " is not a leaf");
      uintptr_t key = acc->add_post_hook(std::make_unique<GradReadyHook>(r.get(), static_cast<size_t>(i)));
      r->hooks.emplace_back(std::move(acc), key);
    }
    *out = r.release();
  });
}

tg_error tg_dist_reducer_finish(tg_reducer r) { GUARD(r->finish()); }

void tg_dist_reducer_stats(tg_reducer r, int *buckets, int64_t *launched, int64_t *early) {
  std::lock_guard<std::mutex> lock(r->mu);
  *buckets = static_cast<int>(r->buckets.size());
  *launched = r->launched;
  *early = r->early;
}

void tg_dist_reducer_free(tg_reducer r) { delete r; }

tg_error tg_dist_barrier(tg_dist d) {
  GUARD({
    c10d::BarrierOptions o;
    o.timeout = d->timeout;
    wait(with(d, [&](auto &pg) { return pg.barrier(o); }), d->timeout);
  });
}
}
