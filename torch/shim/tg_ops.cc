// tg_ops.cc — pointwise, reduction, shape and neural-network ops. Each body is one libtorch call.
#include <cmath>

#include "tg_internal.h"

using namespace tg;

namespace {

at::Tensor unary(int op, const at::Tensor &a) {
  switch (op) {
    case TG_U_NEG: return a.neg();
    case TG_U_EXP: return a.exp();
    case TG_U_LOG: return a.log();
    case TG_U_SQRT: return a.sqrt();
    case TG_U_RSQRT: return a.rsqrt();
    case TG_U_ABS: return a.abs();
    case TG_U_RELU: return a.relu();
    case TG_U_SIGMOID: return a.sigmoid();
    case TG_U_TANH: return a.tanh();
    case TG_U_SQUARE: return a.square();
    case TG_U_SIN: return a.sin();
    case TG_U_COS: return a.cos();
    case TG_U_SIGN: return a.sign();
    case TG_U_FLOOR: return a.floor();
    case TG_U_ROUND: return a.round();
    case TG_U_RECIPROCAL: return a.reciprocal();
    case TG_U_LOGICAL_NOT: return a.logical_not();
    case TG_U_ISFINITE: return a.isfinite();
    case TG_U_LOG1P: return a.log1p();
  }
  throw std::invalid_argument("unknown unary op " + std::to_string(op));
}

void unary_(int op, at::Tensor &a) {
  switch (op) {
    case TG_U_NEG: a.neg_(); return;
    case TG_U_EXP: a.exp_(); return;
    case TG_U_LOG: a.log_(); return;
    case TG_U_SQRT: a.sqrt_(); return;
    case TG_U_RSQRT: a.rsqrt_(); return;
    case TG_U_ABS: a.abs_(); return;
    case TG_U_RELU: a.relu_(); return;
    case TG_U_SIGMOID: a.sigmoid_(); return;
    case TG_U_TANH: a.tanh_(); return;
    case TG_U_SQUARE: a.square_(); return;
    case TG_U_SIN: a.sin_(); return;
    case TG_U_COS: a.cos_(); return;
    case TG_U_SIGN: a.sign_(); return;
    case TG_U_FLOOR: a.floor_(); return;
    case TG_U_ROUND: a.round_(); return;
    case TG_U_RECIPROCAL: a.reciprocal_(); return;
    case TG_U_LOG1P: a.log1p_(); return;
  }
  throw std::invalid_argument("unary op " + std::to_string(op) + " has no in-place form");
}

at::Tensor binary(int op, const at::Tensor &a, const at::Tensor &b, double alpha) {
  switch (op) {
    case TG_B_ADD: return at::add(a, b, alpha);
    case TG_B_SUB: return at::sub(a, b, alpha);
    case TG_B_MUL: return at::mul(a, b);
    case TG_B_DIV: return at::div(a, b);
    case TG_B_POW: return at::pow(a, b);
    case TG_B_MAXIMUM: return at::maximum(a, b);
    case TG_B_MINIMUM: return at::minimum(a, b);
    case TG_B_EQ: return at::eq(a, b);
    case TG_B_NE: return at::ne(a, b);
    case TG_B_LT: return at::lt(a, b);
    case TG_B_LE: return at::le(a, b);
    case TG_B_GT: return at::gt(a, b);
    case TG_B_GE: return at::ge(a, b);
    case TG_B_LOGICAL_AND: return at::logical_and(a, b);
    case TG_B_LOGICAL_OR: return at::logical_or(a, b);
    case TG_B_ATAN2: return at::atan2(a, b);
    case TG_B_REMAINDER: return at::remainder(a, b);
  }
  throw std::invalid_argument("unknown binary op " + std::to_string(op));
}

void binary_(int op, at::Tensor &a, const at::Tensor &b, double alpha) {
  switch (op) {
    case TG_B_ADD: a.add_(b, alpha); return;
    case TG_B_SUB: a.sub_(b, alpha); return;
    case TG_B_MUL: a.mul_(b); return;
    case TG_B_DIV: a.div_(b); return;
    case TG_B_POW: a.pow_(b); return;
  }
  throw std::invalid_argument("binary op " + std::to_string(op) + " has no in-place form");
}

at::Tensor binary_scalar(int op, const at::Tensor &a, const at::Scalar &s, bool swap) {
  switch (op) {
    case TG_B_ADD: return at::add(a, s);
    case TG_B_SUB: return swap ? at::rsub(a, s) : at::sub(a, s);
    case TG_B_MUL: return at::mul(a, s);
    case TG_B_DIV: return swap ? at::mul(a.reciprocal(), s) : at::div(a, s);
    case TG_B_POW: return swap ? at::pow(s, a) : at::pow(a, s);
    case TG_B_MAXIMUM: return at::clamp_min(a, s);
    case TG_B_MINIMUM: return at::clamp_max(a, s);
    case TG_B_EQ: return at::eq(a, s);
    case TG_B_NE: return at::ne(a, s);
    case TG_B_LT: return at::lt(a, s);
    case TG_B_LE: return at::le(a, s);
    case TG_B_GT: return at::gt(a, s);
    case TG_B_GE: return at::ge(a, s);
    case TG_B_REMAINDER: return at::remainder(a, s);
  }
  throw std::invalid_argument("binary op " + std::to_string(op) + " has no scalar form");
}

void binary_scalar_(int op, at::Tensor &a, const at::Scalar &s) {
  switch (op) {
    case TG_B_ADD: a.add_(s); return;
    case TG_B_SUB: a.sub_(s); return;
    case TG_B_MUL: a.mul_(s); return;
    case TG_B_DIV: a.div_(s); return;
    case TG_B_POW: a.pow_(s); return;
    case TG_B_MAXIMUM: a.clamp_min_(s); return;
    case TG_B_MINIMUM: a.clamp_max_(s); return;
  }
  throw std::invalid_argument("binary op " + std::to_string(op) + " has no in-place scalar form");
}

at::Tensor reduce(int op, const at::Tensor &a, at::IntArrayRef dims, bool keep, int64_t correction) {
  switch (op) {
    case TG_R_SUM: return dims.empty() && !keep ? a.sum() : a.sum(dims, keep);
    case TG_R_MEAN: return dims.empty() && !keep ? a.mean() : a.mean(dims, keep);
    case TG_R_AMAX: return a.amax(dims, keep);
    case TG_R_AMIN: return a.amin(dims, keep);
    case TG_R_LOGSUMEXP: {
      if (dims.empty()) return a.flatten().logsumexp({0}, false);
      return a.logsumexp(dims, keep);
    }
    case TG_R_NORM2: return at::linalg_vector_norm(a, 2, dims.empty() ? at::OptionalIntArrayRef() : dims, keep);
    case TG_R_VAR:
    case TG_R_STD: {
      at::OptionalIntArrayRef d = dims.empty() ? at::OptionalIntArrayRef() : at::OptionalIntArrayRef(dims);
#if TG_AT_LEAST(2, 0)
      c10::optional<at::Scalar> corr = at::Scalar(correction);  // 2.0 made the correction a Scalar
#else
      c10::optional<int64_t> corr = correction;
#endif
      return op == TG_R_VAR ? at::var(a, d, corr, keep) : at::std(a, d, corr, keep);
    }
    case TG_R_ARGMAX: {
      if (dims.size() != 1) throw std::invalid_argument("argmax takes exactly one dim");
      return a.argmax(dims[0], keep);
    }
    case TG_R_PROD: {
      if (dims.empty()) return a.prod();
      if (dims.size() != 1) throw std::invalid_argument("prod takes one dim or none");
      return a.prod(dims[0], keep);
    }
  }
  throw std::invalid_argument("unknown reduction " + std::to_string(op));
}

// An integral scalar for integral tensors, so that in-place ops on int64 counters keep their dtype.
at::Scalar scalar_for(const at::Tensor &t, double s) {
  if (!at::isFloatingType(t.scalar_type()) && s == std::floor(s)) return at::Scalar(static_cast<int64_t>(s));
  return at::Scalar(s);
}

}  // namespace

