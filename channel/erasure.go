package channel

import (
	"fmt"

	"github.com/semcom/semcom/torch"
)

// Erasure says when a device's whole transmission of one sample is lost. P > 0: independently with
// probability P. PGB > 0: the Gilbert–Elliott chain over consecutive samples (a Gilbert channel: every
// sample in the bad state is lost, none in the good state), good→bad with PGB and bad→good with PBG per
// sample. Its stationary loss rate is π_B = PGB/(PGB + PBG) = 1/(1 + PBG/PGB), bursts are geometric with
// mean length 1/PBG and gaps with mean 1/PGB (Gilbert 1960; Elliott 1963). All zero: nothing is lost.
type Erasure struct {
	P   float64
	PGB float64
	PBG float64
}

// Validate checks the probabilities and that at most one model is chosen.
func (e Erasure) Validate() error {
	for _, f := range []struct {
		key string
		v   float64
	}{{"erasure.p", e.P}, {"erasure.p_gb", e.PGB}, {"erasure.p_bg", e.PBG}} {
		if !(f.v >= 0 && f.v <= 1) {
			return fmt.Errorf("%s %v: want a probability in [0, 1]", f.key, f.v)
		}
	}
	if e.P > 0 && e.PGB > 0 {
		return fmt.Errorf("erasure.p %v and erasure.p_gb %v: want one model (independent or Gilbert–Elliott)", e.P, e.PGB)
	}
	if e.PGB > 0 && e.PBG == 0 {
		return fmt.Errorf("erasure.p_bg 0 with erasure.p_gb %v: the chain would never leave the bad state", e.PGB)
	}
	return nil
}

// Active says whether anything can be lost.
func (e Erasure) Active() bool { return e.P > 0 || e.PGB > 0 }

// LossRate is the stationary probability that a sample is lost: P, or π_B = PGB/(PGB + PBG).
func (e Erasure) LossRate() float64 {
	if e.PGB > 0 {
		return e.PGB / (e.PGB + e.PBG)
	}
	return e.P
}

// Eraser draws one device's losses over consecutive samples; it carries the Gilbert–Elliott state from one
// call (batch) to the next. Use one per device, drawn from a seeded generator for reproducibility.
type Eraser struct {
	e       Erasure
	started bool
	bad     bool
}

// NewEraser starts a device's loss process; the first sample's state is drawn from the stationary law.
func (e Erasure) NewEraser() *Eraser { return &Eraser{e: e} }

// Lost draws whether each of the next n samples is lost, using n uniforms from g.
func (r *Eraser) Lost(g *torch.Generator, n int64) []bool {
	lost := make([]bool, n)
	if !r.e.Active() || n == 0 {
		return lost
	}
	u := torch.Uniform(g, 0, 1, torch.Float64, g.Device(), n).Float64s()
	for i, x := range u {
		switch {
		case r.e.PGB == 0:
			lost[i] = x < r.e.P
		case !r.started:
			r.started, r.bad = true, x < r.e.LossRate()
			lost[i] = r.bad
		default:
			if r.bad {
				r.bad = !(x < r.e.PBG)
			} else {
				r.bad = x < r.e.PGB
			}
			lost[i] = r.bad
		}
	}
	return lost
}

// Erase zeroes the received features y (B, K) of the lost samples (exactly +0, no gradient to them) and
// returns them with the server's mask (B, 1) in y's dtype and device: 1 received, 0 lost.
func Erase(y *torch.Tensor, lost []bool) (erased, mask *torch.Tensor) {
	m := y.Meta()
	if int64(len(lost)) != m.Shape[0] {
		panic(&torch.Error{Op: "channel.Erase", Kind: torch.ErrValue,
			Msg: fmt.Sprintf("%d loss flags for a batch of %d", len(lost), m.Shape[0])})
	}
	l := torch.FromSlice(lost, m.Shape[0], 1).ToDevice(m.Device)
	return y.MaskedFill(l, 0), l.LogicalNot().To(m.Device, m.DType)
}
