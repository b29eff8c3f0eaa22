// Package models holds semcom's networks: the ResNet-18 encoder (torchvision's resnet18, same names, shapes
// and initialisation, with configurable input channels and width) and the MLP heads used as projectors and
// as the server decoder.
package models

import (
	"fmt"
	"strings"

	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/nn"
	"github.com/semcom/semcom/torch/safetensors"
)

// ResNetConfig sizes a ResNet-18.
type ResNetConfig struct {
	InChannels int64 // 3 for RGB or HHA, 1 for depth
	Width      int64 // channels of the first stage: 64 as torchvision; narrower for CPU tests
	NumClasses int64 // 0: no fc layer (an encoder ending at the pooled features)
	// ZeroInitResidual zero-initialises the last BN of each block, so every block starts as the identity.
	ZeroInitResidual bool
}

type basicBlock struct {
	conv1, conv2 *nn.Conv2d
	bn1, bn2     *nn.BatchNorm
	downConv     *nn.Conv2d
	downBN       *nn.BatchNorm
}

func newBlock(p nn.Path, g *torch.Generator, in, out, stride int64) *basicBlock {
	b := &basicBlock{
		conv1: nn.NewConv2d(p.Sub("conv1"), g, in, out, 3, stride, 1, false),
		bn1:   nn.NewBatchNorm(p.Sub("bn1"), out),
		conv2: nn.NewConv2d(p.Sub("conv2"), g, out, out, 3, 1, 1, false),
		bn2:   nn.NewBatchNorm(p.Sub("bn2"), out),
	}
	if stride != 1 || in != out {
		b.downConv = nn.NewConv2d(p.Sub("downsample").Sub("0"), g, in, out, 1, stride, 0, false)
		b.downBN = nn.NewBatchNorm(p.Sub("downsample").Sub("1"), out)
	}
	return b
}

func (b *basicBlock) forward(x *torch.Tensor, train bool) *torch.Tensor {
	y := b.bn1.Forward(b.conv1.Forward(x, train), train).Relu_()
	y = b.bn2.Forward(b.conv2.Forward(y, train), train)
	id := x
	if b.downConv != nil {
		id = b.downBN.Forward(b.downConv.Forward(x, train), train)
	}
	return y.Add_(id).Relu_()
}

// ResNet18 is torchvision's resnet18 written over nn layers.
type ResNet18 struct {
	Config ResNetConfig
	Store  *nn.Store
	conv1  *nn.Conv2d
	bn1    *nn.BatchNorm
	blocks []*basicBlock
	fc     *nn.Linear
}

// NewResNet18 builds the network with torchvision's initialisation (conv: kaiming-normal fan_out; BN: 1, 0;
// fc: PyTorch's Linear default) on the CPU, drawing from g.
func NewResNet18(cfg ResNetConfig, g *torch.Generator) *ResNet18 {
	if cfg.InChannels == 0 {
		cfg.InChannels = 3
	}
	if cfg.Width == 0 {
		cfg.Width = 64
	}
	s := nn.NewStore()
	root := s.Root()
	w := cfg.Width
	r := &ResNet18{Config: cfg, Store: s}
	r.conv1 = nn.NewConv2d(root.Sub("conv1"), g, cfg.InChannels, w, 7, 2, 3, false)
	r.bn1 = nn.NewBatchNorm(root.Sub("bn1"), w)
	in := w
	for stage, mult := range []int64{1, 2, 4, 8} {
		out := w * mult
		stride := int64(2)
		if stage == 0 {
			stride = 1
		}
		lp := root.Sub(fmt.Sprintf("layer%d", stage+1))
		r.blocks = append(r.blocks, newBlock(lp.Sub("0"), g, in, out, stride), newBlock(lp.Sub("1"), g, out, out, 1))
		in = out
	}
	if cfg.NumClasses > 0 {
		r.fc = nn.NewLinear(root.Sub("fc"), g, in, cfg.NumClasses, true)
	}
	for _, e := range s.Entries() {
		if e.Kind == nn.Param && e.Tensor.Dim() == 4 {
			nn.KaimingNormalFanOut(e.Tensor, g)
		}
	}
	if cfg.ZeroInitResidual {
		for _, b := range r.blocks {
			b.bn2.Weight.Zero_()
		}
	}
	return r
}

