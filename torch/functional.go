package torch

// #include "tg.h"
import "C"

import "runtime"

// optHandle is the handle of an optional tensor (nil → undefined).
func optHandle(t *Tensor, op string) C.tg_tensor {
	if t == nil {
		return nil
	}
	return t.handle(op)
}

func pair(v [2]int64) *C.int64_t { return (*C.int64_t)(&v[0]) }

// Conv2dOpts are a 2-d convolution's stride, padding, dilation and groups (zero values mean 1,0,1,1).
type Conv2dOpts struct {
	Stride, Padding, Dilation [2]int64
	Groups                    int64
}

// Conv2d convolves x (N,C,H,W) with w (O,C/groups,kh,kw) and an optional bias b.
func Conv2d(x, w, b *Tensor, o Conv2dOpts) *Tensor {
	for i := range 2 {
		if o.Stride[i] == 0 {
			o.Stride[i] = 1
		}
		if o.Dilation[i] == 0 {
			o.Dilation[i] = 1
		}
	}
	if o.Groups == 0 {
		o.Groups = 1
	}
	var out C.tg_tensor
	check(C.tg_conv2d(x.handle("Conv2d"), w.handle("Conv2d"), optHandle(b, "Conv2d"), pair(o.Stride), pair(o.Padding),
		pair(o.Dilation), C.int64_t(o.Groups), &out), "Conv2d")
	runtime.KeepAlive(x)
	runtime.KeepAlive(w)
	runtime.KeepAlive(b)
	return adopt(out)
}

// BatchNorm normalises over (N,H,W) per channel. In training it uses batch statistics and updates the
// running ones in place with the given momentum; otherwise it uses the running statistics.
func BatchNorm(x, weight, bias, runningMean, runningVar *Tensor, training bool, momentum, eps float64) *Tensor {
	var out C.tg_tensor
	check(C.tg_batch_norm(x.handle("BatchNorm"), optHandle(weight, "BatchNorm"), optHandle(bias, "BatchNorm"),
		optHandle(runningMean, "BatchNorm"), optHandle(runningVar, "BatchNorm"), cbool(training), C.double(momentum),
		C.double(eps), &out), "BatchNorm")
	runtime.KeepAlive(x)
	runtime.KeepAlive(weight)
	runtime.KeepAlive(bias)
	runtime.KeepAlive(runningMean)
	runtime.KeepAlive(runningVar)
	return adopt(out)
}

// MaxPool2d takes maxima over kernel windows.
func MaxPool2d(x *Tensor, kernel, stride, padding [2]int64) *Tensor {
	var out C.tg_tensor
	check(C.tg_max_pool2d(x.handle("MaxPool2d"), pair(kernel), pair(stride), pair(padding), &out), "MaxPool2d")
	runtime.KeepAlive(x)
	return adopt(out)
}

// AvgPool2d averages over kernel windows.
func AvgPool2d(x *Tensor, kernel, stride, padding [2]int64) *Tensor {
	var out C.tg_tensor
	check(C.tg_avg_pool2d(x.handle("AvgPool2d"), pair(kernel), pair(stride), pair(padding), &out), "AvgPool2d")
	runtime.KeepAlive(x)
	return adopt(out)
}

// AdaptiveAvgPool2d averages to an oh×ow output.
func AdaptiveAvgPool2d(x *Tensor, oh, ow int64) *Tensor {
	var out C.tg_tensor
	check(C.tg_adaptive_avg_pool2d(x.handle("AdaptiveAvgPool2d"), C.int64_t(oh), C.int64_t(ow), &out), "AdaptiveAvgPool2d")
	runtime.KeepAlive(x)
	return adopt(out)
}

// Linear is x·wᵀ + b (b may be nil).
func Linear(x, w, b *Tensor) *Tensor {
	var out C.tg_tensor
	check(C.tg_linear(x.handle("Linear"), w.handle("Linear"), optHandle(b, "Linear"), &out), "Linear")
	runtime.KeepAlive(x)
	runtime.KeepAlive(w)
	runtime.KeepAlive(b)
	return adopt(out)
}

// Softmax along dim.
func (t *Tensor) Softmax(dim int) *Tensor {
	var out C.tg_tensor
	check(C.tg_softmax(t.handle("Softmax"), C.int64_t(dim), 0, &out), "Softmax")
	runtime.KeepAlive(t)
	return adopt(out)
}

// LogSoftmax along dim.
func (t *Tensor) LogSoftmax(dim int) *Tensor {
	var out C.tg_tensor
	check(C.tg_softmax(t.handle("LogSoftmax"), C.int64_t(dim), 1, &out), "LogSoftmax")
	runtime.KeepAlive(t)
	return adopt(out)
}

// Reduction says how a per-sample loss is reduced.
type Reduction int

// Reductions, numbered as libtorch's.
const (
	ReduceNone Reduction = 0
	ReduceMean Reduction = 1
	ReduceSum  Reduction = 2
)

// CrossEntropy of logits (N,C) against int64 class targets (N), with optional label smoothing.
func CrossEntropy(logits, target *Tensor, red Reduction, labelSmoothing float64) *Tensor {
	var out C.tg_tensor
	check(C.tg_cross_entropy(logits.handle("CrossEntropy"), target.handle("CrossEntropy"), C.int(red),
		C.double(labelSmoothing), &out), "CrossEntropy")
	runtime.KeepAlive(logits)
	runtime.KeepAlive(target)
	return adopt(out)
}

// Dropout zeroes each element with probability p and scales the rest by 1/(1-p) when training.
func Dropout(g *Generator, x *Tensor, p float64, training bool) *Tensor {
	if !training || p == 0 {
		return x
	}
	m := x.Meta()
	keep := Bernoulli(g, Full(1-p, m.DType, m.Device, m.Shape...))
	return x.Mul(keep).DivScalar(1 - p)
}

// ResizeBilinear resizes (N,C,H,W) to oh×ow.
func ResizeBilinear(x *Tensor, oh, ow int64, alignCorners bool) *Tensor {
	var out C.tg_tensor
	check(C.tg_upsample_bilinear(x.handle("ResizeBilinear"), C.int64_t(oh), C.int64_t(ow), cbool(alignCorners), &out), "ResizeBilinear")
	runtime.KeepAlive(x)
	return adopt(out)
}

// AffineGrid makes sampling grids (N,H,W,2) from affine matrices theta (N,2,3) for an output of size
// (N,C,H,W).
func AffineGrid(theta *Tensor, size []int64, alignCorners bool) *Tensor {
	var out C.tg_tensor
	check(C.tg_affine_grid(theta.handle("AffineGrid"), i64p(size), C.int(len(size)), cbool(alignCorners), &out), "AffineGrid")
	runtime.KeepAlive(theta)
	return adopt(out)
}

// GridPadding says what GridSample reads outside the input.
type GridPadding int

// Padding modes, numbered as libtorch's.
const (
	PadZeros      GridPadding = 0
	PadBorder     GridPadding = 1
	PadReflection GridPadding = 2
)

// GridSample samples x (N,C,H,W) bilinearly (or nearest) at grid (N,Ho,Wo,2) in [-1,1] coordinates.
func GridSample(x, grid *Tensor, nearest bool, padding GridPadding, alignCorners bool) *Tensor {
	mode := C.int(0)
	if nearest {
		mode = 1
	}
	var out C.tg_tensor
	check(C.tg_grid_sample(x.handle("GridSample"), grid.handle("GridSample"), mode, C.int(padding), cbool(alignCorners), &out), "GridSample")
	runtime.KeepAlive(x)
	runtime.KeepAlive(grid)
	return adopt(out)
}
