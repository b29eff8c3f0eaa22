// tg_optim.cc — optimiser steps as one call each (multi-tensor _foreach kernels where they save kernels),
// gradient housekeeping, and libtorch's own optimisers as a test reference.
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <cmath>

#include "tg_internal.h"

using namespace tg;

namespace {

// Parameters (and matching state) whose gradient is defined; undefined gradients are skipped as PyTorch does.
struct WithGrad {
  std::vector<at::Tensor> params, grads, s1, s2;
  std::vector<size_t> index;
};

WithGrad collect(const tg_tensor *params, const tg_tensor *s1, const tg_tensor *s2, int n) {
  WithGrad w;
  for (int i = 0; i < n; i++) {
    at::Tensor &p = T(params[i]);
    if (!p.grad().defined()) continue;
    w.params.push_back(p);
    w.grads.push_back(p.grad());
    if (s1) w.s1.push_back(T(s1[i]));
    if (s2) w.s2.push_back(T(s2[i]));
    w.index.push_back(static_cast<size_t>(i));
  }
  return w;
}

at::Tensor fixture_loss(const std::vector<at::Tensor> &ps) {
  at::Tensor loss = at::zeros({}, ps[0].options());
  for (auto &p : ps) loss = loss + (0.1 * p * p * p + p.sin()).sum();
  return loss;
}

}  // namespace

extern "C" {

// SGD with PyTorch's semantics: g += wd*p; buf = g (first) or momentum*buf + (1-dampening)*g;
// g = g + momentum*buf (Nesterov) or buf; p -= lr*g.
tg_error tg_sgd_step(const tg_tensor *params, const tg_tensor *bufs, int n, double lr, double momentum,
                     double dampening, double wd, int nesterov, int first) {
  GUARD({
    at::NoGradGuard ng;
    WithGrad w = collect(params, momentum != 0 ? bufs : nullptr, nullptr, n);
    if (w.params.empty()) return nullptr;
    std::vector<at::Tensor> g = w.grads;
    if (wd != 0) g = at::_foreach_add(g, w.params, wd);
    if (momentum != 0) {
      if (first) {
        for (size_t i = 0; i < g.size(); i++) w.s1[i].copy_(g[i]);
      } else {
        at::_foreach_mul_(w.s1, momentum);
        at::_foreach_add_(w.s1, g, 1 - dampening);
      }
      if (nesterov)
        g = at::_foreach_add(g, w.s1, momentum);
      else
        g = w.s1;
    }
    at::_foreach_add_(w.params, g, -lr);
  });
}

// LARS as in the Barlow Twins reference: for masked parameters (weights, not biases/BN), add weight decay and
// scale the update by eta*||p||/||g|| when both norms are positive; then heavy-ball momentum.
tg_error tg_lars_step(const tg_tensor *params, const tg_tensor *bufs, const uint8_t *mask, int n, double lr,
                      double momentum, double wd, double eta) {
  GUARD({
    at::NoGradGuard ng;
    for (int i = 0; i < n; i++) {
      at::Tensor &p = T(params[i]);
      if (!p.grad().defined()) continue;
      at::Tensor dp = p.grad();
      if (mask[i]) {
        dp = dp.add(p, wd);
        at::Tensor pn = at::linalg_vector_norm(p, 2), un = at::linalg_vector_norm(dp, 2);
        at::Tensor one = at::ones_like(pn);
        at::Tensor q = at::where(pn > 0, at::where(un > 0, eta * pn / un, one), one);
        dp = dp.mul(q);
      }
      at::Tensor &mu = T(bufs[i]);
      mu.mul_(momentum).add_(dp);
      p.add_(mu, -lr);
    }
  });
}

// AdamW (decoupled weight decay), PyTorch's formulation; step counts from 1.
tg_error tg_adamw_step(const tg_tensor *params, const tg_tensor *m, const tg_tensor *v, int n, double lr, double b1,
                       double b2, double eps, double wd, int64_t step) {
  GUARD({
    at::NoGradGuard ng;
    WithGrad w = collect(params, m, v, n);
    if (w.params.empty()) return nullptr;
    if (wd != 0) at::_foreach_mul_(w.params, 1 - lr * wd);
    at::_foreach_mul_(w.s1, b1);
    at::_foreach_add_(w.s1, w.grads, 1 - b1);
    at::_foreach_mul_(w.s2, b2);
    at::_foreach_addcmul_(w.s2, w.grads, w.grads, 1 - b2);
    double bc1 = 1 - std::pow(b1, static_cast<double>(step));
    double bc2 = 1 - std::pow(b2, static_cast<double>(step));
    std::vector<at::Tensor> denom = at::_foreach_sqrt(w.s2);
    at::_foreach_div_(denom, std::sqrt(bc2));
    at::_foreach_add_(denom, eps);
    at::_foreach_addcdiv_(w.params, w.s1, denom, -lr / bc1);
  });
}

// Gradients to "none" explicitly: libtorch 1.13's zero_grad zeroes in place, 2.x resets; we always reset.
tg_error tg_zero_grad(const tg_tensor *params, int n) {
  GUARD({
    for (int i = 0; i < n; i++) T(params[i]).mutable_grad().reset();
  });
}

tg_error tg_grad_norm(const tg_tensor *params, int n, tg_tensor *out) {
  GUARD({
    at::NoGradGuard ng;
    WithGrad w = collect(params, nullptr, nullptr, n);
    if (w.grads.empty()) {
      *out = wrap(at::zeros({}, at::kFloat));
      return nullptr;
    }
    std::vector<at::Tensor> norms = at::_foreach_norm(w.grads, 2);
    *out = wrap(at::linalg_vector_norm(at::stack(norms).to(at::kFloat), 2));
  });
}

// Scale gradients so their total norm is at most max_norm, without a host synchronisation.
tg_error tg_clip_grad_(const tg_tensor *params, int n, tg_tensor total, double max_norm) {
  GUARD({
    at::NoGradGuard ng;
    at::Tensor coef = (max_norm / (T(total) + 1e-6)).clamp_max(1.0);
    WithGrad w = collect(params, nullptr, nullptr, n);
    for (auto &g : w.grads) g.mul_(coef.to(g.dtype()));
  });
}

tg_error tg_reference_optim(int kind, const tg_tensor *init, int n, int steps, double lr, double momentum,
                            double dampening, double wd, int nesterov, double b1, double b2, double eps,
                            tg_tensor *out) {
  GUARD({
    std::vector<at::Tensor> ps;
    for (int i = 0; i < n; i++) ps.push_back(T(init[i]).detach().clone().requires_grad_(true));
    std::unique_ptr<torch::optim::Optimizer> o;
    if (kind == 0)
      o.reset(new torch::optim::SGD(
          ps, torch::optim::SGDOptions(lr).momentum(momentum).dampening(dampening).weight_decay(wd).nesterov(
                  nesterov != 0)));
    else
      o.reset(new torch::optim::AdamW(
          ps, torch::optim::AdamWOptions(lr).betas(std::make_tuple(b1, b2)).eps(eps).weight_decay(wd)));
    for (int s = 0; s < steps; s++) {
      for (auto &p : ps) p.mutable_grad().reset();
      fixture_loss(ps).backward();
      o->step();
    }
    for (int i = 0; i < n; i++) out[i] = wrap(ps[i].detach());
  });
}

}  // extern "C"
