// Package optim holds semcom's optimisers (SGD with momentum/Nesterov, LARS, AdamW), each one fused shim
// call per step, and learning-rate schedules written in Go. Optimisers own their state tensors so that
// checkpoints can save and restore them exactly.
package optim

import (
	"fmt"

	"github.com/semcom/semcom/torch"
)

// Optimizer updates parameters from their gradients.
type Optimizer interface {
	// Step applies one update with the current learning rate.
	Step()
	// ZeroGrad resets every gradient to none.
	ZeroGrad()
	SetLR(lr float64)
	LR() float64
	// State returns the named state tensors (live, not copies) and the step count.
	State() (map[string]*torch.Tensor, int64)
	// LoadState restores what State returned.
	LoadState(state map[string]*torch.Tensor, steps int64) error
}

// stateBufs allocates zero state tensors shaped like the parameters, outside every scope.
func stateBufs(params []*torch.Tensor) []*torch.Tensor {
	bufs := make([]*torch.Tensor, len(params))
	for i, p := range params {
		bufs[i] = torch.ZerosLike(p).Keep()
	}
	return bufs
}

func named(m map[string]*torch.Tensor, prefix string, ts []*torch.Tensor) {
	for i, t := range ts {
		m[fmt.Sprintf("%s.%d", prefix, i)] = t
	}
}

func load(m map[string]*torch.Tensor, prefix string, ts []*torch.Tensor) error {
	for i, t := range ts {
		name := fmt.Sprintf("%s.%d", prefix, i)
		src, ok := m[name]
		if !ok {
			return fmt.Errorf("optimizer state: %s missing", name)
		}
		if err := torch.Catch(func() { t.Copy_(src) }); err != nil {
			return fmt.Errorf("optimizer state: %s: %w", name, err)
		}
	}
	return nil
}

// SGD is stochastic gradient descent with PyTorch's semantics for momentum, dampening, Nesterov and
// (coupled) weight decay.
type SGD struct {
	Params                               []*torch.Tensor
	Lr, Momentum, Dampening, WeightDecay float64
	Nesterov                             bool
	bufs                                 []*torch.Tensor
	steps                                int64
}

// NewSGD makes an SGD optimiser over params.
func NewSGD(params []*torch.Tensor, lr, momentum, weightDecay float64, nesterov bool) *SGD {
	s := &SGD{Params: params, Lr: lr, Momentum: momentum, WeightDecay: weightDecay, Nesterov: nesterov}
	if momentum != 0 {
		s.bufs = stateBufs(params)
	} else {
		s.bufs = make([]*torch.Tensor, len(params))
		for i := range s.bufs {
			s.bufs[i] = params[i] // unused by the kernel without momentum
		}
	}
	return s
}

func (s *SGD) Step() {
	torch.SGDStep(s.Params, s.bufs, s.Lr, s.Momentum, s.Dampening, s.WeightDecay, s.Nesterov, s.steps == 0)
	s.steps++
}
func (s *SGD) ZeroGrad()        { torch.ZeroGrad(s.Params) }
func (s *SGD) SetLR(lr float64) { s.Lr = lr }
func (s *SGD) LR() float64      { return s.Lr }
func (s *SGD) State() (map[string]*torch.Tensor, int64) {
	m := map[string]*torch.Tensor{}
	if s.Momentum != 0 {
		named(m, "momentum", s.bufs)
	}
	return m, s.steps
}
func (s *SGD) LoadState(m map[string]*torch.Tensor, steps int64) error {
	if s.Momentum != 0 {
		if err := load(m, "momentum", s.bufs); err != nil {
			return err
		}
	}
	s.steps = steps
	return nil
}

