package torch

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// distWorker runs in a child process (TG_DIST_RANK set): it joins the group and prints what the
// collectives returned, one line each.
func distWorker() {
	rank, _ := strconv.Atoi(os.Getenv("TG_DIST_RANK"))
	world, _ := strconv.Atoi(os.Getenv("TG_DIST_WORLD"))
	port, _ := strconv.Atoi(os.Getenv("TG_DIST_PORT"))
	defer LockThread()()
	g, err := NewProcessGroup("127.0.0.1", port, rank, world, 5*time.Second)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	if os.Getenv("TG_DIST_DIVERGE") != "" {
		// The shape of the probes bug: both ranks broadcast a tensor of one size, from different code.
		x := FromSlice([]float32{1, 2})
		if rank == 0 {
			err = broadcastForProbes(g, x)
		} else {
			err = broadcastForTraining(g, x)
		}
		fmt.Println("diverge:", err)
		g.Close()
		os.Exit(0)
	}
	if os.Getenv("TG_DIST_DIE") == strconv.Itoa(rank) {
		os.Exit(0) // a rank that dies after joining
	}
	x := FromSlice([]float32{float32(rank + 1), float32(10 * (rank + 1))})
	if err := g.AllReduceSum(x); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("allreduce", x.Float32s())
	all, err := g.AllGather(FromSlice([]float32{float32(rank)}, 1, 1))
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("allgather", all.Shape(), all.Float32s())
	b := FromSlice([]float32{float32(rank)})
	g.Broadcast(b, world-1)
	fmt.Println("broadcast", b.Float32s())
	fmt.Println("barrier", g.Barrier())
	g.Close()
}

//go:noinline
func broadcastForProbes(g *ProcessGroup, x *Tensor) error { return g.Broadcast(x, 0) }

//go:noinline
func broadcastForTraining(g *ProcessGroup, x *Tensor) error { return g.Broadcast(x, 0) }

func freeTCPPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// runRanks starts world copies of this test binary as ranks and returns their outputs.
func runRanks(t *testing.T, world, port int, extra ...string) []string {
	outs := make([]string, world)
	var wg sync.WaitGroup
	for r := range world {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "TG_DIST_RANK="+strconv.Itoa(r), "TG_DIST_WORLD="+strconv.Itoa(world), "TG_DIST_PORT="+strconv.Itoa(port))
			cmd.Env = append(cmd.Env, extra...)
			b, _ := cmd.CombinedOutput()
			outs[r] = string(b)
		}(r)
	}
	wg.Wait()
	return outs
}

