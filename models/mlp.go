package models

import (
	"strconv"

	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/nn"
)

// MLP is a stack of Linear–BN–ReLU layers ending in a plain Linear, named as a PyTorch nn.Sequential
// ("0.weight" Linear, "1.*" BN, ReLU at 2, "3.weight" ...), as Barlow Twins' projector. Hidden Linears have
// no bias (the BN after them has one); the last has a bias.
type MLP struct {
	hidden []*nn.Linear
	bns    []*nn.BatchNorm
	last   *nn.Linear
}

// NewMLP registers an MLP with layer sizes dims[0] → dims[1] → … → dims[len-1] under p.
func NewMLP(p nn.Path, g *torch.Generator, dims []int64) *MLP {
	if len(dims) < 2 {
		panic("models: an MLP needs at least an input and an output size")
	}
	m := &MLP{}
	i := 0
	for l := 0; l+2 < len(dims); l++ {
		m.hidden = append(m.hidden, nn.NewLinear(p.Sub(strconv.Itoa(i)), g, dims[l], dims[l+1], false))
		m.bns = append(m.bns, nn.NewBatchNorm(p.Sub(strconv.Itoa(i+1)), dims[l+1]))
		i += 3
	}
	m.last = nn.NewLinear(p.Sub(strconv.Itoa(i)), g, dims[len(dims)-2], dims[len(dims)-1], true)
	return m
}

// BatchNorms lists the BatchNorm layers.
func (m *MLP) BatchNorms() []*nn.BatchNorm { return m.bns }

// Forward applies the MLP to (N, dims[0]).
func (m *MLP) Forward(x *torch.Tensor, train bool) *torch.Tensor {
	for i, l := range m.hidden {
		x = m.bns[i].Forward(l.Forward(x, train), train).Relu_()
	}
	return m.last.Forward(x, train)
}
