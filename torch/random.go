package torch

// #include "tg.h"
import "C"

import "runtime"

// Generator is a seeded random stream on one device. A nil *Generator means libtorch's global generator.
type Generator struct {
	g   C.tg_generator
	dev Device
}

// NewGenerator makes an independent generator on dev seeded with seed.
func NewGenerator(dev Device, seed uint64) *Generator {
	var g C.tg_generator
	check(C.tg_generator_new(C.int(dev), C.uint64_t(seed), &g), "NewGenerator")
	gen := &Generator{g: g, dev: dev}
	runtime.AddCleanup(gen, func(g C.tg_generator) { C.tg_generator_free(g) }, g)
	return gen
}

func (g *Generator) ptr() C.tg_generator {
	if g == nil {
		return nil
	}
	return g.g
}

// Device is where the generator draws.
func (g *Generator) Device() Device { return g.dev }

// State returns the generator's state (a uint8 CPU tensor) for checkpoints.
func (g *Generator) State() *Tensor {
	var out C.tg_tensor
	check(C.tg_generator_get_state(g.g, &out), "Generator.State")
	runtime.KeepAlive(g)
	return adopt(out)
}

// SetState restores a state from State.
func (g *Generator) SetState(s *Tensor) {
	check(C.tg_generator_set_state(g.g, s.handle("Generator.SetState")), "Generator.SetState")
	runtime.KeepAlive(g)
	runtime.KeepAlive(s)
}

// ManualSeed seeds libtorch's global generators (CPU and every CUDA device).
func ManualSeed(seed uint64) { check(C.tg_manual_seed(C.uint64_t(seed)), "ManualSeed") }

func rand(kind C.int, g *Generator, a, b float64, dt DType, dev Device, shape []int64, name string) *Tensor {
	var out C.tg_tensor
	check(C.tg_rand(kind, i64p(shape), C.int(len(shape)), C.double(a), C.double(b), g.ptr(), C.int(dt), C.int(dev), &out), name)
	runtime.KeepAlive(g)
	return adopt(out)
}

// Normal draws from N(mean, std²).
func Normal(g *Generator, mean, std float64, dt DType, dev Device, shape ...int64) *Tensor {
	return rand(C.TG_RAND_NORMAL, g, mean, std, dt, dev, shape, "Normal")
}

// Randn draws from N(0, 1).
func Randn(g *Generator, dt DType, dev Device, shape ...int64) *Tensor {
	return Normal(g, 0, 1, dt, dev, shape...)
}

// Uniform draws from U[lo, hi).
func Uniform(g *Generator, lo, hi float64, dt DType, dev Device, shape ...int64) *Tensor {
	return rand(C.TG_RAND_UNIFORM, g, lo, hi, dt, dev, shape, "Uniform")
}

// RandInt draws int64 values from [low, high).
func RandInt(g *Generator, low, high int64, dev Device, shape ...int64) *Tensor {
	var out C.tg_tensor
	check(C.tg_randint(C.int64_t(low), C.int64_t(high), i64p(shape), C.int(len(shape)), g.ptr(), C.int(dev), &out), "RandInt")
	runtime.KeepAlive(g)
	return adopt(out)
}

// RandPerm is a random permutation of 0..n-1 (int64).
func RandPerm(g *Generator, n int64, dev Device) *Tensor {
	var out C.tg_tensor
	check(C.tg_randperm(C.int64_t(n), g.ptr(), C.int(dev), &out), "RandPerm")
	runtime.KeepAlive(g)
	return adopt(out)
}

// Bernoulli draws 0/1 with the probabilities in p (same dtype as p).
func Bernoulli(g *Generator, p *Tensor) *Tensor {
	var out C.tg_tensor
	check(C.tg_bernoulli(p.handle("Bernoulli"), g.ptr(), &out), "Bernoulli")
	runtime.KeepAlive(g)
	runtime.KeepAlive(p)
	return adopt(out)
}

// Normal_ refills t from N(mean, std²) in place, outside autograd (for initialisation).
func (t *Tensor) Normal_(g *Generator, mean, std float64) *Tensor {
	check(C.tg_rand_(C.TG_RAND_NORMAL, t.handle("Normal_"), C.double(mean), C.double(std), g.ptr()), "Normal_")
	runtime.KeepAlive(g)
	return t
}

// Uniform_ refills t from U[lo, hi) in place, outside autograd.
func (t *Tensor) Uniform_(g *Generator, lo, hi float64) *Tensor {
	check(C.tg_rand_(C.TG_RAND_UNIFORM, t.handle("Uniform_"), C.double(lo), C.double(hi), g.ptr()), "Uniform_")
	runtime.KeepAlive(g)
	return t
}
