package torch

// #include "tg.h"
import "C"

import "runtime"

func shapeOp(t *Tensor, name string, f func(h C.tg_tensor, out *C.tg_tensor) C.tg_error) *Tensor {
	var out C.tg_tensor
	check(f(t.handle(name), &out), name)
	runtime.KeepAlive(t)
	return adopt(out)
}

// Reshape returns t with a new shape (a view when possible); one size may be -1.
func (t *Tensor) Reshape(shape ...int64) *Tensor {
	return shapeOp(t, "Reshape", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error {
		return C.tg_reshape(h, i64p(shape), C.int(len(shape)), o)
	})
}

// Permute reorders dims.
func (t *Tensor) Permute(dims ...int) *Tensor {
	d := ints64(dims)
	return shapeOp(t, "Permute", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error {
		return C.tg_permute(h, i64p(d), C.int(len(d)), o)
	})
}

// Transpose swaps two dims.
func (t *Tensor) Transpose(d0, d1 int) *Tensor {
	return shapeOp(t, "Transpose", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error {
		return C.tg_transpose(h, C.int64_t(d0), C.int64_t(d1), o)
	})
}

// T transposes a matrix.
func (t *Tensor) T() *Tensor { return t.Transpose(0, 1) }

// Expand broadcasts t to shape (-1 keeps a size) without copying.
func (t *Tensor) Expand(shape ...int64) *Tensor {
	return shapeOp(t, "Expand", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error {
		return C.tg_expand(h, i64p(shape), C.int(len(shape)), o)
	})
}

// Repeat tiles t.
func (t *Tensor) Repeat(reps ...int64) *Tensor {
	return shapeOp(t, "Repeat", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error {
		return C.tg_repeat(h, i64p(reps), C.int(len(reps)), o)
	})
}

// Squeeze drops dim if its size is 1.
func (t *Tensor) Squeeze(dim int) *Tensor {
	return shapeOp(t, "Squeeze", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error { return C.tg_squeeze(h, C.int64_t(dim), o) })
}

// Unsqueeze inserts a dim of size 1.
func (t *Tensor) Unsqueeze(dim int) *Tensor {
	return shapeOp(t, "Unsqueeze", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error { return C.tg_unsqueeze(h, C.int64_t(dim), o) })
}

// Flatten merges dims start..end (inclusive; negative counts from the end).
func (t *Tensor) Flatten(start, end int) *Tensor {
	return shapeOp(t, "Flatten", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error {
		return C.tg_flatten(h, C.int64_t(start), C.int64_t(end), o)
	})
}

// Narrow is the view t[..., start:start+length, ...] along dim.
func (t *Tensor) Narrow(dim int, start, length int64) *Tensor {
	return shapeOp(t, "Narrow", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error {
		return C.tg_narrow(h, C.int64_t(dim), C.int64_t(start), C.int64_t(length), o)
	})
}

// Slice is the view t[..., start:end:step, ...] along dim.
func (t *Tensor) Slice(dim int, start, end, step int64) *Tensor {
	return shapeOp(t, "Slice", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error {
		return C.tg_slice(h, C.int64_t(dim), C.int64_t(start), C.int64_t(end), C.int64_t(step), o)
	})
}

// Select is t[..., i, ...] along dim (that dim is removed).
func (t *Tensor) Select(dim int, i int64) *Tensor {
	return shapeOp(t, "Select", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error {
		return C.tg_select(h, C.int64_t(dim), C.int64_t(i), o)
	})
}

// IndexSelect gathers whole slices along dim by an int64 index vector.
func (t *Tensor) IndexSelect(dim int, index *Tensor) *Tensor {
	defer runtime.KeepAlive(index)
	return shapeOp(t, "IndexSelect", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error {
		return C.tg_index_select(h, C.int64_t(dim), index.handle("IndexSelect"), o)
	})
}

// Gather picks elements along dim by an int64 index tensor of t's rank.
func (t *Tensor) Gather(dim int, index *Tensor) *Tensor {
	defer runtime.KeepAlive(index)
	return shapeOp(t, "Gather", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error {
		return C.tg_gather(h, C.int64_t(dim), index.handle("Gather"), o)
	})
}

