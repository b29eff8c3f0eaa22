package models

import (
	"testing"

	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/optim"
)

// TestCUDAResNetLiveTensorsFlat runs 50 bf16 channels_last ResNet-18 training steps on the GPU and checks that
// neither live handles nor allocated memory grow after warm-up.
func TestCUDAResNetLiveTensorsFlat(t *testing.T) {
	defer torch.LockThread()()
	if !torch.CUDAAvailable() {
		t.Skip("no CUDA device")
	}
	dev := torch.CUDA(0)
	torch.SetCudnnBenchmark(true)
	g := torch.NewGenerator(torch.CPU, 0)
	r := NewResNet18(ResNetConfig{InChannels: 3, Width: 64, NumClasses: 10}, g)
	r.Store.To(dev)
	r.Store.ChannelsLast()
	o := optim.NewSGD(r.Store.Params(), 0.01, 0.9, 1e-4, false)
	gd := torch.NewGenerator(dev, 1)
	var live int64
	var mem torch.MemoryStats
	for step := range 50 {
		torch.WithScope(func() {
			x := torch.Randn(gd, torch.Float32, dev, 32, 3, 64, 64).ChannelsLast()
			y := torch.RandInt(gd, 0, 10, dev, 32)
			var loss *torch.Tensor
			torch.Autocast(dev, torch.BFloat16, func() {
				loss = torch.CrossEntropy(r.Forward(x, true), y, torch.ReduceMean, 0)
			})
			o.ZeroGrad()
			loss.Backward()
			o.Step()
		})
		if step == 5 {
			torch.Synchronize(dev)
			live = torch.LiveTensors()
			mem, _ = torch.CUDAMemory(dev)
		}
	}
	torch.Synchronize(dev)
	if torch.LiveTensors() != live {
		t.Fatalf("live tensors %d after 50 steps, %d after warm-up", torch.LiveTensors(), live)
	}
	if m, err := torch.CUDAMemory(dev); err == nil && m.Allocated > mem.Allocated {
		t.Fatalf("allocated GPU memory grew from %d to %d bytes", mem.Allocated, m.Allocated)
	}
}
