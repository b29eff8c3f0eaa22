// tg_core.cc — handles, errors, creation, host transfer, random generators, autograd, modes, runtime.
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>

#include "tg_internal.h"

namespace tg {

std::atomic<int64_t> live{0};

tg_error make_error(int kind, const char *msg) { return new tg_error_s{kind, msg ? msg : ""}; }

at::ScalarType dtype(int d) {
  switch (d) {
    case TG_U8: return at::kByte;
    case TG_I32: return at::kInt;
    case TG_I64: return at::kLong;
    case TG_F16: return at::kHalf;
    case TG_BF16: return at::kBFloat16;
    case TG_F32: return at::kFloat;
    case TG_F64: return at::kDouble;
    case TG_BOOL: return at::kBool;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(d));
}

int dtype_code(at::ScalarType s) {
  switch (s) {
    case at::kByte: return TG_U8;
    case at::kInt: return TG_I32;
    case at::kLong: return TG_I64;
    case at::kHalf: return TG_F16;
    case at::kBFloat16: return TG_BF16;
    case at::kFloat: return TG_F32;
    case at::kDouble: return TG_F64;
    case at::kBool: return TG_BOOL;
    default: return -1;
  }
}

at::Device device(int d) {
  if (d < 0) return at::Device(at::kCPU);
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(d));
}

std::vector<at::Tensor> list(const tg_tensor *ts, int n) {
  std::vector<at::Tensor> v;
  v.reserve(n);
  for (int i = 0; i < n; i++) v.push_back(T(ts[i]));
  return v;
}

}  // namespace tg

using namespace tg;