// LARS is layer-wise adaptive rate scaling as used by Barlow Twins and DeCUR: weight decay and the trust
// ratio eta·‖w‖/‖g‖ apply to weights only; biases and BN parameters (1-d tensors) are left plain and, as in
// Barlow Twins (lr_biases = 0.0048 vs lr_weights = 0.2), take BiasLRFactor times the learning rate.
type LARS struct {
	Params                    []*torch.Tensor
	Lr, Momentum, WeightDecay float64
	Eta, BiasLRFactor         float64
	weights, plain            group
	steps                     int64
}

type group struct {
	params, bufs []*torch.Tensor
	mask         []bool
}

// NewLARS makes a LARS optimiser; 1-d parameters are excluded from adaptation and weight decay.
func NewLARS(params []*torch.Tensor, lr, momentum, weightDecay, eta float64) *LARS {
	l := &LARS{Params: params, Lr: lr, Momentum: momentum, WeightDecay: weightDecay, Eta: eta, BiasLRFactor: 1}
	bufs := stateBufs(params)
	for i, p := range params {
		g := &l.plain
		if p.Dim() > 1 {
			g = &l.weights
		}
		g.params = append(g.params, p)
		g.bufs = append(g.bufs, bufs[i])
		g.mask = append(g.mask, p.Dim() > 1)
	}
	return l
}

func (l *LARS) Step() {
	if len(l.weights.params) > 0 {
		torch.LARSStep(l.weights.params, l.weights.bufs, l.weights.mask, l.Lr, l.Momentum, l.WeightDecay, l.Eta)
	}
	if len(l.plain.params) > 0 {
		torch.LARSStep(l.plain.params, l.plain.bufs, l.plain.mask, l.Lr*l.BiasLRFactor, l.Momentum, l.WeightDecay, l.Eta)
	}
	l.steps++
}
func (l *LARS) ZeroGrad()        { torch.ZeroGrad(l.Params) }
func (l *LARS) SetLR(lr float64) { l.Lr = lr }
func (l *LARS) LR() float64      { return l.Lr }
func (l *LARS) State() (map[string]*torch.Tensor, int64) {
	m := map[string]*torch.Tensor{}
	named(m, "momentum_weights", l.weights.bufs)
	named(m, "momentum_plain", l.plain.bufs)
	return m, l.steps
}
func (l *LARS) LoadState(m map[string]*torch.Tensor, steps int64) error {
	l.steps = steps
	if err := load(m, "momentum_weights", l.weights.bufs); err != nil {
		return err
	}
	return load(m, "momentum_plain", l.plain.bufs)
}

// AdamW is Adam with decoupled weight decay (PyTorch's formulation).
type AdamW struct {
	Params                             []*torch.Tensor
	Lr, Beta1, Beta2, Eps, WeightDecay float64
	m, v                               []*torch.Tensor
	steps                              int64
}

// NewAdamW makes an AdamW optimiser with the given learning rate and weight decay and betas (0.9, 0.999),
// eps 1e-8.
func NewAdamW(params []*torch.Tensor, lr, weightDecay float64) *AdamW {
	return &AdamW{Params: params, Lr: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay,
		m: stateBufs(params), v: stateBufs(params)}
}

func (a *AdamW) Step() {
	a.steps++
	torch.AdamWStep(a.Params, a.m, a.v, a.Lr, a.Beta1, a.Beta2, a.Eps, a.WeightDecay, a.steps)
}
func (a *AdamW) ZeroGrad()        { torch.ZeroGrad(a.Params) }
func (a *AdamW) SetLR(lr float64) { a.Lr = lr }
func (a *AdamW) LR() float64      { return a.Lr }
func (a *AdamW) State() (map[string]*torch.Tensor, int64) {
	m := map[string]*torch.Tensor{}
	named(m, "exp_avg", a.m)
	named(m, "exp_avg_sq", a.v)
	return m, a.steps
}
func (a *AdamW) LoadState(m map[string]*torch.Tensor, steps int64) error {
	a.steps = steps
	if err := load(m, "exp_avg", a.m); err != nil {
		return err
	}
	return load(m, "exp_avg_sq", a.v)
}
