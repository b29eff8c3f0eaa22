package nn

import (
	"math"

	"github.com/semcom/semcom/torch"
)

// Module is anything with a forward pass; train selects training behaviour (batch statistics, dropout).
type Module interface {
	Forward(x *torch.Tensor, train bool) *torch.Tensor
}

// Conv2d is a 2-d convolution with weight (out, in, k, k) and an optional bias.
type Conv2d struct {
	Weight, Bias *torch.Tensor
	Opts         torch.Conv2dOpts
}

// NewConv2d registers "weight" (and "bias") under p with PyTorch's default initialisation
// (kaiming-uniform with a=√5, i.e. U(±1/√fan_in)).
func NewConv2d(p Path, g *torch.Generator, in, out, kernel, stride, padding int64, bias bool) *Conv2d {
	fanIn := float64(in * kernel * kernel)
	bound := 1 / math.Sqrt(fanIn)
	c := &Conv2d{Opts: torch.Conv2dOpts{Stride: [2]int64{stride, stride}, Padding: [2]int64{padding, padding}}}
	c.Weight = p.Param("weight", torch.Uniform(g, -bound, bound, torch.Float32, torch.CPU, out, in, kernel, kernel))
	if bias {
		c.Bias = p.Param("bias", torch.Uniform(g, -bound, bound, torch.Float32, torch.CPU, out))
	}
	return c
}

// Forward convolves x.
func (c *Conv2d) Forward(x *torch.Tensor, _ bool) *torch.Tensor {
	return torch.Conv2d(x, c.Weight, c.Bias, c.Opts)
}

// BatchNorm normalises per channel (dim 1) of (N,C) or (N,C,H,W) inputs, as torch.nn.BatchNorm1d/2d.
type BatchNorm struct {
	Weight, Bias, RunningMean, RunningVar, NumBatchesTracked *torch.Tensor
	Momentum, Eps                                            float64
	// Sync, when set, synchronises the training statistics across data-parallel ranks (SyncBatchNorm): it
	// must return the sum over the ranks of its argument, differentiably (torch.ProcessGroup's
	// AllReduceSumGrad), so that every rank normalises with the statistics of the global batch and the
	// gradient flows back through them to every rank. nil: statistics of the local batch.
	Sync func(*torch.Tensor) *torch.Tensor
	// Ghost, when above 1, normalises each of Ghost equal chunks of a training batch with its own
	// statistics and updates the running statistics from the first chunk only: one process computing what
	// Ghost data-parallel ranks with local BatchNorm compute (rank 0's statistics kept).
	Ghost int
}

// NewBatchNorm registers weight=1, bias=0, running_mean=0, running_var=1 and num_batches_tracked=0 under p.
func NewBatchNorm(p Path, channels int64) *BatchNorm {
	return &BatchNorm{
		Weight:            p.Param("weight", torch.Ones(torch.Float32, torch.CPU, channels)),
		Bias:              p.Param("bias", torch.Zeros(torch.Float32, torch.CPU, channels)),
		RunningMean:       p.Buffer("running_mean", torch.Zeros(torch.Float32, torch.CPU, channels)),
		RunningVar:        p.Buffer("running_var", torch.Ones(torch.Float32, torch.CPU, channels)),
		NumBatchesTracked: p.Buffer("num_batches_tracked", torch.Zeros(torch.Int64, torch.CPU)),
		Momentum:          0.1,
		Eps:               1e-5,
	}
}

// Forward normalises x with batch statistics (updating the running ones) when train, else with the
// running statistics.
func (b *BatchNorm) Forward(x *torch.Tensor, train bool) *torch.Tensor {
	if train {
		b.NumBatchesTracked.AddScalar_(1)
	}
	if train && b.Sync != nil {
		return b.syncForward(x)
	}
	if train && b.Ghost > 1 {
		return b.ghostForward(x)
	}
	return torch.BatchNorm(x, b.Weight, b.Bias, b.RunningMean, b.RunningVar, train, b.Momentum, b.Eps)
}

