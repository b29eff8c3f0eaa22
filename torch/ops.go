package torch

// #include "tg.h"
import "C"

import "runtime"

func unary(op C.int, a *Tensor, name string) *Tensor {
	var out C.tg_tensor
	check(C.tg_unary(op, a.handle(name), &out), name)
	runtime.KeepAlive(a)
	return adopt(out)
}

func unaryInPlace(op C.int, a *Tensor, name string) *Tensor {
	check(C.tg_unary_(op, a.handle(name)), name)
	return a
}

func binary(op C.int, a, b *Tensor, alpha float64, name string) *Tensor {
	var out C.tg_tensor
	check(C.tg_binary(op, a.handle(name), b.handle(name), C.double(alpha), &out), name)
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	return adopt(out)
}

func binaryInPlace(op C.int, a, b *Tensor, alpha float64, name string) *Tensor {
	check(C.tg_binary_(op, a.handle(name), b.handle(name), C.double(alpha)), name)
	runtime.KeepAlive(b)
	return a
}

func scalarOp(op C.int, a *Tensor, s float64, swap bool, name string) *Tensor {
	var out C.tg_tensor
	check(C.tg_binary_scalar(op, a.handle(name), C.double(s), cbool(swap), &out), name)
	runtime.KeepAlive(a)
	return adopt(out)
}

func scalarInPlace(op C.int, a *Tensor, s float64, name string) *Tensor {
	check(C.tg_binary_scalar_(op, a.handle(name), C.double(s)), name)
	return a
}

// Pointwise unary ops.
func (t *Tensor) Neg() *Tensor        { return unary(C.TG_U_NEG, t, "Neg") }
func (t *Tensor) Exp() *Tensor        { return unary(C.TG_U_EXP, t, "Exp") }
func (t *Tensor) Log() *Tensor        { return unary(C.TG_U_LOG, t, "Log") }
func (t *Tensor) Log1p() *Tensor      { return unary(C.TG_U_LOG1P, t, "Log1p") }
func (t *Tensor) Sqrt() *Tensor       { return unary(C.TG_U_SQRT, t, "Sqrt") }
func (t *Tensor) Rsqrt() *Tensor      { return unary(C.TG_U_RSQRT, t, "Rsqrt") }
func (t *Tensor) Abs() *Tensor        { return unary(C.TG_U_ABS, t, "Abs") }
func (t *Tensor) Relu() *Tensor       { return unary(C.TG_U_RELU, t, "Relu") }
func (t *Tensor) Sigmoid() *Tensor    { return unary(C.TG_U_SIGMOID, t, "Sigmoid") }
func (t *Tensor) Tanh() *Tensor       { return unary(C.TG_U_TANH, t, "Tanh") }
func (t *Tensor) Square() *Tensor     { return unary(C.TG_U_SQUARE, t, "Square") }
func (t *Tensor) Sin() *Tensor        { return unary(C.TG_U_SIN, t, "Sin") }
func (t *Tensor) Cos() *Tensor        { return unary(C.TG_U_COS, t, "Cos") }
func (t *Tensor) Sign() *Tensor       { return unary(C.TG_U_SIGN, t, "Sign") }
func (t *Tensor) Floor() *Tensor      { return unary(C.TG_U_FLOOR, t, "Floor") }
func (t *Tensor) Round() *Tensor      { return unary(C.TG_U_ROUND, t, "Round") }
func (t *Tensor) Reciprocal() *Tensor { return unary(C.TG_U_RECIPROCAL, t, "Reciprocal") }
func (t *Tensor) LogicalNot() *Tensor { return unary(C.TG_U_LOGICAL_NOT, t, "LogicalNot") }
func (t *Tensor) IsFinite() *Tensor   { return unary(C.TG_U_ISFINITE, t, "IsFinite") }

