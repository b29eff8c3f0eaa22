package models

import (
	"fmt"
	"testing"

	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/optim"
)

// BenchmarkTrainStep times one ResNet-18 training step (forward, cross-entropy on a 10-class fc, backward,
// SGD with momentum) on the CPU; bench/torch_step.py times the same step in PyTorch on the same libtorch.
func BenchmarkTrainStep(b *testing.B) {
	for _, c := range []struct{ size, width, batch int64 }{{32, 16, 64}, {64, 64, 16}} {
		b.Run(fmt.Sprintf("%dpx-w%d-b%d", c.size, c.width, c.batch), func(b *testing.B) {
			// testing runs each round in a new goroutine: torch.Run keeps all rounds on one OS thread, as in
			// semcom itself and in a Python process, so that one OpenMP pool does the work.
			torch.Run(func() { timeTrainStep(b, c.size, c.width, c.batch) })
		})
	}
}

func timeTrainStep(b *testing.B, size, width, batch int64) {
	dev := torch.CPU
	if torch.CUDAAvailable() {
		dev = torch.CUDA(0)
	}
	g := torch.NewGenerator(torch.CPU, 0)
	r := NewResNet18(ResNetConfig{InChannels: 3, Width: width, NumClasses: 10}, g)
	r.Store.To(dev)
	o := optim.NewSGD(r.Store.Params(), 0.01, 0.9, 1e-4, false)
	x := torch.Randn(g, torch.Float32, torch.CPU, batch, 3, size, size).ToDevice(dev).Keep()
	y := torch.RandInt(g, 0, 10, torch.CPU, batch).ToDevice(dev).Keep()
	defer x.Free()
	defer y.Free()
	step := func() {
		torch.WithScope(func() {
			loss := torch.CrossEntropy(r.Forward(x, true), y, torch.ReduceMean, 0)
			o.ZeroGrad()
			loss.Backward()
			o.Step()
		})
	}
	step() // warm-up
	torch.Synchronize(dev)
	b.ResetTimer()
	for range b.N {
		step()
	}
	torch.Synchronize(dev)
	b.ReportMetric(float64(batch)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}
