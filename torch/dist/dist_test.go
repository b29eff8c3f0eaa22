package dist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/nn"
	"github.com/semcom/semcom/train/loss"
)

func TestFromEnv(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want Launch
		ok   bool
		err  string
	}{
		{"single process", map[string]string{}, Launch{World: 1}, false, ""},
		{"torchrun", map[string]string{"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "MASTER_ADDR": "node0", "MASTER_PORT": "1234"},
			Launch{Rank: 3, World: 4, LocalRank: 1, MasterAddr: "node0", MasterPort: 1234, Source: "torchrun"}, true, ""},
		{"kubernetes", map[string]string{"JOB_COMPLETION_INDEX": "2", "WORLD_SIZE": "3", "MASTER_ADDR": "job-0.svc"},
			Launch{Rank: 2, World: 3, MasterAddr: "job-0.svc", MasterPort: DefaultPort, Source: "kubernetes"}, true, ""},
		{"slurm", map[string]string{"SLURM_PROCID": "1", "SLURM_NTASKS": "2", "SLURM_LOCALID": "1", "MASTER_ADDR": "gpu03"},
			Launch{Rank: 1, World: 2, LocalRank: 1, MasterAddr: "gpu03", MasterPort: DefaultPort, Source: "slurm"}, true, ""},
		{"one rank", map[string]string{"RANK": "0", "WORLD_SIZE": "1"}, Launch{World: 1, MasterAddr: "127.0.0.1", MasterPort: DefaultPort, Source: "torchrun"}, false, ""},
		{"bad rank", map[string]string{"RANK": "4", "WORLD_SIZE": "4"}, Launch{}, false, "rank 4 of world size 4"},
		{"bad port", map[string]string{"RANK": "0", "WORLD_SIZE": "2", "MASTER_PORT": "99999"}, Launch{}, false, "MASTER_PORT"},
		{"not a number", map[string]string{"RANK": "x", "WORLD_SIZE": "2"}, Launch{}, false, `RANK="x"`},
	}
	for _, c := range cases {
		l, ok, err := FromEnv(func(k string) string { return c.env[k] })
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want an error with %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || ok != c.ok || l != c.want {
			t.Errorf("%s: %+v ok=%v err=%v, want %+v ok=%v", c.name, l, ok, err, c.want, c.ok)
		}
	}
}

const globalBatch, inDim, outDim = 12, 8, 6

// encoderGradsBN runs one Stage-I step of a linear encoder on rows [lo, hi) of a seeded global batch: two
// views, the features assembled into the global batch by gather (identity in a single process), Barlow
// Twins + NT-Xent (whole-batch losses), backward, then reduce (the gradient all-reduce; nothing in a single
// process). It returns the gradients, flattened in parameter order.
// With bn a BatchNorm follows the linear layer (synchronised when sync is given); its running statistics
// follow the gradients in the result.
func encoderGradsBN(initSeed uint64, lo, hi int64, prepare func([]*torch.Tensor), gather func(*torch.Tensor) *torch.Tensor,
	reduce func([]*torch.Tensor), bn bool, sync func(*torch.Tensor) *torch.Tensor) []float32 {
	store := nn.NewStore()
	lin := nn.NewLinear(store.Root().Sub("0"), torch.NewGenerator(torch.CPU, initSeed), inDim, outDim, true)
	var norm *nn.BatchNorm
	if bn {
		norm = nn.NewBatchNorm(store.Root().Sub("1"), outDim)
		norm.Sync = sync
	}
	prepare(store.Params())
	x := torch.Normal(torch.NewGenerator(torch.CPU, 2), 0, 1, torch.Float32, torch.CPU, globalBatch, inDim).Narrow(0, lo, hi-lo)
	encode := func(x *torch.Tensor) *torch.Tensor {
		z := lin.Forward(x, true)
		if bn {
			z = norm.Forward(z, true)
		}
		return gather(z)
	}
	z1, z2 := encode(x), encode(x.MulScalar(0.8).AddScalar(0.1))
	loss.BarlowTwins(z1, z2, 0.0051, loss.Pearson).Add(loss.NTXent(z1, z2, 0.5)).Backward()
	reduce(store.Params())
	var out []float32
	for _, p := range store.Params() {
		out = append(out, p.Grad().Contiguous().Float32s()...)
	}
	if bn {
		out = append(out, norm.RunningMean.Float32s()...)
		out = append(out, norm.RunningVar.Float32s()...)
	}
	return out
}

