package torch

// #include <stdlib.h>
// #include "tg.h"
import "C"

import (
	"fmt"
	"time"
	"unsafe"
)

// ProcessGroup is a c10d process group over a TCPStore: the collectives data-parallel training needs, each
// bounded by the group's timeout (a dead peer makes them fail with an error, never hang). Rank 0 serves the
// store at host:port.
type ProcessGroup struct {
	d           C.tg_dist
	Rank, World int
	Addr        string
}

// DistBackends reports the c10d backends of the loaded shim ("gloo"; none without libgloo-dev at build).
func DistBackends() []string {
	var out []string
	b := int(C.tg_dist_backends())
	if b&C.TG_DIST_GLOO != 0 {
		out = append(out, "gloo")
	}
	if b&C.TG_DIST_NCCL != 0 {
		out = append(out, "nccl")
	}
	return out
}

// NewProcessGroup joins (rank 0: creates) the Gloo group of world processes that meet at host:port.
func NewProcessGroup(host string, port, rank, world int, timeout time.Duration) (*ProcessGroup, error) {
	return NewProcessGroupOn("gloo", host, port, rank, world, timeout)
}

// NewProcessGroupOn is NewProcessGroup with a backend: "gloo" (CPU tensors, and CUDA ones through the
// host) or "nccl" (CUDA tensors; a shim built against a CUDA libtorch with NCCL).
func NewProcessGroupOn(backend, host string, port, rank, world int, timeout time.Duration) (*ProcessGroup, error) {
	b := C.int(C.TG_DIST_GLOO)
	switch backend {
	case "gloo":
	case "nccl":
		b = C.TG_DIST_NCCL
	default:
		return nil, fmt.Errorf("process group backend %q: want gloo or nccl", backend)
	}
	ch := C.CString(host)
	defer C.free(unsafe.Pointer(ch))
	var d C.tg_dist
	if err := checkErr(C.tg_dist_init(ch, C.int(port), C.int(rank), C.int(world), C.int64_t(timeout.Milliseconds()), b, &d), "ProcessGroup"); err != nil {
		return nil, fmt.Errorf("process group at %s:%d (rank %d of %d): %w", host, port, rank, world, err)
	}
	return &ProcessGroup{d: d, Rank: rank, World: world, Addr: fmt.Sprintf("%s:%d", host, port)}, nil
}

// Close leaves the group.
func (g *ProcessGroup) Close() {
	if g != nil && g.d != nil {
		C.tg_dist_free(g.d)
		g.d = nil
	}
}

// AllReduceSum replaces t (in place) by the sum of every rank's t.
func (g *ProcessGroup) AllReduceSum(t *Tensor) error {
	return checkErr(C.tg_dist_all_reduce_sum(g.d, t.handle("AllReduceSum")), "AllReduceSum")
}

// AllReduceSumGrad returns the sum over ranks of t as a new tensor that autograd differentiates: its
// backward sums the incoming gradient over the ranks as well (every rank must run the same backward).
func (g *ProcessGroup) AllReduceSumGrad(t *Tensor) (*Tensor, error) {
	var out C.tg_tensor
	if err := checkErr(C.tg_dist_all_reduce_sum_grad(g.d, t.handle("AllReduceSumGrad"), &out), "AllReduceSumGrad"); err != nil {
		return nil, err
	}
	return adopt(out), nil
}

// AllGather returns every rank's t concatenated along dim 0, in rank order (a new tensor; no gradient).
func (g *ProcessGroup) AllGather(t *Tensor) (*Tensor, error) {
	var out C.tg_tensor
	if err := checkErr(C.tg_dist_all_gather(g.d, t.handle("AllGather"), &out), "AllGather"); err != nil {
		return nil, err
	}
	return adopt(out), nil
}

// Broadcast replaces t (in place) by root's t.
func (g *ProcessGroup) Broadcast(t *Tensor, root int) error {
	return checkErr(C.tg_dist_broadcast(g.d, t.handle("Broadcast"), C.int(root)), "Broadcast")
}

// Barrier waits until every rank has reached it.
func (g *ProcessGroup) Barrier() error { return checkErr(C.tg_dist_barrier(g.d), "Barrier") }
