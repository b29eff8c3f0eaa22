package torch

// #include "tg.h"
import "C"

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"unsafe"
)

// DType is an element type.
type DType int

// Element types (tg.h's TG_* codes).
const (
	Uint8    DType = C.TG_U8
	Int32    DType = C.TG_I32
	Int64    DType = C.TG_I64
	Float16  DType = C.TG_F16
	BFloat16 DType = C.TG_BF16
	Float32  DType = C.TG_F32
	Float64  DType = C.TG_F64
	Bool     DType = C.TG_BOOL
)

var dtypeNames = map[DType]string{Uint8: "uint8", Int32: "int32", Int64: "int64", Float16: "float16",
	BFloat16: "bfloat16", Float32: "float32", Float64: "float64", Bool: "bool"}

func (d DType) String() string {
	if n, ok := dtypeNames[d]; ok {
		return n
	}
	return fmt.Sprintf("dtype(%d)", int(d))
}

// ElemSize is the size of one element in bytes.
func (d DType) ElemSize() int {
	switch d {
	case Uint8, Bool:
		return 1
	case Float16, BFloat16:
		return 2
	case Int32, Float32:
		return 4
	}
	return 8
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool { return d == Float16 || d == BFloat16 || d == Float32 || d == Float64 }

// ParseDType maps "float32", "bf16", ... to a DType.
func ParseDType(s string) (DType, error) {
	switch strings.ToLower(s) {
	case "uint8", "u8":
		return Uint8, nil
	case "int32", "i32":
		return Int32, nil
	case "int64", "i64":
		return Int64, nil
	case "float16", "f16", "half":
		return Float16, nil
	case "bfloat16", "bf16":
		return BFloat16, nil
	case "float32", "f32", "float":
		return Float32, nil
	case "float64", "f64", "double":
		return Float64, nil
	case "bool":
		return Bool, nil
	}
	return 0, fmt.Errorf("unknown dtype %q (want float32, bfloat16, float16, float64, int64, int32, uint8 or bool)", s)
}

// Device is CPU or a CUDA device index.
type Device int

// CPU is the host device.
const CPU Device = -1

// CUDA returns CUDA device i.
func CUDA(i int) Device { return Device(i) }

// IsCUDA reports whether d is a CUDA device.
func (d Device) IsCUDA() bool { return d >= 0 }

func (d Device) String() string {
	if d < 0 {
		return "cpu"
	}
	return fmt.Sprintf("cuda:%d", int(d))
}

// ParseDevice maps "cpu", "cuda", "cuda:1" and "auto" (CUDA when usable, else CPU) to a Device.
func ParseDevice(s string) (Device, error) {
	switch {
	case s == "cpu":
		return CPU, nil
	case s == "auto":
		if CUDAAvailable() {
			return CUDA(0), nil
		}
		return CPU, nil
	case s == "cuda":
		return CUDA(0), nil
	case strings.HasPrefix(s, "cuda:"):
		var i int
		if _, err := fmt.Sscanf(s, "cuda:%d", &i); err == nil && i >= 0 {
			return CUDA(i), nil
		}
	}
	return CPU, fmt.Errorf("unknown device %q (want cpu, cuda, cuda:N or auto)", s)
}

// Tensor is a handle to a libtorch tensor. Always used as *Tensor.
type Tensor struct {
	h       C.tg_tensor
	scope   *Scope
	idx     int
	cleanup runtime.Cleanup
	tracked bool
}

func (t *Tensor) handle(op string) C.tg_tensor {
	if t == nil {
		panic(&Error{Op: op, Kind: ErrFreed, Msg: "nil tensor"})
	}
	if t.h == nil {
		panic(&Error{Op: op, Kind: ErrFreed, Msg: "tensor used after Free or after its scope closed"})
	}
	return t.h
}

// Meta is a tensor's metadata, read in one call.
type Meta struct {
	Shape        []int64
	DType        DType
	Device       Device
	RequiresGrad bool
	IsLeaf       bool
	ChannelsLast bool
}

// Meta reads shape, dtype, device and autograd flags.
func (t *Tensor) Meta() Meta {
	var m C.tg_meta
	check(C.tg_meta_of(t.handle("Meta"), &m), "Meta")
	runtime.KeepAlive(t)
	shape := make([]int64, int(m.ndim))
	for i := range shape {
		shape[i] = int64(m.shape[i])
	}
	return Meta{Shape: shape, DType: DType(m.dtype), Device: Device(m.device), RequiresGrad: m.requires_grad != 0,
		IsLeaf: m.is_leaf != 0, ChannelsLast: m.channels_last != 0}
}

// Shape returns the sizes of t.
func (t *Tensor) Shape() []int64 { return t.Meta().Shape }

// Dim returns the number of dimensions.
func (t *Tensor) Dim() int { return len(t.Meta().Shape) }

// Size returns the size of dimension d (negative d counts from the end).
func (t *Tensor) Size(d int) int64 {
	s := t.Shape()
	if d < 0 {
		d += len(s)
	}
	if d < 0 || d >= len(s) {
		panic(&Error{Op: "Size", Kind: ErrIndex, Msg: fmt.Sprintf("dim %d out of range for %d-d tensor", d, len(s))})
	}
	return s[d]
}

// Numel returns the number of elements.
func (t *Tensor) Numel() int64 { return numel(t.Shape()) }

// SameShape reports whether two shapes are equal.
func SameShape(a, b []int64) bool { return slices.Equal(a, b) }

// FreeAll frees every tensor of a map (such as a loaded checkpoint).
func FreeAll(m map[string]*Tensor) {
	for _, t := range m {
		t.Free()
	}
}

func numel(shape []int64) int64 {
	n := int64(1)
	for _, s := range shape {
		n *= s
	}
	return n
}

// DType returns the element type.
func (t *Tensor) DType() DType { return t.Meta().DType }

// Device returns where t lives.
func (t *Tensor) Device() Device { return t.Meta().Device }

// RequiresGrad reports whether autograd records ops on t.
func (t *Tensor) RequiresGrad() bool { return t.Meta().RequiresGrad }

// IsChannelsLast reports whether a 4-d tensor is laid out NHWC in memory.
func (t *Tensor) IsChannelsLast() bool { return t.Meta().ChannelsLast }

// Defined reports whether t refers to a live tensor.
func (t *Tensor) Defined() bool { return t != nil && t.h != nil }

func (t *Tensor) String() string {
	if !t.Defined() {
		return "Tensor(freed)"
	}
	m := t.Meta()
	return fmt.Sprintf("Tensor(shape=%v, dtype=%v, device=%v)", m.Shape, m.DType, m.Device)
}

// Element is a Go type that maps to a DType.
type Element interface {
	~uint8 | ~int32 | ~int64 | ~float32 | ~float64 | ~bool
}

func dtypeOf[E Element]() DType {
	var z E
	switch any(z).(type) {
	case uint8:
		return Uint8
	case int32:
		return Int32
	case int64:
		return Int64
	case float32:
		return Float32
	case float64:
		return Float64
	case bool:
		return Bool
	}
	panic("unreachable")
}

// FromSlice copies data into a new CPU tensor of the given shape (default: 1-d).
func FromSlice[E Element](data []E, shape ...int64) *Tensor {
	if len(shape) == 0 {
		shape = []int64{int64(len(data))}
	}
	if numel(shape) != int64(len(data)) {
		panic(&Error{Op: "FromSlice", Kind: ErrValue, Msg: fmt.Sprintf("%d values do not fill shape %v", len(data), shape)})
	}
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	var out C.tg_tensor
	check(C.tg_from_host(p, C.int(dtypeOf[E]()), i64p(shape), C.int(len(shape)), C.int(CPU), &out), "FromSlice")
	runtime.KeepAlive(data)
	return adopt(out)
}

// FromBytes makes a CPU tensor from raw little-endian bytes of the given dtype and shape (a copy).
func FromBytes(dt DType, data []byte, shape ...int64) *Tensor {
	if numel(shape)*int64(dt.ElemSize()) != int64(len(data)) {
		panic(&Error{Op: "FromBytes", Kind: ErrValue, Msg: fmt.Sprintf("%d bytes do not fill %v %v", len(data), dt, shape)})
	}
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	var out C.tg_tensor
	check(C.tg_from_host(p, C.int(dt), i64p(shape), C.int(len(shape)), C.int(CPU), &out), "FromBytes")
	runtime.KeepAlive(data)
	return adopt(out)
}

// Scalar makes a 0-d float32 CPU tensor.
func Scalar(v float64) *Tensor { return Full(v, Float32, CPU) }

// Bytes copies t's elements (contiguous, on the host) into a new byte slice.
func (t *Tensor) Bytes() []byte {
	m := t.Meta()
	n := numel(m.Shape) * int64(m.DType.ElemSize())
	b := make([]byte, n)
	var p unsafe.Pointer
	if n > 0 {
		p = unsafe.Pointer(&b[0])
	}
	check(C.tg_to_host(t.handle("Bytes"), p, C.size_t(n)), "Bytes")
	runtime.KeepAlive(t)
	return b
}

// ToSlice copies t's elements to the host; t's dtype must match E.
func ToSlice[E Element](t *Tensor) []E {
	m := t.Meta()
	if want := dtypeOf[E](); m.DType != want {
		panic(&Error{Op: "ToSlice", Kind: ErrValue, Msg: fmt.Sprintf("tensor is %v, asked for %v", m.DType, want)})
	}
	out := make([]E, numel(m.Shape))
	var p unsafe.Pointer
	if len(out) > 0 {
		p = unsafe.Pointer(&out[0])
	}
	check(C.tg_to_host(t.handle("ToSlice"), p, C.size_t(len(out)*m.DType.ElemSize())), "ToSlice")
	runtime.KeepAlive(t)
	return out
}

// Float32s converts t to float32 on the host and returns its elements.
func (t *Tensor) Float32s() []float32 {
	if t.DType() == Float32 {
		return ToSlice[float32](t)
	}
	c := t.ToDType(Float32)
	defer c.Free()
	return ToSlice[float32](c)
}

// Float64s converts t to float64 on the host and returns its elements.
func (t *Tensor) Float64s() []float64 {
	if t.DType() == Float64 {
		return ToSlice[float64](t)
	}
	c := t.ToDType(Float64)
	defer c.Free()
	return ToSlice[float64](c)
}

// Int64s converts t to int64 on the host and returns its elements.
func (t *Tensor) Int64s() []int64 {
	if t.DType() == Int64 {
		return ToSlice[int64](t)
	}
	c := t.ToDType(Int64)
	defer c.Free()
	return ToSlice[int64](c)
}

// Item returns the value of a one-element tensor (a host synchronisation on CUDA).
func (t *Tensor) Item() float64 {
	var v C.double
	check(C.tg_item(t.handle("Item"), &v), "Item")
	runtime.KeepAlive(t)
	return float64(v)
}

// Full makes a tensor filled with v.
func Full(v float64, dt DType, dev Device, shape ...int64) *Tensor {
	var out C.tg_tensor
	check(C.tg_full(i64p(shape), C.int(len(shape)), C.double(v), C.int(dt), C.int(dev), &out), "Full")
	return adopt(out)
}

// Zeros makes a zero tensor.
func Zeros(dt DType, dev Device, shape ...int64) *Tensor { return Full(0, dt, dev, shape...) }

// Ones makes a tensor of ones.
func Ones(dt DType, dev Device, shape ...int64) *Tensor { return Full(1, dt, dev, shape...) }

// ZerosLike makes a zero tensor with t's shape, dtype and device.
func ZerosLike(t *Tensor) *Tensor {
	m := t.Meta()
	return Zeros(m.DType, m.Device, m.Shape...)
}

// Arange makes [start, end) in steps of step.
func Arange(start, end, step float64, dt DType, dev Device) *Tensor {
	var out C.tg_tensor
	check(C.tg_arange(C.double(start), C.double(end), C.double(step), C.int(dt), C.int(dev), &out), "Arange")
	return adopt(out)
}

// Eye makes an n×n identity matrix.
func Eye(n int64, dt DType, dev Device) *Tensor {
	var out C.tg_tensor
	check(C.tg_eye(C.int64_t(n), C.int(dt), C.int(dev), &out), "Eye")
	return adopt(out)
}