// Flip reverses the given dims.
func (t *Tensor) Flip(dims ...int) *Tensor {
	d := ints64(dims)
	return shapeOp(t, "Flip", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error { return C.tg_flip(h, i64p(d), C.int(len(d)), o) })
}

// Diagonal returns the main diagonal of a matrix.
func (t *Tensor) Diagonal() *Tensor {
	return shapeOp(t, "Diagonal", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error { return C.tg_diagonal(h, 0, 0, 1, o) })
}

// DiagEmbed makes a (batch of) diagonal matrix from the last dim.
func (t *Tensor) DiagEmbed() *Tensor {
	return shapeOp(t, "DiagEmbed", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error { return C.tg_diag_embed(h, o) })
}

// Contiguous returns t laid out row-major.
func (t *Tensor) Contiguous() *Tensor {
	return shapeOp(t, "Contiguous", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error { return C.tg_contiguous(h, 0, o) })
}

// ChannelsLast returns a 4-d t laid out NHWC in memory (same logical NCHW shape).
func (t *Tensor) ChannelsLast() *Tensor {
	return shapeOp(t, "ChannelsLast", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error { return C.tg_contiguous(h, 1, o) })
}

// Clone copies t (autograd records the copy).
func (t *Tensor) Clone() *Tensor {
	return shapeOp(t, "Clone", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error { return C.tg_clone(h, o) })
}

// To moves t to dev and converts it to dt.
func (t *Tensor) To(dev Device, dt DType) *Tensor {
	return shapeOp(t, "To", func(h C.tg_tensor, o *C.tg_tensor) C.tg_error {
		return C.tg_to(h, C.int(dev), C.int(dt), 0, o)
	})
}

// ToDevice moves t to dev keeping its dtype.
func (t *Tensor) ToDevice(dev Device) *Tensor { return t.To(dev, t.DType()) }

// ToDType converts t keeping its device.
func (t *Tensor) ToDType(dt DType) *Tensor { return t.To(t.Device(), dt) }

func listOp(ts []*Tensor, dim int, name string, f func(*C.tg_tensor, C.int, C.int64_t, *C.tg_tensor) C.tg_error) *Tensor {
	hs := handles(ts, name)
	var out C.tg_tensor
	check(f(hp(hs), C.int(len(hs)), C.int64_t(dim), &out), name)
	keepAll(ts)
	return adopt(out)
}

// Cat concatenates along dim.
func Cat(ts []*Tensor, dim int) *Tensor {
	return listOp(ts, dim, "Cat", func(h *C.tg_tensor, n C.int, d C.int64_t, o *C.tg_tensor) C.tg_error {
		return C.tg_cat(h, n, d, o)
	})
}

// Stack stacks along a new dim.
func Stack(ts []*Tensor, dim int) *Tensor {
	return listOp(ts, dim, "Stack", func(h *C.tg_tensor, n C.int, d C.int64_t, o *C.tg_tensor) C.tg_error {
		return C.tg_stack(h, n, d, o)
	})
}

// Copy_ copies src into t (broadcasting, converting dtype and device) without recording autograd.
func (t *Tensor) Copy_(src *Tensor) *Tensor {
	check(C.tg_copy_(t.handle("Copy_"), src.handle("Copy_")), "Copy_")
	runtime.KeepAlive(src)
	return t
}

// Fill_ sets every element to v without recording autograd.
func (t *Tensor) Fill_(v float64) *Tensor {
	check(C.tg_fill_(t.handle("Fill_"), C.double(v)), "Fill_")
	return t
}

// Zero_ sets every element to 0.
func (t *Tensor) Zero_() *Tensor { return t.Fill_(0) }

// SetData replaces t's storage with data's, keeping t's identity (as parameters moved between devices need).
func (t *Tensor) SetData(data *Tensor) {
	check(C.tg_set_data(t.handle("SetData"), data.handle("SetData")), "SetData")
	runtime.KeepAlive(data)
}