// In-place unary ops return t itself (no new handle).
func (t *Tensor) Relu_() *Tensor  { return unaryInPlace(C.TG_U_RELU, t, "Relu_") }
func (t *Tensor) Neg_() *Tensor   { return unaryInPlace(C.TG_U_NEG, t, "Neg_") }
func (t *Tensor) Sqrt_() *Tensor  { return unaryInPlace(C.TG_U_SQRT, t, "Sqrt_") }
func (t *Tensor) Exp_() *Tensor   { return unaryInPlace(C.TG_U_EXP, t, "Exp_") }
func (t *Tensor) Floor_() *Tensor { return unaryInPlace(C.TG_U_FLOOR, t, "Floor_") }

// Pointwise binary ops with broadcasting.
func (t *Tensor) Add(u *Tensor) *Tensor { return binary(C.TG_B_ADD, t, u, 1, "Add") }
func (t *Tensor) AddScaled(u *Tensor, alpha float64) *Tensor {
	return binary(C.TG_B_ADD, t, u, alpha, "AddScaled")
}
func (t *Tensor) Sub(u *Tensor) *Tensor     { return binary(C.TG_B_SUB, t, u, 1, "Sub") }
func (t *Tensor) Mul(u *Tensor) *Tensor     { return binary(C.TG_B_MUL, t, u, 0, "Mul") }
func (t *Tensor) Div(u *Tensor) *Tensor     { return binary(C.TG_B_DIV, t, u, 0, "Div") }
func (t *Tensor) Pow(u *Tensor) *Tensor     { return binary(C.TG_B_POW, t, u, 0, "Pow") }
func (t *Tensor) Maximum(u *Tensor) *Tensor { return binary(C.TG_B_MAXIMUM, t, u, 0, "Maximum") }
func (t *Tensor) Minimum(u *Tensor) *Tensor { return binary(C.TG_B_MINIMUM, t, u, 0, "Minimum") }
func (t *Tensor) Eq(u *Tensor) *Tensor      { return binary(C.TG_B_EQ, t, u, 0, "Eq") }
func (t *Tensor) Ne(u *Tensor) *Tensor      { return binary(C.TG_B_NE, t, u, 0, "Ne") }
func (t *Tensor) Lt(u *Tensor) *Tensor      { return binary(C.TG_B_LT, t, u, 0, "Lt") }
func (t *Tensor) Le(u *Tensor) *Tensor      { return binary(C.TG_B_LE, t, u, 0, "Le") }
func (t *Tensor) Gt(u *Tensor) *Tensor      { return binary(C.TG_B_GT, t, u, 0, "Gt") }
func (t *Tensor) Ge(u *Tensor) *Tensor      { return binary(C.TG_B_GE, t, u, 0, "Ge") }
func (t *Tensor) LogicalAnd(u *Tensor) *Tensor {
	return binary(C.TG_B_LOGICAL_AND, t, u, 0, "LogicalAnd")
}
func (t *Tensor) LogicalOr(u *Tensor) *Tensor { return binary(C.TG_B_LOGICAL_OR, t, u, 0, "LogicalOr") }
func (t *Tensor) Atan2(u *Tensor) *Tensor     { return binary(C.TG_B_ATAN2, t, u, 0, "Atan2") }
func (t *Tensor) Remainder(u *Tensor) *Tensor { return binary(C.TG_B_REMAINDER, t, u, 0, "Remainder") }

// In-place binary ops return t itself.
func (t *Tensor) Add_(u *Tensor) *Tensor { return binaryInPlace(C.TG_B_ADD, t, u, 1, "Add_") }
func (t *Tensor) AddScaled_(u *Tensor, alpha float64) *Tensor {
	return binaryInPlace(C.TG_B_ADD, t, u, alpha, "AddScaled_")
}
func (t *Tensor) Sub_(u *Tensor) *Tensor { return binaryInPlace(C.TG_B_SUB, t, u, 1, "Sub_") }
func (t *Tensor) Mul_(u *Tensor) *Tensor { return binaryInPlace(C.TG_B_MUL, t, u, 0, "Mul_") }
func (t *Tensor) Div_(u *Tensor) *Tensor { return binaryInPlace(C.TG_B_DIV, t, u, 0, "Div_") }

