// Package dist is data parallelism over c10d: where a process's rank, world size and rendezvous come from
// (torchrun's, Slurm's and a Kubernetes Indexed Job's environment), joining the process group, the gather
// that keeps the whole-batch losses exact, and the gradient all-reduce.
//
// The losses of Stage I (Barlow Twins, the proposed loss, NT-Xent) are functions of the whole batch, so
// every rank computes the loss of the *global* batch. GatherWithGrad assembles it with a differentiable
// all-reduce: its backward sums each sample's gradient over the ranks and hands every rank the slice of its
// own samples, so that after the usual DDP averaging of parameter gradients (AllReduceGrads) each rank holds
// the exact gradient of the global-batch loss. A gather without that backward (other ranks' features as
// constants, or all of them) gives a gradient scaled by 1/world size, or none — the bugs other SSL
// libraries shipped, which the tests catch.
package dist

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/semcom/semcom/torch"
)

// Launch is one process's place in a data-parallel job.
type Launch struct {
	Rank, World, LocalRank int
	MasterAddr             string
	MasterPort             int
	Source                 string // which environment it was read from
}

// DefaultPort is MASTER_PORT where a launcher sets none (torchrun's default).
const DefaultPort = 29500

// launchers are the environments FromEnv reads, in order: the variables of the rank, the world size and the
// node-local rank (none for a Kubernetes Indexed Job).
var launchers = []struct{ source, rank, world, local string }{
	{"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK"},
	{"kubernetes", "JOB_COMPLETION_INDEX", "WORLD_SIZE", ""},
	{"slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
}

// FromEnv reads the launch from the environment that existing launchers set: torchrun (RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR, MASTER_PORT), Slurm under srun (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, the
// master being the first host of SLURM_JOB_NODELIST), and a Kubernetes Indexed Job (JOB_COMPLETION_INDEX
// with WORLD_SIZE and MASTER_ADDR, e.g. <job>-0.<headless service>). ok is false for a single process.
func FromEnv(getenv func(string) string) (Launch, bool, error) {
	num := func(name string) (int, error) {
		v, err := strconv.Atoi(getenv(name))
		if err != nil {
			return 0, fmt.Errorf("%s=%q: not an integer", name, getenv(name))
		}
		return v, nil
	}
	port := DefaultPort
	if p := getenv("MASTER_PORT"); p != "" {
		v, err := num("MASTER_PORT")
		if err != nil || v <= 0 || v > 65535 {
			return Launch{}, false, fmt.Errorf("MASTER_PORT=%q: want a TCP port", p)
		}
		port = v
	}
	var l Launch
	var err error
	for _, env := range launchers {
		if getenv(env.rank) == "" || getenv(env.world) == "" {
			continue
		}
		l.Source = env.source
		if l.Rank, err = num(env.rank); err != nil {
			return l, false, err
		}
		if l.World, err = num(env.world); err != nil {
			return l, false, err
		}
		if env.local != "" && getenv(env.local) != "" {
			if l.LocalRank, err = num(env.local); err != nil {
				return l, false, err
			}
		}
		l.MasterAddr = getenv("MASTER_ADDR")
		if l.MasterAddr == "" && env.source == "slurm" && getenv("SLURM_JOB_NODELIST") != "" {
			if l.MasterAddr, err = firstHost(getenv("SLURM_JOB_NODELIST")); err != nil {
				return l, false, err
			}
		}
		break
	}
	if l.Source == "" {
		return Launch{World: 1}, false, nil
	}
	if l.MasterAddr == "" {
		l.MasterAddr = "127.0.0.1"
	}
	l.MasterPort = port
	if l.World < 1 || l.Rank < 0 || l.Rank >= l.World {
		return l, false, fmt.Errorf("%s: rank %d of world size %d", l.Source, l.Rank, l.World)
	}
	return l, l.World > 1, nil
}

// FreeLocalPort asks the kernel for a TCP port on the loopback that is free now: the store port of ranks
// started on this machine.
func FreeLocalPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// firstHost expands a Slurm node list ("gpu[03-05,07]") with scontrol and returns its first host.
func firstHost(nodelist string) (string, error) {
	out, err := exec.Command("scontrol", "show", "hostnames", nodelist).Output()
	if err != nil {
		return "", fmt.Errorf("SLURM_JOB_NODELIST=%s: scontrol show hostnames: %w (set MASTER_ADDR instead)", nodelist, err)
	}
	host, _, _ := bytes.Cut(bytes.TrimSpace(out), []byte("\n"))
	return strings.TrimSpace(string(host)), nil
}

// Join connects to the Gloo group of a launch; every collective afterwards fails within timeout when a rank
// is gone.
func Join(l Launch, timeout time.Duration) (*torch.ProcessGroup, error) {
	return JoinOn("gloo", l, timeout)
}

// JoinMargin is how long past its timeout joining a group may take before the process gives up on its own.
const JoinMargin = 2 * time.Second

// Stuck is called when joining outlasts timeout + JoinMargin. c10d's rendezvous can take twice the timeout
// for a lonely rank 0 (the store waits for the workers, then the group connects) and blocks without bound
// on a master port whose listener never answers; the call cannot be cancelled from Go (it holds the torch
// thread), so the default exits the process with the error, exit code 1 (retryable).
var Stuck = func(err error) {
	fmt.Fprintln(os.Stderr, "semcom:", err)
	os.Exit(1)
}

// JoinOn is Join with a backend ("gloo" or "nccl"). It returns, or gives up through Stuck, within timeout
// plus JoinMargin.
func JoinOn(backend string, l Launch, timeout time.Duration) (*torch.ProcessGroup, error) {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(timeout + JoinMargin):
			Stuck(fmt.Errorf("rank %d of %d: no process group formed at %s:%d within --dist-timeout %v (+%v): did every rank start, and is MASTER_ADDR:MASTER_PORT rank 0's store?",
				l.Rank, l.World, l.MasterAddr, l.MasterPort, timeout, JoinMargin))
		}
	}()
	return torch.NewProcessGroupOn(backend, l.MasterAddr, l.MasterPort, l.Rank, l.World, timeout)
}

