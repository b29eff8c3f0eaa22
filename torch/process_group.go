package torch

// #include <stdlib.h>
// #include "tg.h"
import "C"

import (
	byteorder "encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"runtime"
	"slices"
	"strings"
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
	// CheckOrder makes every collective first compare, across the ranks, its sequence number, its kind and
	// the Go call stack that issued it (function names, not lines), and fail at once with an error naming
	// both sites when the ranks disagree. Without it, ranks that issue collectives in different orders pair
	// the wrong ones silently (or hang until the timeout). It costs an extra all-gather per collective:
	// on in the tests and with SEMCOM_DIST_CHECK=1.
	CheckOrder bool
	seq        int64
	checkDev   Device // where the check's tensor lives: the last collective's device (NCCL takes CUDA only)
}

// DistCheckEnv switches on the collective-order check of every process group (any non-empty value).
const DistCheckEnv = "SEMCOM_DIST_CHECK"

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
	return &ProcessGroup{d: d, Rank: rank, World: world, Addr: fmt.Sprintf("%s:%d", host, port),
		CheckOrder: os.Getenv(DistCheckEnv) != "", checkDev: CPU}, nil
}

// callSite names the Go functions on the stack above the binding (outermost last), without line numbers:
// two ranks reaching one collective from different lines of the same function (rank 0 after writing a
// file) agree, and ranks in different functions do not.
func callSite() string {
	pcs := make([]uintptr, 48)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var names []string
	for {
		f, more := frames.Next()
		fn := f.Function
		if !strings.HasPrefix(fn, "github.com/semcom/semcom/torch.(*ProcessGroup).") && !strings.HasPrefix(fn, "runtime.") && fn != "" {
			names = append(names, fn[strings.LastIndex(fn, "/")+1:])
		}
		if !more {
			break
		}
	}
	return strings.Join(names, " ← ")
}

// checkOrder compares this collective's (sequence number, kind, numel, call site) with every rank's.
func (g *ProcessGroup) checkOrder(op string, t *Tensor) error {
	if !g.CheckOrder {
		return nil
	}
	g.seq++
	site := callSite()
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s", op, site)
	tag := int64(h.Sum64() >> 1)
	numel := int64(-1)
	if t != nil {
		m := t.Meta()
		numel, g.checkDev = 1, m.Device
		for _, d := range m.Shape {
			numel *= d
		}
	}
	mine := []int64{g.seq, tag, numel}
	gathered, err := g.gatherForCheck(wordBytes(mine))
	if err != nil {
		return fmt.Errorf("collective #%d (%s): the order check's all-gather failed (a rank is gone?): %w", g.seq, op, err)
	}
	all := int64s(gathered)
	for r := range g.World {
		if !slices.Equal(all[3*r:3*r+3], mine) {
			// Every rank sees the same gathered words, so every rank gets here: exchange the sites to name them.
			const width = 1024
			text := make([]byte, width)
			copy(text, op+" at "+site)
			names, err := g.gatherForCheck(text)
			if err != nil {
				return fmt.Errorf("ranks diverged at collective #%d (rank %d issues %s)", g.seq, g.Rank, op+" at "+site)
			}
			var lines []string
			for q := range g.World {
				b := names[q*width : (q+1)*width]
				lines = append(lines, fmt.Sprintf("rank %d: #%d %s (%d elements)", q, all[3*q], strings.TrimRight(string(b), "\x00"), all[3*q+2]))
			}
			return fmt.Errorf("ranks diverged at collective #%d: %s", g.seq, strings.Join(lines, "; "))
		}
	}
	return nil
}

// gatherForCheck all-gathers raw bytes (on the device of the group's last collective) without the check.
func (g *ProcessGroup) gatherForCheck(b []byte) ([]byte, error) {
	var res []byte
	var err error
	WithScope(func() {
		var out C.tg_tensor
		t := FromSlice(b).ToDevice(g.checkDev)
		if err = checkErr(C.tg_dist_all_gather(g.d, t.handle("checkOrder"), &out), "AllGather"); err != nil {
			return
		}
		res = adopt(out).ToDevice(CPU).Bytes()
	})
	return res, err
}

var le = byteorder.LittleEndian

// wordBytes and int64s move int64 words through a byte tensor.
func wordBytes(v []int64) []byte {
	var b []byte
	for _, x := range v {
		b = le.AppendUint64(b, uint64(x))
	}
	return b
}