// FeatureDim is the size of the pooled feature vector (8 × width; 512 at width 64).
func (r *ResNet18) FeatureDim() int64 { return 8 * r.Config.Width }

// Forward maps images (N, C, H, W) to pooled features (N, 8·width), or to logits when the model has an fc.
func (r *ResNet18) Forward(x *torch.Tensor, train bool) *torch.Tensor {
	y := r.bn1.Forward(r.conv1.Forward(x, train), train).Relu_()
	y = torch.MaxPool2d(y, [2]int64{3, 3}, [2]int64{2, 2}, [2]int64{1, 1})
	for _, b := range r.blocks {
		y = b.forward(y, train)
	}
	y = torch.AdaptiveAvgPool2d(y, 1, 1).Flatten(1, -1)
	if r.fc != nil {
		y = r.fc.Forward(y, train)
	}
	return y
}

// BatchNorms lists the BatchNorm layers (to synchronise them across data-parallel ranks).
func (r *ResNet18) BatchNorms() []*nn.BatchNorm {
	out := []*nn.BatchNorm{r.bn1}
	for _, b := range r.blocks {
		out = append(out, b.bn1, b.bn2)
		if b.downBN != nil {
			out = append(out, b.downBN)
		}
	}
	return out
}

// NumBN counts the BatchNorm layers.
func (r *ResNet18) NumBN() int {
	n := 1
	for _, b := range r.blocks {
		n += 2
		if b.downBN != nil {
			n++
		}
	}
	return n
}

// LoadPretrained loads weights with torchvision names (e.g. ImageNet weights exported from
// torchvision.models.resnet18) from a safetensors file. When the model's input channels differ from the
// file's, conv1 is adapted: summed over RGB for one channel, else the RGB mean repeated and scaled by 3/C.
// An fc in the file is ignored unless the model has one of the same shape. It returns the names loaded.
func (r *ResNet18) LoadPretrained(path string) ([]string, error) {
	src, _, err := safetensors.Load(path)
	if err != nil {
		return nil, err
	}
	defer torch.FreeAll(src)
	var adaptErr error
	torch.WithScope(func() {
		adaptErr = torch.Catch(func() {
			w, ok := src["conv1.weight"]
			if !ok {
				return
			}
			in := r.Config.InChannels
			if got := w.Size(1); got != in {
				if got != 3 {
					panic(&torch.Error{Op: "LoadPretrained", Kind: torch.ErrValue,
						Msg: fmt.Sprintf("conv1.weight has %d input channels; only 3-channel weights can be adapted", got)})
				}
				var a *torch.Tensor
				if in == 1 {
					a = w.SumKeep(1)
				} else {
					a = w.MeanKeep(1).Repeat(1, in, 1, 1).MulScalar(3 / float64(in))
				}
				src["conv1.weight"] = a.Keep()
				w.Free()
			}
		})
	})
	if adaptErr != nil {
		return nil, fmt.Errorf("%s: %w", path, adaptErr)
	}
	if r.fc == nil || !sameShape(src["fc.weight"], r.fc.Weight) {
		for n, t := range src {
			if strings.HasPrefix(n, "fc.") {
				t.Free()
				delete(src, n)
			}
		}
	}
	loaded, err := r.Store.Load(src, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(loaded) == 0 {
		return nil, fmt.Errorf("%s: no tensor with a torchvision resnet18 name", path)
	}
	return loaded, nil
}

func sameShape(a, b *torch.Tensor) bool {
	return a != nil && b != nil && torch.SameShape(a.Shape(), b.Shape())
}