// Backend is the backend for tensors on dev: NCCL for CUDA where the shim has it, Gloo otherwise.
func Backend(dev torch.Device) string {
	if dev.IsCUDA() {
		for _, b := range torch.DistBackends() {
			if b == "nccl" {
				return "nccl"
			}
		}
	}
	return "gloo"
}

// Env lists the environment of rank r of a local launch (semcom run --nproc-per-node), torchrun's names.
func (l Launch) Env(rank int) []string {
	return []string{"RANK=" + strconv.Itoa(rank), "LOCAL_RANK=" + strconv.Itoa(rank), "WORLD_SIZE=" + strconv.Itoa(l.World),
		"MASTER_ADDR=" + l.MasterAddr, "MASTER_PORT=" + strconv.Itoa(l.MasterPort)}
}

// Getenv is os.Getenv, for FromEnv.
func Getenv(k string) string { return os.Getenv(k) }

// GatherWithGrad returns the global batch of features: every rank's z (B, …) concatenated in rank order.
// Forward: this rank's z placed at its offset in zeros, summed over the ranks. Backward: the gradient of the
// global batch, summed over the ranks, narrowed to this rank's slice. The ranks' batches must have one size.
func GatherWithGrad(g *torch.ProcessGroup, z *torch.Tensor) (*torch.Tensor, error) {
	b := z.Size(0)
	shape := z.Shape()
	var parts []*torch.Tensor
	zeros := func(rows int64) *torch.Tensor {
		s := append([]int64{rows}, shape[1:]...)
		return torch.Zeros(z.DType(), z.Device(), s...)
	}
	if g.Rank > 0 {
		parts = append(parts, zeros(int64(g.Rank)*b))
	}
	parts = append(parts, z)
	if rest := int64(g.World-g.Rank-1) * b; rest > 0 {
		parts = append(parts, zeros(rest))
	}
	return g.AllReduceSumGrad(torch.Cat(parts, 0))
}

// AllReduceGrads averages the gradients of params over the ranks in one bucket (one flat tensor, one
// collective), as DDP does: with the global batch assembled by GatherWithGrad, the average is the exact
// gradient of the global-batch loss.
func AllReduceGrads(g *torch.ProcessGroup, params []*torch.Tensor) error {
	var grads []*torch.Tensor
	for _, p := range params {
		if gr := p.Grad(); gr != nil {
			grads = append(grads, gr)
		}
	}
	if len(grads) == 0 {
		return nil
	}
	flat := make([]*torch.Tensor, len(grads))
	for i, gr := range grads {
		flat[i] = gr.Reshape(-1)
	}
	bucket := torch.Cat(flat, 0)
	if err := g.AllReduceSum(bucket); err != nil {
		return err
	}
	bucket.DivScalar_(float64(g.World))
	off := int64(0)
	for _, gr := range grads {
		n := gr.Numel()
		gr.Copy_(bucket.Narrow(0, off, n).Reshape(gr.Shape()...))
		off += n
	}
	return nil
}

// GradSync averages the parameter gradients over the ranks once per step, after the backward pass; String
// says how, with what it has counted.
type GradSync interface {
	AfterBackward() error
	Close()
	String() string
}

// NewGradSync returns the gradient averaging of a data-parallel step over params: with overlap, buckets of
// at most bucketBytes all-reduced from autograd hooks during the backward pass (torch.GradReducer, as DDP
// does); without, one flat all-reduce after it (AllReduceGrads). The averages are the same.
func NewGradSync(g *torch.ProcessGroup, params []*torch.Tensor, overlap bool, bucketBytes int64) (GradSync, error) {
	if !overlap {
		return afterBackward{g, params}, nil
	}
	r, err := g.NewGradReducer(params, bucketBytes)
	if err != nil {
		return nil, err
	}
	return overlapped{r}, nil
}

type afterBackward struct {
	g      *torch.ProcessGroup
	params []*torch.Tensor
}

func (a afterBackward) AfterBackward() error { return AllReduceGrads(a.g, a.params) }
func (afterBackward) Close()                 {}
func (afterBackward) String() string         { return "one all-reduce after each backward pass" }

type overlapped struct{ *torch.GradReducer }

func (o overlapped) AfterBackward() error { return o.Finish() }
func (o overlapped) String() string {
	s := o.Stats()
	return fmt.Sprintf("%d buckets; %d of %d bucket all-reduces launched during the backward pass", s.Buckets, s.Early, s.Launched)
}

// Broadcast copies rank root's tensors (the initial parameters) to every rank, in place.
func Broadcast(g *torch.ProcessGroup, ts []*torch.Tensor, root int) error {
	for _, t := range ts {
		if err := g.Broadcast(t, root); err != nil {
			return err
		}
	}
	return nil
}