// Ops with a scalar operand.
func (t *Tensor) AddScalar(s float64) *Tensor { return scalarOp(C.TG_B_ADD, t, s, false, "AddScalar") }
func (t *Tensor) SubScalar(s float64) *Tensor { return scalarOp(C.TG_B_SUB, t, s, false, "SubScalar") }
func (t *Tensor) MulScalar(s float64) *Tensor { return scalarOp(C.TG_B_MUL, t, s, false, "MulScalar") }
func (t *Tensor) DivScalar(s float64) *Tensor { return scalarOp(C.TG_B_DIV, t, s, false, "DivScalar") }
func (t *Tensor) PowScalar(s float64) *Tensor { return scalarOp(C.TG_B_POW, t, s, false, "PowScalar") }
func (t *Tensor) EqScalar(s float64) *Tensor  { return scalarOp(C.TG_B_EQ, t, s, false, "EqScalar") }
func (t *Tensor) LtScalar(s float64) *Tensor  { return scalarOp(C.TG_B_LT, t, s, false, "LtScalar") }
func (t *Tensor) GtScalar(s float64) *Tensor  { return scalarOp(C.TG_B_GT, t, s, false, "GtScalar") }
func (t *Tensor) LeScalar(s float64) *Tensor  { return scalarOp(C.TG_B_LE, t, s, false, "LeScalar") }
func (t *Tensor) GeScalar(s float64) *Tensor  { return scalarOp(C.TG_B_GE, t, s, false, "GeScalar") }
func (t *Tensor) ClampMin(s float64) *Tensor {
	return scalarOp(C.TG_B_MAXIMUM, t, s, false, "ClampMin")
}
func (t *Tensor) ClampMax(s float64) *Tensor {
	return scalarOp(C.TG_B_MINIMUM, t, s, false, "ClampMax")
}

// ScalarSub is s - t.
func (t *Tensor) ScalarSub(s float64) *Tensor { return scalarOp(C.TG_B_SUB, t, s, true, "ScalarSub") }

// ScalarDiv is s / t.
func (t *Tensor) ScalarDiv(s float64) *Tensor { return scalarOp(C.TG_B_DIV, t, s, true, "ScalarDiv") }

// ScalarPow is s ** t.
func (t *Tensor) ScalarPow(s float64) *Tensor { return scalarOp(C.TG_B_POW, t, s, true, "ScalarPow") }

func (t *Tensor) AddScalar_(s float64) *Tensor { return scalarInPlace(C.TG_B_ADD, t, s, "AddScalar_") }
func (t *Tensor) MulScalar_(s float64) *Tensor { return scalarInPlace(C.TG_B_MUL, t, s, "MulScalar_") }
func (t *Tensor) DivScalar_(s float64) *Tensor { return scalarInPlace(C.TG_B_DIV, t, s, "DivScalar_") }
func (t *Tensor) ClampMin_(s float64) *Tensor {
	return scalarInPlace(C.TG_B_MAXIMUM, t, s, "ClampMin_")
}
func (t *Tensor) ClampMax_(s float64) *Tensor {
	return scalarInPlace(C.TG_B_MINIMUM, t, s, "ClampMax_")
}

// Clamp limits t to [lo, hi].
func (t *Tensor) Clamp(lo, hi float64) *Tensor {
	var out C.tg_tensor
	check(C.tg_clamp(t.handle("Clamp"), C.double(lo), C.double(hi), 1, 1, &out), "Clamp")
	runtime.KeepAlive(t)
	return adopt(out)
}

// Where picks a where cond is true, else b.
func Where(cond, a, b *Tensor) *Tensor {
	var out C.tg_tensor
	check(C.tg_where(cond.handle("Where"), a.handle("Where"), b.handle("Where"), &out), "Where")
	runtime.KeepAlive(cond)
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	return adopt(out)
}

