// tg_internal.h — private to the shim: torch includes, the GUARD macro and the handle/enum conversions.
// Only the shim includes this; Go sees tg.h alone.
#pragma once
#ifndef TG_BUILD_CONFIGURED
#error "build the shim with the Makefile (make shim), which sets TG_BUILD_CONFIGURED and the libtorch flags"
#endif

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>  // at::NoGradGuard: not reached through ATen.h from 2.x on
#include <torch/version.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "../tg.h"

#define TG_AT_LEAST(M, m) (TORCH_VERSION_MAJOR > (M) || (TORCH_VERSION_MAJOR == (M) && TORCH_VERSION_MINOR >= (m)))

struct tg_error_s {
  int kind;
  std::string msg;
};

namespace tg {

extern std::atomic<int64_t> live;

tg_error make_error(int kind, const char *msg);

// The one place handles are minted: counts them for leak tests.
inline tg_tensor wrap(const at::Tensor &t) {
  if (!t.defined()) return nullptr;
  live.fetch_add(1, std::memory_order_relaxed);
  return reinterpret_cast<tg_tensor>(new at::Tensor(t));
}
inline at::Tensor &T(tg_tensor h) {
  if (h == nullptr) throw std::invalid_argument("undefined (NULL) tensor handle");
  return *reinterpret_cast<at::Tensor *>(h);
}
// An optional tensor: NULL maps to an undefined tensor.
inline at::Tensor opt(tg_tensor h) { return h ? *reinterpret_cast<at::Tensor *>(h) : at::Tensor(); }

at::ScalarType dtype(int d);
int dtype_code(at::ScalarType s);
at::Device device(int d);
inline at::IntArrayRef ints(const int64_t *p, int n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }
std::vector<at::Tensor> list(const tg_tensor *ts, int n);
inline at::Generator *gen(tg_generator g) { return reinterpret_cast<at::Generator *>(g); }
inline c10::optional<at::Generator> optgen(tg_generator g) {
  if (!g) return c10::nullopt;
  return *gen(g);
}

}  // namespace tg

// GUARD turns every C++ exception into a tg_error; OOM is caught before c10::Error, its base class.
#define GUARD(...)                                                                       \
  try {                                                                                  \
    __VA_ARGS__;                                                                           \
    return nullptr;                                                                      \
  } catch (const c10::OutOfMemoryError &e) {                                             \
    return tg::make_error(TG_ERR_OOM, e.what_without_backtrace());                       \
  } catch (const c10::IndexError &e) {                                                   \
    return tg::make_error(TG_ERR_INDEX, e.what_without_backtrace());                     \
  } catch (const c10::NotImplementedError &e) {                                          \
    return tg::make_error(TG_ERR_NOTIMPL, e.what_without_backtrace());                   \
  } catch (const c10::TypeError &e) {                                                    \
    return tg::make_error(TG_ERR_VALUE, e.what_without_backtrace());                     \
  } catch (const c10::ValueError &e) {                                                   \
    return tg::make_error(TG_ERR_VALUE, e.what_without_backtrace());                     \
  } catch (const c10::Error &e) {                                                        \
    return tg::make_error(TG_ERR_OTHER, e.what_without_backtrace());                     \
  } catch (const std::bad_alloc &e) {                                                    \
    return tg::make_error(TG_ERR_OOM, e.what());                                         \
  } catch (const std::invalid_argument &e) {                                             \
    return tg::make_error(TG_ERR_VALUE, e.what());                                       \
  } catch (const std::out_of_range &e) {                                                 \
    return tg::make_error(TG_ERR_INDEX, e.what());                                       \
  } catch (const std::exception &e) {                                                    \
    return tg::make_error(TG_ERR_OTHER, e.what());                                       \
  } catch (...) {                                                                        \
    return tg::make_error(TG_ERR_OTHER, "unknown C++ exception");                        \
  }

// OUT1 writes one fresh handle.
#define OUT1(...) GUARD(*out = tg::wrap(__VA_ARGS__))