extern "C" {

int tg_abi_version(void) { return TG_ABI_VERSION; }
const char *tg_torch_version(void) { return TORCH_VERSION; }

int tg_error_kind(tg_error e) { return e ? e->kind : 0; }
const char *tg_error_msg(tg_error e) { return e ? e->msg.c_str() : ""; }
void tg_error_free(tg_error e) { delete e; }

void tg_free(tg_tensor t) {
  if (!t) return;
  delete reinterpret_cast<at::Tensor *>(t);
  live.fetch_sub(1, std::memory_order_relaxed);
}
void tg_free_n(const tg_tensor *ts, int n) {
  for (int i = 0; i < n; i++) tg_free(ts[i]);
}
int64_t tg_live_tensors(void) { return live.load(); }

tg_error tg_meta_of(tg_tensor h, tg_meta *out) {
  GUARD({
    const at::Tensor &t = T(h);
    if (t.dim() > TG_MAX_DIMS) throw std::invalid_argument("tensor has more than 8 dims");
    out->ndim = static_cast<int32_t>(t.dim());
    out->dtype = dtype_code(t.scalar_type());
    out->device = t.is_cuda() ? t.device().index() : -1;
    out->requires_grad = t.requires_grad();
    out->is_leaf = t.is_leaf();
    out->channels_last = t.dim() == 4 && !t.is_contiguous() && t.is_contiguous(at::MemoryFormat::ChannelsLast);
    for (int i = 0; i < t.dim(); i++) out->shape[i] = t.size(i);
  });
}

tg_error tg_from_host(const void *src, int dt, const int64_t *shape, int nd, int dev, tg_tensor *out) {
  GUARD({
    auto opts = at::TensorOptions().dtype(dtype(dt));
    at::Tensor t = at::empty(ints(shape, nd), opts);
    if (t.nbytes() > 0) std::memcpy(t.data_ptr(), src, t.nbytes());
    if (dev >= 0) t = t.to(device(dev));
    *out = wrap(t);
  });
}

tg_error tg_to_host(tg_tensor h, void *dst, size_t nbytes) {
  GUARD({
    at::Tensor t = T(h).detach().to(at::kCPU).contiguous();
    if (t.nbytes() != nbytes)
      throw std::invalid_argument("to_host: tensor has " + std::to_string(t.nbytes()) + " bytes, buffer " +
                                  std::to_string(nbytes));
    if (nbytes > 0) std::memcpy(dst, t.data_ptr(), nbytes);
  });
}

tg_error tg_full(const int64_t *shape, int nd, double value, int dt, int dev, tg_tensor *out) {
  OUT1(at::full(ints(shape, nd), value, at::TensorOptions().dtype(dtype(dt)).device(device(dev))));
}
tg_error tg_arange(double start, double end, double step, int dt, int dev, tg_tensor *out) {
  OUT1(at::arange(start, end, step, at::TensorOptions().dtype(dtype(dt)).device(device(dev))));
}
tg_error tg_eye(int64_t n, int dt, int dev, tg_tensor *out) {
  OUT1(at::eye(n, at::TensorOptions().dtype(dtype(dt)).device(device(dev))));
}
tg_error tg_item(tg_tensor t, double *out) { GUARD(*out = T(t).item<double>()); }

tg_error tg_generator_new(int dev, uint64_t seed, tg_generator *out) {
  GUARD({
    // A clone of the device's default generator is a fresh, independent generator of the right kind
    // (CPU or CUDA) without needing CUDA headers here.
    at::Generator g = at::globalContext().defaultGenerator(device(dev)).clone();
    {
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_current_seed(seed);
    }
    *out = reinterpret_cast<tg_generator>(new at::Generator(g));
  });
}
void tg_generator_free(tg_generator g) { delete gen(g); }
tg_error tg_generator_get_state(tg_generator g, tg_tensor *out) {
  GUARD({
    std::lock_guard<std::mutex> lock(gen(g)->mutex());
    *out = wrap(gen(g)->get_state());
  });
}
tg_error tg_generator_set_state(tg_generator g, tg_tensor state) {
  GUARD({
    std::lock_guard<std::mutex> lock(gen(g)->mutex());
    gen(g)->set_state(T(state));
  });
}
tg_error tg_manual_seed(uint64_t seed) {
  GUARD({
    {
      auto g = at::globalContext().defaultGenerator(at::kCPU);
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_current_seed(seed);
    }
    if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
  });
}

tg_error tg_rand(int kind, const int64_t *shape, int nd, double a, double b, tg_generator g, int dt, int dev,
                 tg_tensor *out) {
  GUARD({
    at::Tensor t = at::empty(ints(shape, nd), at::TensorOptions().dtype(dtype(dt)).device(device(dev)));
    if (kind == TG_RAND_NORMAL)
      t.normal_(a, b, optgen(g));
    else
      t.uniform_(a, b, optgen(g));
    *out = wrap(t);
  });
}
tg_error tg_rand_(int kind, tg_tensor t, double a, double b, tg_generator g) {
  GUARD({
    at::NoGradGuard ng;
    if (kind == TG_RAND_NORMAL)
      T(t).normal_(a, b, optgen(g));
    else
      T(t).uniform_(a, b, optgen(g));
  });
}
tg_error tg_randint(int64_t low, int64_t high, const int64_t *shape, int nd, tg_generator g, int dev,
                    tg_tensor *out) {
  OUT1(at::randint(low, high, ints(shape, nd), optgen(g), at::TensorOptions().dtype(at::kLong).device(device(dev))));
}
tg_error tg_randperm(int64_t n, tg_generator g, int dev, tg_tensor *out) {
  OUT1(at::randperm(n, optgen(g), at::TensorOptions().dtype(at::kLong).device(device(dev))));
}
tg_error tg_bernoulli(tg_tensor probs, tg_generator g, tg_tensor *out) { OUT1(at::bernoulli(T(probs), optgen(g))); }

// ---- autograd and modes ----
tg_error tg_requires_grad_(tg_tensor t, int on) { GUARD(T(t).requires_grad_(on != 0)); }
tg_error tg_backward(tg_tensor loss, tg_tensor grad) { GUARD(T(loss).backward(opt(grad))); }
tg_error tg_grad(tg_tensor t, tg_tensor *out) { OUT1(T(t).grad()); }
tg_error tg_set_grad(tg_tensor t, tg_tensor grad) { GUARD(T(t).mutable_grad() = opt(grad)); }
tg_error tg_detach(tg_tensor t, tg_tensor *out) { OUT1(T(t).detach()); }
int tg_set_grad_enabled(int on) {
  bool prev = at::GradMode::is_enabled();
  at::GradMode::set_enabled(on != 0);
  return prev;
}
int tg_grad_enabled(void) { return at::GradMode::is_enabled(); }

// Autocast state is thread-local. prev packs (enabled, dtype code) so exit restores both.
tg_error tg_autocast_enter(int device_type, int dt, int64_t *prev) {
  GUARD({
    at::ScalarType s = dtype(dt);
#if TG_AT_LEAST(2, 4)
    at::DeviceType d = device_type == 1 ? at::kCUDA : at::kCPU;
    bool was = at::autocast::is_autocast_enabled(d);
    at::ScalarType old = at::autocast::get_autocast_dtype(d);
    at::autocast::set_autocast_enabled(d, true);
    at::autocast::set_autocast_dtype(d, s);
#else
    bool was, cpu = device_type != 1;
    at::ScalarType old;
    if (cpu) {
      was = at::autocast::is_cpu_enabled();
      old = at::autocast::get_autocast_cpu_dtype();
      at::autocast::set_cpu_enabled(true);
      at::autocast::set_autocast_cpu_dtype(s);
    } else {
      was = at::autocast::is_enabled();
      old = at::autocast::get_autocast_gpu_dtype();
      at::autocast::set_enabled(true);
      at::autocast::set_autocast_gpu_dtype(s);
    }
#endif
    at::autocast::increment_nesting();
    *prev = (was ? 1 : 0) | (static_cast<int64_t>(static_cast<int>(old)) << 8);
  });
}
tg_error tg_autocast_exit(int device_type, int64_t prev) {
  GUARD({
    bool was = prev & 1;
    auto old = static_cast<at::ScalarType>(prev >> 8);
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TG_AT_LEAST(2, 4)
    at::DeviceType d = device_type == 1 ? at::kCUDA : at::kCPU;
    at::autocast::set_autocast_enabled(d, was);
    at::autocast::set_autocast_dtype(d, old);
#else
    if (device_type != 1) {
      at::autocast::set_cpu_enabled(was);
      at::autocast::set_autocast_cpu_dtype(old);
    } else {
      at::autocast::set_enabled(was);
      at::autocast::set_autocast_gpu_dtype(old);
    }
#endif
  });
}
int tg_autocast_enabled(int device_type) {
#if TG_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(device_type == 1 ? at::kCUDA : at::kCPU);
#else
  return device_type == 1 ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

// ---- runtime ----
static std::atomic<int> flush_denormal{0};

// The MXCSR flush-to-zero bits are per thread: set them on the caller and, through one parallel region with
// a chunk per thread, on every OpenMP worker of the caller's pool (which persist between regions).
static bool apply_flush_denormal(bool on) {
  bool ok = at::globalContext().setFlushDenormal(on);
  at::parallel_for(0, at::get_num_threads(), 1, [on](int64_t, int64_t) { at::globalContext().setFlushDenormal(on); });
  return ok;
}

int tg_set_flush_denormal(int on) {
  try {
    flush_denormal = on != 0;
    return apply_flush_denormal(on != 0);
  } catch (...) {
    return 0;
  }
}

void tg_set_num_threads(int n) {
  try {
    if (n > 0) at::set_num_threads(n);
    if (flush_denormal) apply_flush_denormal(true);
  } catch (...) {
  }
}
int tg_get_num_threads(void) { return at::get_num_threads(); }
int tg_cuda_available(void) {
  try {
    return torch::cuda::is_available();
  } catch (...) {
    return 0;
  }
}
int tg_cuda_device_count(void) {
  try {
    return static_cast<int>(torch::cuda::device_count());
  } catch (...) {
    return 0;
  }
}
int tg_has_cuda_lib(void) { return at::hasCUDA(); }
void tg_set_cudnn_benchmark(int on) { at::globalContext().setBenchmarkCuDNN(on != 0); }
int tg_cudnn_benchmark(void) { return at::globalContext().benchmarkCuDNN(); }
void tg_set_deterministic(int on) { at::globalContext().setDeterministicCuDNN(on != 0); }
tg_error tg_cuda_synchronize(int dev) { GUARD(torch::cuda::synchronize(dev)); }

}  // extern "C"
