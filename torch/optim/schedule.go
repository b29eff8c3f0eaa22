package optim

import (
	"fmt"
	"math"
)

// Schedule gives the learning rate at a step (counted from 0) of a run of total steps.
type Schedule interface {
	At(step, total int) float64
}

// Constant keeps the base rate.
type Constant struct{ Base float64 }

func (c Constant) At(int, int) float64 { return c.Base }

// StepDecay multiplies the rate by Gamma every Every steps.
type StepDecay struct {
	Base, Gamma float64
	Every       int
}

func (s StepDecay) At(step, _ int) float64 {
	if s.Every <= 0 {
		return s.Base
	}
	return s.Base * math.Pow(s.Gamma, float64(step/s.Every))
}

// WarmupCosine rises linearly from 0 over Warmup steps, then follows a half cosine from Base down to
// Base·FinalFraction at the last step (as Barlow Twins' schedule).
type WarmupCosine struct {
	Base          float64
	Warmup        int
	FinalFraction float64
}

func (w WarmupCosine) At(step, total int) float64 {
	if step < w.Warmup {
		return w.Base * float64(step+1) / float64(w.Warmup)
	}
	span := total - w.Warmup
	if span <= 1 {
		return w.Base
	}
	q := 0.5 * (1 + math.Cos(math.Pi*float64(step-w.Warmup)/float64(span-1)))
	end := w.Base * w.FinalFraction
	return end + (w.Base-end)*q
}

// ParseSchedule builds a schedule by name: "constant", "step" (gamma, every), "cosine" (warmup, final).
func ParseSchedule(name string, base float64, warmup int, finalFraction, gamma float64, every int) (Schedule, error) {
	switch name {
	case "constant", "":
		return Constant{base}, nil
	case "step":
		return StepDecay{Base: base, Gamma: gamma, Every: every}, nil
	case "cosine":
		return WarmupCosine{Base: base, Warmup: warmup, FinalFraction: finalFraction}, nil
	}
	return nil, fmt.Errorf("unknown schedule %q (want constant, step or cosine)", name)
}