// MaskedFill sets v where mask is true.
func (t *Tensor) MaskedFill(mask *Tensor, v float64) *Tensor {
	var out C.tg_tensor
	check(C.tg_masked_fill(t.handle("MaskedFill"), mask.handle("MaskedFill"), C.double(v), &out), "MaskedFill")
	runtime.KeepAlive(t)
	runtime.KeepAlive(mask)
	return adopt(out)
}

// Lerp is t + w*(u - t).
func (t *Tensor) Lerp(u, w *Tensor) *Tensor {
	var out C.tg_tensor
	check(C.tg_lerp(t.handle("Lerp"), u.handle("Lerp"), w.handle("Lerp"), &out), "Lerp")
	runtime.KeepAlive(t)
	runtime.KeepAlive(u)
	runtime.KeepAlive(w)
	return adopt(out)
}

// MatMul is matrix multiplication with PyTorch's broadcasting rules.
func (t *Tensor) MatMul(u *Tensor) *Tensor {
	var out C.tg_tensor
	check(C.tg_matmul(t.handle("MatMul"), u.handle("MatMul"), &out), "MatMul")
	runtime.KeepAlive(t)
	runtime.KeepAlive(u)
	return adopt(out)
}

func reduce(op C.int, t *Tensor, dims []int, keep bool, correction int64, name string) *Tensor {
	d := ints64(dims)
	var out C.tg_tensor
	check(C.tg_reduce(op, t.handle(name), i64p(d), C.int(len(d)), cbool(keep), C.int64_t(correction), &out), name)
	runtime.KeepAlive(t)
	return adopt(out)
}

// Reductions over dims (none: all elements). The ...Keep forms keep reduced dims with size 1.
func (t *Tensor) Sum(dims ...int) *Tensor     { return reduce(C.TG_R_SUM, t, dims, false, 0, "Sum") }
func (t *Tensor) SumKeep(dims ...int) *Tensor { return reduce(C.TG_R_SUM, t, dims, true, 0, "SumKeep") }
func (t *Tensor) Mean(dims ...int) *Tensor    { return reduce(C.TG_R_MEAN, t, dims, false, 0, "Mean") }
func (t *Tensor) MeanKeep(dims ...int) *Tensor {
	return reduce(C.TG_R_MEAN, t, dims, true, 0, "MeanKeep")
}
func (t *Tensor) Amax(dims ...int) *Tensor { return reduce(C.TG_R_AMAX, t, dims, false, 0, "Amax") }
func (t *Tensor) AmaxKeep(dims ...int) *Tensor {
	return reduce(C.TG_R_AMAX, t, dims, true, 0, "AmaxKeep")
}
func (t *Tensor) Amin(dims ...int) *Tensor { return reduce(C.TG_R_AMIN, t, dims, false, 0, "Amin") }
func (t *Tensor) Prod(dims ...int) *Tensor { return reduce(C.TG_R_PROD, t, dims, false, 0, "Prod") }
func (t *Tensor) LogSumExp(dims ...int) *Tensor {
	return reduce(C.TG_R_LOGSUMEXP, t, dims, false, 0, "LogSumExp")
}

// Norm is the L2 norm over dims; NormKeep keeps them.
func (t *Tensor) Norm(dims ...int) *Tensor { return reduce(C.TG_R_NORM2, t, dims, false, 0, "Norm") }
func (t *Tensor) NormKeep(dims ...int) *Tensor {
	return reduce(C.TG_R_NORM2, t, dims, true, 0, "NormKeep")
}

// Var and Std with a correction (0: population, 1: unbiased) over dims.
func (t *Tensor) Var(correction int64, dims ...int) *Tensor {
	return reduce(C.TG_R_VAR, t, dims, false, correction, "Var")
}
func (t *Tensor) Std(correction int64, dims ...int) *Tensor {
	return reduce(C.TG_R_STD, t, dims, false, correction, "Std")
}

// ArgMax returns the indices of the maxima along dim.
func (t *Tensor) ArgMax(dim int) *Tensor {
	return reduce(C.TG_R_ARGMAX, t, []int{dim}, false, 0, "ArgMax")
}