extern "C" {

tg_error tg_unary(int op, tg_tensor a, tg_tensor *out) { OUT1(unary(op, T(a))); }
tg_error tg_unary_(int op, tg_tensor a) { GUARD(unary_(op, T(a))); }
tg_error tg_binary(int op, tg_tensor a, tg_tensor b, double alpha, tg_tensor *out) {
  OUT1(binary(op, T(a), T(b), alpha));
}
tg_error tg_binary_(int op, tg_tensor a, tg_tensor b, double alpha) { GUARD(binary_(op, T(a), T(b), alpha)); }
tg_error tg_binary_scalar(int op, tg_tensor a, double s, int swap, tg_tensor *out) {
  OUT1(binary_scalar(op, T(a), scalar_for(T(a), s), swap != 0));
}
tg_error tg_binary_scalar_(int op, tg_tensor a, double s) { GUARD(binary_scalar_(op, T(a), scalar_for(T(a), s))); }

tg_error tg_clamp(tg_tensor a, double lo, double hi, int has_lo, int has_hi, tg_tensor *out) {
  OUT1(at::clamp(T(a), has_lo ? c10::optional<at::Scalar>(lo) : c10::nullopt,
                 has_hi ? c10::optional<at::Scalar>(hi) : c10::nullopt));
}
tg_error tg_where(tg_tensor c, tg_tensor a, tg_tensor b, tg_tensor *out) { OUT1(at::where(T(c), T(a), T(b))); }
tg_error tg_masked_fill(tg_tensor a, tg_tensor mask, double v, tg_tensor *out) {
  OUT1(T(a).masked_fill(T(mask), v));
}
tg_error tg_lerp(tg_tensor a, tg_tensor b, tg_tensor w, tg_tensor *out) { OUT1(at::lerp(T(a), T(b), T(w))); }
tg_error tg_matmul(tg_tensor a, tg_tensor b, tg_tensor *out) { OUT1(at::matmul(T(a), T(b))); }

tg_error tg_reduce(int op, tg_tensor a, const int64_t *dims, int nd, int keep, int64_t correction, tg_tensor *out) {
  OUT1(reduce(op, T(a), ints(dims, nd), keep != 0, correction));
}

tg_error tg_reshape(tg_tensor a, const int64_t *s, int nd, tg_tensor *out) { OUT1(T(a).reshape(ints(s, nd))); }
tg_error tg_permute(tg_tensor a, const int64_t *d, int nd, tg_tensor *out) { OUT1(T(a).permute(ints(d, nd))); }
tg_error tg_transpose(tg_tensor a, int64_t d0, int64_t d1, tg_tensor *out) { OUT1(T(a).transpose(d0, d1)); }
tg_error tg_expand(tg_tensor a, const int64_t *s, int nd, tg_tensor *out) { OUT1(T(a).expand(ints(s, nd))); }
tg_error tg_repeat(tg_tensor a, const int64_t *r, int nd, tg_tensor *out) { OUT1(T(a).repeat(ints(r, nd))); }
tg_error tg_squeeze(tg_tensor a, int64_t dim, tg_tensor *out) { OUT1(T(a).squeeze(dim)); }
tg_error tg_unsqueeze(tg_tensor a, int64_t dim, tg_tensor *out) { OUT1(T(a).unsqueeze(dim)); }
tg_error tg_flatten(tg_tensor a, int64_t s, int64_t e, tg_tensor *out) { OUT1(T(a).flatten(s, e)); }
tg_error tg_narrow(tg_tensor a, int64_t dim, int64_t start, int64_t len, tg_tensor *out) {
  OUT1(T(a).narrow(dim, start, len));
}
tg_error tg_slice(tg_tensor a, int64_t dim, int64_t start, int64_t end, int64_t step, tg_tensor *out) {
  OUT1(T(a).slice(dim, start, end, step));
}
tg_error tg_select(tg_tensor a, int64_t dim, int64_t i, tg_tensor *out) { OUT1(T(a).select(dim, i)); }
tg_error tg_index_select(tg_tensor a, int64_t dim, tg_tensor idx, tg_tensor *out) {
  OUT1(T(a).index_select(dim, T(idx)));
}
tg_error tg_gather(tg_tensor a, int64_t dim, tg_tensor idx, tg_tensor *out) { OUT1(T(a).gather(dim, T(idx))); }
tg_error tg_cat(const tg_tensor *ts, int n, int64_t dim, tg_tensor *out) { OUT1(at::cat(list(ts, n), dim)); }
tg_error tg_stack(const tg_tensor *ts, int n, int64_t dim, tg_tensor *out) { OUT1(at::stack(list(ts, n), dim)); }
tg_error tg_flip(tg_tensor a, const int64_t *d, int nd, tg_tensor *out) { OUT1(T(a).flip(ints(d, nd))); }
tg_error tg_diagonal(tg_tensor a, int64_t off, int64_t d0, int64_t d1, tg_tensor *out) {
  OUT1(T(a).diagonal(off, d0, d1));
}
tg_error tg_diag_embed(tg_tensor a, tg_tensor *out) { OUT1(at::diag_embed(T(a))); }
tg_error tg_contiguous(tg_tensor a, int cl, tg_tensor *out) {
  OUT1(T(a).contiguous(cl ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous));
}
tg_error tg_clone(tg_tensor a, tg_tensor *out) { OUT1(T(a).clone()); }
tg_error tg_to(tg_tensor a, int dev, int dt, int nb, tg_tensor *out) {
  OUT1(T(a).to(device(dev), dtype(dt), nb != 0));
}

tg_error tg_copy_(tg_tensor dst, tg_tensor src) {
  GUARD({
    at::NoGradGuard ng;
    T(dst).copy_(T(src));
  });
}
tg_error tg_fill_(tg_tensor t, double v) {
  GUARD({
    at::NoGradGuard ng;
    T(t).fill_(v);
  });
}
tg_error tg_set_data(tg_tensor t, tg_tensor data) { GUARD(T(t).set_data(T(data))); }

tg_error tg_conv2d(tg_tensor x, tg_tensor w, tg_tensor b, const int64_t stride[2], const int64_t pad[2],
                   const int64_t dil[2], int64_t groups, tg_tensor *out) {
  OUT1(at::conv2d(T(x), T(w), opt(b), ints(stride, 2), ints(pad, 2), ints(dil, 2), groups));
}
tg_error tg_batch_norm(tg_tensor x, tg_tensor w, tg_tensor b, tg_tensor rm, tg_tensor rv, int training,
                       double momentum, double eps, tg_tensor *out) {
  OUT1(at::batch_norm(T(x), opt(w), opt(b), opt(rm), opt(rv), training != 0, momentum, eps,
                      at::globalContext().userEnabledCuDNN()));
}
tg_error tg_max_pool2d(tg_tensor x, const int64_t k[2], const int64_t s[2], const int64_t p[2], tg_tensor *out) {
  OUT1(at::max_pool2d(T(x), ints(k, 2), ints(s, 2), ints(p, 2)));
}
tg_error tg_avg_pool2d(tg_tensor x, const int64_t k[2], const int64_t s[2], const int64_t p[2], tg_tensor *out) {
  OUT1(at::avg_pool2d(T(x), ints(k, 2), ints(s, 2), ints(p, 2)));
}
tg_error tg_adaptive_avg_pool2d(tg_tensor x, int64_t oh, int64_t ow, tg_tensor *out) {
  OUT1(at::adaptive_avg_pool2d(T(x), {oh, ow}));
}
tg_error tg_linear(tg_tensor x, tg_tensor w, tg_tensor b, tg_tensor *out) { OUT1(at::linear(T(x), T(w), opt(b))); }
tg_error tg_softmax(tg_tensor x, int64_t dim, int log, tg_tensor *out) {
  OUT1(log ? at::log_softmax(T(x), dim) : at::softmax(T(x), dim));
}
tg_error tg_cross_entropy(tg_tensor logits, tg_tensor target, int reduction, double ls, tg_tensor *out) {
  OUT1(at::cross_entropy_loss(T(logits), T(target), {}, reduction, -100, ls));
}
tg_error tg_upsample_bilinear(tg_tensor x, int64_t oh, int64_t ow, int ac, tg_tensor *out) {
  OUT1(at::upsample_bilinear2d(T(x), {oh, ow}, ac != 0));
}
tg_error tg_affine_grid(tg_tensor theta, const int64_t *size, int nd, int ac, tg_tensor *out) {
  OUT1(at::affine_grid_generator(T(theta), ints(size, nd), ac != 0));
}
tg_error tg_grid_sample(tg_tensor x, tg_tensor grid, int mode, int padding, int ac, tg_tensor *out) {
  OUT1(at::grid_sampler(T(x), T(grid), mode, padding, ac != 0));
}

}  // extern "C"
