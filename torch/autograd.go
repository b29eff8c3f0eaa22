package torch

// #include "tg.h"
import "C"

import "runtime"

// RequiresGrad_ switches autograd recording for a leaf tensor and returns t.
func (t *Tensor) RequiresGrad_(on bool) *Tensor {
	check(C.tg_requires_grad_(t.handle("RequiresGrad_"), cbool(on)), "RequiresGrad_")
	return t
}

// Backward accumulates gradients of a scalar t into the leaves' .grad.
func (t *Tensor) Backward() {
	check(C.tg_backward(t.handle("Backward"), nil), "Backward")
	runtime.KeepAlive(t)
}

// BackwardWith back-propagates a non-scalar t with the given output gradient.
func (t *Tensor) BackwardWith(grad *Tensor) {
	check(C.tg_backward(t.handle("BackwardWith"), grad.handle("BackwardWith")), "BackwardWith")
	runtime.KeepAlive(t)
	runtime.KeepAlive(grad)
}

// Grad returns t's accumulated gradient, or nil when there is none.
func (t *Tensor) Grad() *Tensor {
	var out C.tg_tensor
	check(C.tg_grad(t.handle("Grad"), &out), "Grad")
	runtime.KeepAlive(t)
	return adopt(out)
}

// SetGrad replaces t's gradient; nil resets it to none.
func (t *Tensor) SetGrad(g *Tensor) {
	var h C.tg_tensor
	if g != nil {
		h = g.handle("SetGrad")
	}
	check(C.tg_set_grad(t.handle("SetGrad"), h), "SetGrad")
	runtime.KeepAlive(g)
}

// Detach returns a view of t outside the autograd graph.
func (t *Tensor) Detach() *Tensor {
	var out C.tg_tensor
	check(C.tg_detach(t.handle("Detach"), &out), "Detach")
	runtime.KeepAlive(t)
	return adopt(out)
}

// NoGrad runs f with autograd recording off on this thread, restoring the previous mode after.
func NoGrad(f func()) {
	prev := C.tg_set_grad_enabled(0)
	defer C.tg_set_grad_enabled(prev)
	f()
}

// GradEnabled reports whether autograd records ops on this thread.
func GradEnabled() bool { return C.tg_grad_enabled() != 0 }

func autocastType(dev Device) C.int {
	if dev.IsCUDA() {
		return 1
	}
	return 0
}

// Autocast runs f with mixed precision on dev's device type: conv and matmul run in dt (e.g. BFloat16).
// Run Backward outside, as in PyTorch.
func Autocast(dev Device, dt DType, f func()) {
	var prev C.int64_t
	check(C.tg_autocast_enter(autocastType(dev), C.int(dt), &prev), "Autocast")
	defer func() { check(C.tg_autocast_exit(autocastType(dev), prev), "Autocast") }()
	f()
}

// AutocastEnabled reports whether autocast is on for dev's device type on this thread.
func AutocastEnabled(dev Device) bool { return C.tg_autocast_enabled(autocastType(dev)) != 0 }
