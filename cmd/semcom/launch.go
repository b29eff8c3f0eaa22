package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/semcom/semcom/config"
	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/dist"
)

// joinGroup makes this process a rank of a data-parallel job when a launcher's environment says so (nil
// otherwise), and checks that every rank resolved the same config and that the batches split evenly.
func joinGroup(exp *config.Experiment, timeout time.Duration) (*torch.ProcessGroup, error) {
	l, ok, err := dist.FromEnv(os.Getenv)
	if err != nil {
		return nil, invalid(err)
	}
	if !ok {
		return nil, nil
	}
	for key, b := range map[string]int{"pretrain.batch": exp.Pretrain.Batch, "finetune.batch": exp.Finetune.Batch} {
		if b%l.World != 0 {
			return nil, invalid(fmt.Errorf("%s = %d: the global batch must split evenly over the %d ranks", key, b, l.World))
		}
	}
	dev, err := device(exp)
	if err != nil {
		return nil, err
	}
	dev = rankDevice(dev)
	backend := dist.Backend(dev)
	if dev.IsCUDA() && backend == "gloo" {
		logrus.Warn("this shim has no NCCL: the ranks' CUDA tensors go through Gloo (slower; rebuild the shim against a CUDA libtorch with NCCL)")
	}
	g, err := dist.JoinOn(backend, l, timeout)
	if err != nil {
		return nil, err
	}
	// The config hash of rank 0 against this rank's: ranks that trained different experiments would mix them.
	hash := []byte(exp.Hash())
	mine := make([]uint8, len(hash))
	copy(mine, hash)
	t := torch.FromSlice(mine)
	if backend == "nccl" { // NCCL moves device tensors only
		t = t.ToDevice(dev)
	}
	if err := g.Broadcast(t, 0); err != nil {
		g.Close()
		return nil, err
	}
	if got := t.ToDevice(torch.CPU).Bytes(); !bytes.Equal(got, hash) {
		g.Close()
		return nil, invalid(fmt.Errorf("rank %d resolved another config than rank 0 (hash %.12s vs %.12s): every rank must run the same experiment",
			l.Rank, hash, got))
	}
	logrus.Infof("rank %d of %d (%s), master %s:%d", l.Rank, l.World, l.Source, l.MasterAddr, l.MasterPort)
	return g, nil
}

// rankDevice gives each local rank its own GPU where the launcher left several visible (torchrun): device
// cuda:0 (or auto) becomes cuda:<local rank>. Launchers that hand each rank one GPU (srun --gpus-per-task,
// one pod per GPU, --nproc-per-node) leave one visible, which stays cuda:0.
func rankDevice(dev torch.Device) torch.Device {
	l, ok, err := dist.FromEnv(os.Getenv)
	if !ok || err != nil || !dev.IsCUDA() || dev != torch.CUDA(0) {
		return dev
	}
	if n := torch.CUDADeviceCount(); n > 1 {
		return torch.CUDA(l.LocalRank % n)
	}
	return dev
}

// launchLocal runs this command as n local ranks (torchrun's environment, a free port on 127.0.0.1) and
// waits for them: when one fails the others are stopped, and the first failure's exit code is returned.
func launchLocal(n int, args []string) error {
	port, err := dist.FreeLocalPort()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	launch := dist.Launch{World: n, MasterAddr: "127.0.0.1", MasterPort: port}
	cmds := make([]*exec.Cmd, n)
	for r := range n {
		a := args
		if r > 0 {
			a = append(append([]string(nil), args...), "--log-level", "warn") // one rank's logs are enough
		}
		c := exec.Command(self, a...)
		c.Env = append(os.Environ(), launch.Env(r)...)
		if os.Getenv("OMP_NUM_THREADS") == "" { // the cores split between the ranks (each GPU rank needs few)
			c.Env = append(c.Env, "OMP_NUM_THREADS="+strconv.Itoa(max(1, runtime.NumCPU()/n)), "OMP_WAIT_POLICY=passive")
		}
		if os.Getenv("CUDA_VISIBLE_DEVICES") == "" && torch.CUDADeviceCount() >= n { // one GPU per rank
			c.Env = append(c.Env, "CUDA_VISIBLE_DEVICES="+strconv.Itoa(r))
		}
		c.Stderr = os.Stderr
		if r == 0 {
			c.Stdout = os.Stdout
		}
		if err := c.Start(); err != nil {
			return fmt.Errorf("rank %d: %w", r, err)
		}
		cmds[r] = c
	}
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for r, c := range cmds {
		wg.Add(1)
		go func(r int, c *exec.Cmd) {
			defer wg.Done()
			if err := c.Wait(); err != nil {
				once.Do(func() {
					first = &exitError{code: max(c.ProcessState.ExitCode(), 1)}
					logrus.Errorf("rank %d ended with %v: stopping the other ranks", r, err)
					for _, o := range cmds {
						if o != c && o.Process != nil {
							o.Process.Signal(os.Interrupt)
						}
					}
				})
			}
		}(r, c)
	}
	wg.Wait()
	return first
}

// withoutFlag drops a flag and its value from an argument list ("--nproc-per-node 2" or "--nproc-per-node=2").
func withoutFlag(args []string, name string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == name {
			i++
			continue
		}
		if strings.HasPrefix(args[i], name+"=") {
			continue
		}
		out = append(out, args[i])
	}
	return out
}