func int64s(b []byte) []int64 {
	v := make([]int64, len(b)/8)
	for i := range v {
		v[i] = int64(le.Uint64(b[8*i:]))
	}
	return v
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
	if err := g.checkOrder("AllReduceSum", t); err != nil {
		return err
	}
	return checkErr(C.tg_dist_all_reduce_sum(g.d, t.handle("AllReduceSum")), "AllReduceSum")
}

// AllReduceSumGrad returns the sum over ranks of t as a new tensor that autograd differentiates: its
// backward sums the incoming gradient over the ranks as well (every rank must run the same backward).
func (g *ProcessGroup) AllReduceSumGrad(t *Tensor) (*Tensor, error) {
	if err := g.checkOrder("AllReduceSumGrad", t); err != nil {
		return nil, err
	}
	var out C.tg_tensor
	if err := checkErr(C.tg_dist_all_reduce_sum_grad(g.d, t.handle("AllReduceSumGrad"), &out), "AllReduceSumGrad"); err != nil {
		return nil, err
	}
	return adopt(out), nil
}

// AllGather returns every rank's t concatenated along dim 0, in rank order (a new tensor; no gradient).
func (g *ProcessGroup) AllGather(t *Tensor) (*Tensor, error) {
	if err := g.checkOrder("AllGather", t); err != nil {
		return nil, err
	}
	var out C.tg_tensor
	if err := checkErr(C.tg_dist_all_gather(g.d, t.handle("AllGather"), &out), "AllGather"); err != nil {
		return nil, err
	}
	return adopt(out), nil
}

// Broadcast replaces t (in place) by root's t.
func (g *ProcessGroup) Broadcast(t *Tensor, root int) error {
	if err := g.checkOrder("Broadcast", t); err != nil {
		return err
	}
	return checkErr(C.tg_dist_broadcast(g.d, t.handle("Broadcast"), C.int(root)), "Broadcast")
}

// Barrier waits until every rank has reached it.
func (g *ProcessGroup) Barrier() error {
	if err := g.checkOrder("Barrier", nil); err != nil {
		return err
	}
	return checkErr(C.tg_dist_barrier(g.d), "Barrier")
}

// GradReducer averages parameter gradients over the ranks while the backward pass runs, as DDP's reducer
// does: buckets of parameters (reverse order) are all-reduced from autograd hooks as soon as their last
// gradient exists; Finish, after each backward, waits for them and writes the averages back. Every rank must
// build it over the same parameters and run the same backward.
type GradReducer struct {
	r C.tg_reducer
}

// NewGradReducer hooks params (leaves that require a gradient) into buckets of at most bucketBytes.
func (g *ProcessGroup) NewGradReducer(params []*Tensor, bucketBytes int64) (*GradReducer, error) {
	if err := g.checkOrder("NewGradReducer", nil); err != nil {
		return nil, err
	}
	hs := handles(params, "NewGradReducer")
	var r C.tg_reducer
	if err := checkErr(C.tg_dist_reducer_new(g.d, hp(hs), C.int(len(hs)), C.int64_t(bucketBytes), &r), "NewGradReducer"); err != nil {
		return nil, err
	}
	keepAll(params)
	return &GradReducer{r: r}, nil
}

// Finish completes the reduction of the backward pass just run: the remaining buckets are launched (zeros
// for parameters it did not reach), all are awaited, and every defined gradient becomes the ranks' mean.
func (r *GradReducer) Finish() error {
	return checkErr(C.tg_dist_reducer_finish(r.r), "GradReducer.Finish")
}

// ReducerStats counts a reducer's work: its buckets, and the bucket all-reduces launched so far, of which
// Early were launched from a hook during a backward pass (overlapped) rather than by Finish.
type ReducerStats struct {
	Buckets         int
	Launched, Early int64
}

// Stats reports the reducer's counts.
func (r *GradReducer) Stats() ReducerStats {
	var b C.int
	var l, e C.int64_t
	C.tg_dist_reducer_stats(r.r, &b, &l, &e)
	return ReducerStats{Buckets: int(b), Launched: int64(l), Early: int64(e)}
}

// Close removes the hooks and frees the buckets.
func (r *GradReducer) Close() {
	if r != nil && r.r != nil {
		C.tg_dist_reducer_free(r.r)
		r.r = nil
	}
}