// TestMain makes the test binary a rank of the collective tests when run as their child process.
func TestMain(m *testing.M) {
	if os.Getenv("TG_DIST_RANK") != "" {
		distWorker()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestCollectives(t *testing.T) {
	if len(DistBackends()) == 0 {
		t.Skip("this shim has no distributed backend (Gloo headers were missing at build: 'make' installs libgloo-dev)")
	}
	for _, c := range []struct {
		world int
		check string
	}{{2, ""}, {3, ""}, {2, "1"}} {
		world := c.world
		outs := runRanks(t, world, freeTCPPort(t), DistCheckEnv+"="+c.check)
		sum := world * (world + 1) / 2
		for r, out := range outs {
			for _, want := range []string{
				fmt.Sprintf("allreduce [%d %d]", sum, 10*sum),
				fmt.Sprintf("allgather [%d 1] %v", world, seq(world)),
				fmt.Sprintf("broadcast [%d]", world-1),
				"barrier <nil>",
			} {
				if !strings.Contains(out, want) {
					t.Fatalf("world %d (order check %q), rank %d lacks %q:\n%s", world, c.check, r, want, out)
				}
			}
		}
	}
}

func seq(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(i)
	}
	return s
}

// TestCollectiveOrderCheck: ranks that reach a collective of the same kind and size from different code pair
// silently without the check (the bug it exists for) and fail at once, naming both sites, with it.
func TestCollectiveOrderCheck(t *testing.T) {
	if len(DistBackends()) == 0 {
		t.Skip("no distributed backend in this shim")
	}
	for _, o := range runRanks(t, 2, freeTCPPort(t), "TG_DIST_DIVERGE=1", DistCheckEnv+"=") {
		if !strings.Contains(o, "diverge: <nil>") {
			t.Fatalf("without the check the mismatched broadcasts should pair silently:\n%s", o)
		}
	}
	outs := runRanks(t, 2, freeTCPPort(t), "TG_DIST_DIVERGE=1", DistCheckEnv+"=1")
	for r, o := range outs {
		for _, want := range []string{"ranks diverged at collective #1", "broadcastForProbes", "broadcastForTraining"} {
			if !strings.Contains(o, want) {
				t.Fatalf("rank %d lacks %q:\n%s", r, want, o)
			}
		}
	}
}

// TestCollectiveFailsWhenARankDies: the surviving rank's collective fails within the timeout.
func TestCollectiveFailsWhenARankDies(t *testing.T) {
	if len(DistBackends()) == 0 {
		t.Skip("no distributed backend in this shim")
	}
	start := time.Now()
	outs := runRanks(t, 2, freeTCPPort(t), "TG_DIST_DIE=1")
	if !strings.Contains(outs[0], "error:") || time.Since(start) > 30*time.Second {
		t.Fatalf("rank 0 after its peer died (%v):\n%s", time.Since(start), outs[0])
	}
}

// TestBusyPortIsNamed: a store port already in use gives an error naming it.
func TestBusyPortIsNamed(t *testing.T) {
	if len(DistBackends()) == 0 {
		t.Skip("no distributed backend in this shim")
	}
	defer LockThread()()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = NewProcessGroup("127.0.0.1", port, 0, 2, 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("127.0.0.1:%d", port)) {
		t.Fatalf("busy port: %v", err)
	}
}

// TestNCCLWorldSizeOne runs every collective through NCCL on one GPU (the GPU check; skipped on CPU
// machines, and a failure where the shim was built against a CUDA libtorch but without NCCL).
func TestNCCLWorldSizeOne(t *testing.T) {
	dev := cudaOrSkip(t)
	if !slices.Contains(DistBackends(), "nccl") {
		t.Fatalf("the CUDA shim has no NCCL backend (backends %v): see the tg_dist.cc line of 'make shim'", DistBackends())
	}
	defer LockThread()()
	g, err := NewProcessGroupOn("nccl", "127.0.0.1", freeTCPPort(t), 0, 1, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	x := FromSlice([]float32{1, 2, 3}).ToDevice(dev)
	if err := g.AllReduceSum(x); err != nil {
		t.Fatal(err)
	}
	all, err := g.AllGather(x)
	if err != nil || all.Size(0) != 3 {
		t.Fatalf("all-gather: %v", err)
	}
	if err := g.Broadcast(x, 0); err != nil || g.Barrier() != nil {
		t.Fatalf("broadcast/barrier: %v", err)
	}
	w := FromSlice([]float32{1, 2, 3}).ToDevice(dev).RequiresGrad_(true)
	s, err := g.AllReduceSumGrad(w)
	if err != nil {
		t.Fatal(err)
	}
	s.Mul(s).Sum().Backward()
	if got := w.Grad().ToDevice(CPU).Float32s(); got[2] != 6 {
		t.Fatalf("gradient through the NCCL all-reduce: %v, want [2 4 6]", got)
	}
	// The overlapped gradient all-reduce: its hooks fire on autograd's CUDA device thread.
	a := FromSlice([]float32{1, 2}).ToDevice(dev).RequiresGrad_(true)
	b := FromSlice([]float32{3}).ToDevice(dev).RequiresGrad_(true)
	r, err := g.NewGradReducer([]*Tensor{a, b}, 4) // a bucket each
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a.Mul(b).Sum().Backward()
	if err := r.Finish(); err != nil {
		t.Fatal(err)
	}
	if ga, gb := a.Grad().ToDevice(CPU).Float32s(), b.Grad().ToDevice(CPU).Float32s(); ga[1] != 3 || gb[0] != 3 {
		t.Fatalf("gradients after the NCCL reducer: %v %v, want [3 3] [3]", ga, gb)
	}
	if st := r.Stats(); st.Buckets != 2 || st.Early != 2 {
		t.Fatalf("NCCL reducer: %+v, want 2 buckets both launched during the backward", st)
	}
}