// ghostForward normalises each chunk with its own statistics; only the first updates the running ones.
func (b *BatchNorm) ghostForward(x *torch.Tensor) *torch.Tensor {
	n := x.Size(0) / int64(b.Ghost)
	parts := make([]*torch.Tensor, b.Ghost)
	for i := range parts {
		rm, rv := b.RunningMean, b.RunningVar
		if i > 0 { // the other ranks' running statistics, not kept
			rm, rv = rm.Detach().Clone(), rv.Detach().Clone()
		}
		parts[i] = torch.BatchNorm(x.Narrow(0, int64(i)*n, n), b.Weight, b.Bias, rm, rv, true, b.Momentum, b.Eps)
	}
	return torch.Cat(parts, 0)
}

// syncForward normalises with the global batch's statistics: the per-channel sums of x and x² and the
// sample count, summed over the ranks in one collective; the running statistics take the unbiased variance,
// as torch.nn.SyncBatchNorm does.
func (b *BatchNorm) syncForward(x *torch.Tensor) *torch.Tensor {
	dims := []int{0}
	for d := 2; d < x.Dim(); d++ {
		dims = append(dims, d)
	}
	c := x.Size(1)
	count := torch.Full(float64(x.Numel()/c), x.DType(), x.Device(), 1)
	stats := b.Sync(torch.Cat([]*torch.Tensor{x.Sum(dims...), x.Square().Sum(dims...), count}, 0))
	n := stats.Narrow(0, 2*c, 1)
	mean := stats.Narrow(0, 0, c).Div(n)
	variance := stats.Narrow(0, c, c).Div(n).Sub(mean.Square())
	shape := make([]int64, x.Dim())
	for i := range shape {
		shape[i] = 1
	}
	shape[1] = c
	y := x.Sub(mean.Reshape(shape...)).Mul(variance.AddScalar(b.Eps).Rsqrt().Reshape(shape...))
	y = y.Mul(b.Weight.Reshape(shape...)).Add(b.Bias.Reshape(shape...))
	torch.NoGrad(func() { // on the device, without reading n back to the host
		unbiased := variance.Detach().Mul(n.Div(n.AddScalar(-1).Clamp(1, math.MaxFloat32)))
		b.RunningMean.MulScalar_(1 - b.Momentum).Add_(mean.Detach().MulScalar(b.Momentum))
		b.RunningVar.MulScalar_(1 - b.Momentum).Add_(unbiased.MulScalar(b.Momentum))
	})
	return y
}

// Linear is y = x·Wᵀ + b.
type Linear struct{ Weight, Bias *torch.Tensor }

// NewLinear registers "weight" (out, in) and optionally "bias" under p with PyTorch's default
// initialisation U(±1/√in).
func NewLinear(p Path, g *torch.Generator, in, out int64, bias bool) *Linear {
	bound := 1 / math.Sqrt(float64(in))
	l := &Linear{Weight: p.Param("weight", torch.Uniform(g, -bound, bound, torch.Float32, torch.CPU, out, in))}
	if bias {
		l.Bias = p.Param("bias", torch.Uniform(g, -bound, bound, torch.Float32, torch.CPU, out))
	}
	return l
}

// Forward applies the affine map.
func (l *Linear) Forward(x *torch.Tensor, _ bool) *torch.Tensor {
	return torch.Linear(x, l.Weight, l.Bias)
}

// KaimingNormalFanOut re-initialises a conv weight from N(0, 2/fan_out), as torchvision's ResNet does.
func KaimingNormalFanOut(w *torch.Tensor, g *torch.Generator) {
	s := w.Shape()
	fanOut := s[0]
	for _, k := range s[2:] {
		fanOut *= k
	}
	w.Normal_(g, 0, math.Sqrt(2/float64(fanOut)))
}