// singleProcessGrads is the reference: the same step on the whole global batch in one process.
func singleProcessGrads(bn bool) []float32 {
	defer torch.LockThread()()
	id := func(z *torch.Tensor) *torch.Tensor { return z }
	return encoderGradsBN(10, 0, globalBatch, func([]*torch.Tensor) {}, id, func([]*torch.Tensor) {}, bn, nil)
}

// rankMain is one rank of TestGlobalBatchGradient, in a child process: DIST_MODE picks the exact recipe or
// one of the known bugs: "constant" gathers the other ranks' features as constants (the gradient comes out
// scaled by 1/world size), "nograd" gathers without any gradient, "sum" sums instead of averaging.
func rankMain() {
	rank, _ := strconv.Atoi(os.Getenv("DIST_RANK"))
	world, _ := strconv.Atoi(os.Getenv("DIST_WORLD"))
	port, _ := strconv.Atoi(os.Getenv("DIST_PORT"))
	mode := os.Getenv("DIST_MODE")
	defer torch.LockThread()()
	g, err := Join(Launch{Rank: rank, World: world, MasterAddr: "127.0.0.1", MasterPort: port}, 10*time.Second)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	defer g.Close()
	b := int64(globalBatch / world)
	must := func(err error) {
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
	}
	gather := func(z *torch.Tensor) *torch.Tensor {
		switch mode {
		case "constant", "nograd":
			all, err := g.AllGather(z.Detach())
			must(err)
			if mode == "nograd" {
				return all.Add(z.Sub(z.Detach()).Sum().MulScalar(0)) // keeps a graph, carries no gradient
			}
			var parts []*torch.Tensor
			if rank > 0 {
				parts = append(parts, all.Narrow(0, 0, int64(rank)*b))
			}
			parts = append(parts, z)
			if rest := int64(world-rank-1) * b; rest > 0 {
				parts = append(parts, all.Narrow(0, int64(rank+1)*b, rest))
			}
			return torch.Cat(parts, 0)
		}
		all, err := GatherWithGrad(g, z)
		must(err)
		return all
	}
	var sync func(*torch.Tensor) *torch.Tensor
	if mode == "syncbn" {
		sync = func(t *torch.Tensor) *torch.Tensor {
			s, err := g.AllReduceSumGrad(t)
			must(err)
			return s
		}
	}
	if mode == "reducer" {
		reducerMain(g, must)
		return
	}
	bn := mode == "syncbn" || mode == "localbn"
	var overlap GradSync
	grads := encoderGradsBN(uint64(10+rank), int64(rank)*b, int64(rank+1)*b,
		func(ps []*torch.Tensor) {
			must(Broadcast(g, ps, 0)) // ranks start from rank 0's initialisation
			if mode == "overlap" {
				var err error
				overlap, err = NewGradSync(g, ps, true, 16) // a bucket per parameter
				must(err)
			}
		},
		gather,
		func(ps []*torch.Tensor) {
			if overlap != nil {
				must(overlap.AfterBackward())
				overlap.Close()
				return
			}
			must(AllReduceGrads(g, ps))
			if mode == "sum" {
				for _, p := range ps {
					p.Grad().MulScalar_(float64(world))
				}
			}
		}, bn, sync)
	js, _ := json.Marshal(grads)
	fmt.Println("GRADS", string(js))
}

// reducerReport is what a rank of TestGradReducer observed.
type reducerReport struct {
	Buckets      int
	Early        []int64   // buckets launched from hooks, per step
	MaxDiff      []float64 // largest |overlapped − flat all-reduce| over all gradients, per step
	UnusedNoGrad bool      // the unused layer still has no gradient
	Twice        string    // Finish's error after two backward passes without one
	AfterFailure float64   // MaxDiff of a step after that failure
}

