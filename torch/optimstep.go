package torch

// #include "tg.h"
import "C"

import "fmt"

// The fused optimiser steps below are the kernels of package torch/optim, which owns the state and the
// schedules. Each is one shim call; parameters without a gradient are skipped.

func sameLen(op string, n int, others ...int) {
	for _, m := range others {
		if m != n {
			panic(&Error{Op: op, Kind: ErrValue, Msg: fmt.Sprintf("%d parameters but %d state tensors", n, m)})
		}
	}
}

// SGDStep applies SGD with momentum, dampening, weight decay and Nesterov (PyTorch's semantics) in place.
// first tells that the momentum buffers are empty (the first step copies the gradient into them).
func SGDStep(params, bufs []*Tensor, lr, momentum, dampening, weightDecay float64, nesterov, first bool) {
	sameLen("SGDStep", len(params), len(bufs))
	ph, bh := handles(params, "SGDStep"), handles(bufs, "SGDStep")
	check(C.tg_sgd_step(hp(ph), hp(bh), C.int(len(ph)), C.double(lr), C.double(momentum), C.double(dampening),
		C.double(weightDecay), cbool(nesterov), cbool(first)), "SGDStep")
	keepAll(params)
	keepAll(bufs)
}

// LARSStep applies LARS (layer-wise adaptive rate scaling, as in Barlow Twins) in place. Parameters with
// adapt[i] false (biases, BN) get neither weight decay nor the trust ratio.
func LARSStep(params, bufs []*Tensor, adapt []bool, lr, momentum, weightDecay, eta float64) {
	sameLen("LARSStep", len(params), len(bufs), len(adapt))
	ph, bh := handles(params, "LARSStep"), handles(bufs, "LARSStep")
	mask := make([]C.uint8_t, len(adapt))
	for i, a := range adapt {
		if a {
			mask[i] = 1
		}
	}
	var mp *C.uint8_t
	if len(mask) > 0 {
		mp = &mask[0]
	}
	check(C.tg_lars_step(hp(ph), hp(bh), mp, C.int(len(ph)), C.double(lr), C.double(momentum), C.double(weightDecay),
		C.double(eta)), "LARSStep")
	keepAll(params)
	keepAll(bufs)
}

// AdamWStep applies AdamW in place; step counts from 1.
func AdamWStep(params, expAvg, expAvgSq []*Tensor, lr, beta1, beta2, eps, weightDecay float64, step int64) {
	sameLen("AdamWStep", len(params), len(expAvg), len(expAvgSq))
	ph, mh, vh := handles(params, "AdamWStep"), handles(expAvg, "AdamWStep"), handles(expAvgSq, "AdamWStep")
	check(C.tg_adamw_step(hp(ph), hp(mh), hp(vh), C.int(len(ph)), C.double(lr), C.double(beta1), C.double(beta2),
		C.double(eps), C.double(weightDecay), C.int64_t(step)), "AdamWStep")
	keepAll(params)
	keepAll(expAvg)
	keepAll(expAvgSq)
}

// ZeroGrad resets gradients to none (the same behaviour on every libtorch version).
func ZeroGrad(params []*Tensor) {
	ph := handles(params, "ZeroGrad")
	check(C.tg_zero_grad(hp(ph), C.int(len(ph))), "ZeroGrad")
	keepAll(params)
}

// GradNorm is the total L2 norm of the parameters' gradients, as a 0-d float32 tensor on their device.
func GradNorm(params []*Tensor) *Tensor {
	ph := handles(params, "GradNorm")
	var out C.tg_tensor
	check(C.tg_grad_norm(hp(ph), C.int(len(ph)), &out), "GradNorm")
	keepAll(params)
	return adopt(out)
}

// ClipGrad scales gradients so their total norm (from GradNorm) is at most maxNorm, without a host sync.
func ClipGrad(params []*Tensor, totalNorm *Tensor, maxNorm float64) {
	ph := handles(params, "ClipGrad")
	check(C.tg_clip_grad_(hp(ph), C.int(len(ph)), totalNorm.handle("ClipGrad"), C.double(maxNorm)), "ClipGrad")
	keepAll(params)
	keepAll([]*Tensor{totalNorm})
}

// ReferenceOptimizer names libtorch's own optimisers, used by tests as the reference for ours.
type ReferenceOptimizer int

// Reference optimisers.
const (
	ReferenceSGD   ReferenceOptimizer = 0
	ReferenceAdamW ReferenceOptimizer = 1
)

// ReferenceOptimize runs libtorch's torch::optim optimiser for steps steps on the fixture loss
// Σ(0.1·p³ + sin p) from copies of init, and returns the final parameters. For tests only.
func ReferenceOptimize(kind ReferenceOptimizer, init []*Tensor, steps int, lr, momentum, dampening, weightDecay float64,
	nesterov bool, beta1, beta2, eps float64) []*Tensor {
	ih := handles(init, "ReferenceOptimize")
	out := make([]C.tg_tensor, len(ih))
	check(C.tg_reference_optim(C.int(kind), hp(ih), C.int(len(ih)), C.int(steps), C.double(lr), C.double(momentum),
		C.double(dampening), C.double(weightDecay), cbool(nesterov), C.double(beta1), C.double(beta2), C.double(eps),
		hp(out)), "ReferenceOptimize")
	keepAll(init)
	res := make([]*Tensor, len(out))
	for i, h := range out {
		res[i] = adopt(h)
	}
	return res
}