// reducerMain is one rank of TestGradReducer: three linear layers, the first unused, a bucket per
// parameter; each step's overlapped gradients are compared with the flat all-reduce of a twin model (the
// same initialisation, no hooks) on the same batch.
func reducerMain(g *torch.ProcessGroup, must func(error)) {
	x := torch.Normal(torch.NewGenerator(torch.CPU, uint64(20+g.Rank)), 0, 1, torch.Float32, torch.CPU, 5, inDim)
	model := func() (ps []*torch.Tensor, backward func(scale float64)) {
		store := nn.NewStore()
		gen := torch.NewGenerator(torch.CPU, 3)
		nn.NewLinear(store.Root().Sub("0"), gen, inDim, outDim, true) // unused
		lin1 := nn.NewLinear(store.Root().Sub("1"), gen, inDim, outDim, true)
		lin2 := nn.NewLinear(store.Root().Sub("2"), gen, outDim, outDim, true)
		ps = store.Params()
		return ps, func(scale float64) {
			torch.ZeroGrad(ps)
			lin2.Forward(lin1.Forward(x, true).Relu(), true).Square().Sum().MulScalar(scale).Backward()
		}
	}
	ps, backward := model()
	twin, twinBackward := model()
	r, err := g.NewGradReducer(ps, 100)
	must(err)
	grads := func(ps []*torch.Tensor) []float32 {
		var out []float32
		for _, p := range ps {
			if gr := p.Grad(); gr != nil {
				out = append(out, gr.Contiguous().Float32s()...)
			}
		}
		return out
	}
	step := func(scale float64) float64 {
		backward(scale)
		must(r.Finish())
		twinBackward(scale)
		must(AllReduceGrads(g, twin))
		a, b := grads(ps), grads(twin)
		if len(a) != len(b) {
			return math.Inf(1)
		}
		d := 0.0
		for i := range a {
			d = math.Max(d, math.Abs(float64(a[i]-b[i])))
		}
		return d
	}
	var rep reducerReport
	for s := 1; s <= 2; s++ {
		before := r.Stats().Early
		rep.MaxDiff = append(rep.MaxDiff, step(float64(s)))
		rep.Early = append(rep.Early, r.Stats().Early-before)
	}
	rep.UnusedNoGrad = ps[0].Grad() == nil && ps[1].Grad() == nil
	backward(1)
	backward(1)
	if err := r.Finish(); err != nil {
		rep.Twice = err.Error()
	}
	rep.AfterFailure = step(3)
	rep.Buckets = r.Stats().Buckets
	r.Close()
	backward(1) // the hooks are gone: nothing fires into the freed reducer
	must(AllReduceGrads(g, ps))
	js, _ := json.Marshal(rep)
	fmt.Println("REDUCER", string(js))
}

// TestMain makes the test binary a rank of TestGlobalBatchGradient when run as its child process.
func TestMain(m *testing.M) {
	if os.Getenv("DIST_LONELY") != "" { // join a group that never forms, within a 1 s timeout
		defer torch.LockThread()()
		port, _ := strconv.Atoi(os.Getenv("DIST_PORT"))
		rank, _ := strconv.Atoi(os.Getenv("DIST_LONELY"))
		_, err := Join(Launch{Rank: rank, World: 2, MasterAddr: "127.0.0.1", MasterPort: port}, time.Second)
		fmt.Println("JOIN", err)
		os.Exit(1)
	}
	if os.Getenv("DIST_RANK") != "" {
		rankMain()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestLonelyRankGivesUp: rank 0 whose peer never starts, and rank 1 whose master port is held by a listener
// that never answers, give up with an error (exit 1) within the timeout plus JoinMargin — c10d alone takes
// about twice the timeout for the first and blocks without bound on the second.
func TestLonelyRankGivesUp(t *testing.T) {
	if len(torch.DistBackends()) == 0 {
		t.Skip("no distributed backend in this shim")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0") // accepts connections (the kernel's backlog), never answers
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, c := range []struct{ rank, port int }{{0, freePort(t)}, {1, l.Addr().(*net.TCPAddr).Port}} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "DIST_LONELY="+strconv.Itoa(c.rank), "DIST_PORT="+strconv.Itoa(c.port))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Killed (-1, not 1) if it hangs: 20 s is far past 1 s + JoinMargin, even on a loaded machine.
		timer := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
		err := cmd.Wait()
		timer.Stop()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("rank %d alone: %v (want exit 1)\n%s", c.rank, err, out.String())
		}
		if s := out.String(); !strings.Contains(s, "no process group formed") && !strings.Contains(s, "JOIN ") {
			t.Fatalf("rank %d alone: no error printed\n%s", c.rank, s)
		}
	}
}

func freePort(t *testing.T) int {
	port, err := FreeLocalPort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// ranks runs world ranks in mode and returns each rank's gradients.
func ranks(t *testing.T, world int, mode string) [][]float32 {
	return rankOutputs[[]float32](t, world, mode, "GRADS ")
}

// rankOutputs runs world ranks in mode and decodes the JSON each prints after prefix.
func rankOutputs[T any](t *testing.T, world int, mode, prefix string) []T {
	port := freePort(t)
	outs := make([]T, world)
	found := make([]bool, world)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failure string
	for r := range world {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "DIST_RANK="+strconv.Itoa(r), "DIST_WORLD="+strconv.Itoa(world), "DIST_PORT="+strconv.Itoa(port), "DIST_MODE="+mode)
			b, _ := cmd.CombinedOutput()
			for _, line := range strings.Split(string(b), "\n") {
				if js, ok := strings.CutPrefix(line, prefix); ok {
					found[r] = json.Unmarshal([]byte(js), &outs[r]) == nil
				}
			}
			if !found[r] {
				mu.Lock()
				failure = fmt.Sprintf("rank %d:\n%s", r, b)
				mu.Unlock()
			}
		}(r)
	}
	wg.Wait()
	if failure != "" {
		t.Fatal(failure)
	}
	return outs
}

func maxRelDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	num, den := 0.0, 0.0
	for i := range a {
		num = math.Max(num, math.Abs(float64(a[i]-b[i])))
		den = math.Max(den, math.Abs(float64(b[i])))
	}
	return num / den
}

// TestGlobalBatchGradient: 2 and 3 ranks, each encoding its shard of one global batch, give the gradient of
// the single-process step on the whole batch (within 1e-5 relative) — and the known bugs do not, so the
// comparison can fail.
func TestGlobalBatchGradient(t *testing.T) {
	if len(torch.DistBackends()) == 0 {
		t.Skip("this shim has no distributed backend (Gloo headers were missing at build: 'make' installs libgloo-dev)")
	}
	single := singleProcessGrads(false)
	for _, world := range []int{2, 3} {
		for r, g := range ranks(t, world, "exact") {
			if d := maxRelDiff(g, single); d > 1e-5 {
				t.Fatalf("world %d, rank %d: gradient differs from the single process by %.2g (relative)", world, r, d)
			}
		}
		for r, g := range ranks(t, world, "overlap") {
			if d := maxRelDiff(g, single); d > 1e-5 {
				t.Fatalf("world %d, rank %d: the overlapped all-reduce differs from the single process by %.2g (relative)", world, r, d)
			}
		}
		for _, bug := range []string{"constant", "nograd", "sum"} {
			if d := maxRelDiff(ranks(t, world, bug)[0], single); d < 1e-2 {
				t.Fatalf("world %d: the %q bug gives the single-process gradient (%.2g): the test cannot fail", world, bug, d)
			}
		}
	}
}

// TestSyncBatchNorm: with synchronised BatchNorm, 2 and 3 ranks give the single-process gradient and running
// statistics of BatchNorm over the global batch; with local BatchNorm they do not (each rank normalises its
// shard), so the test can fail.
func TestSyncBatchNorm(t *testing.T) {
	if len(torch.DistBackends()) == 0 {
		t.Skip("this shim has no distributed backend (Gloo headers were missing at build: 'make' installs libgloo-dev)")
	}
	single := singleProcessGrads(true)
	for _, world := range []int{2, 3} {
		for r, g := range ranks(t, world, "syncbn") {
			if d := maxRelDiff(g, single); d > 1e-5 {
				t.Fatalf("world %d, rank %d: synchronised BN differs from the single process by %.2g (relative)", world, r, d)
			}
		}
		if d := maxRelDiff(ranks(t, world, "localbn")[0], single); d < 1e-3 {
			t.Fatalf("world %d: local BN gives the global-batch result (%.2g): the test cannot fail", world, d)
		}
	}
}

// TestGradReducer: the gradient all-reduce overlapped with the backward pass (a bucket per parameter here)
// launches every bucket of the used layers from the autograd hooks, leaves the unused layer's bucket to
// Finish, gives exactly the flat all-reduce's averages on 2 ranks, step after step, reports a backward pass
// left without Finish, and recovers from it.
func TestGradReducer(t *testing.T) {
	if len(torch.DistBackends()) == 0 {
		t.Skip("this shim has no distributed backend (Gloo headers were missing at build: 'make' installs libgloo-dev)")
	}
	for r, rep := range rankOutputs[reducerReport](t, 2, "reducer", "REDUCER ") {
		if rep.Buckets != 6 {
			t.Errorf("rank %d: %d buckets, want 6 (100-byte buckets over 6 parameters of 24 to 192 bytes)", r, rep.Buckets)
		}
		for s, e := range rep.Early {
			if e != 4 {
				t.Errorf("rank %d, step %d: %d buckets launched during the backward, want the 4 of the used layers", r, s+1, e)
			}
		}
		for s, d := range append(rep.MaxDiff, rep.AfterFailure) {
			if d != 0 {
				t.Errorf("rank %d, step %d: overlapped gradients differ from the flat all-reduce by %g", r, s+1, d)
			}
		}
		if !rep.UnusedNoGrad {
			t.Errorf("rank %d: the unused layer got a gradient", r)
		}
		if !strings.Contains(rep.Twice, "arrived twice") {
			t.Errorf("rank %d: two backward passes without Finish gave %q, want an error saying a gradient arrived twice", r, rep.Twice)
		}
	}
}
