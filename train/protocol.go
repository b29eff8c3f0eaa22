package train

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"

	"github.com/semcom/semcom/report"
)

// RunProtocol runs the paper's protocol for every configured method × label fraction × SNR: Stage I once
// per self-supervised method (labels and the channel play no part in it), then Stage II from those encoders
// (from scratch for the supervised baseline) at each SNR and label fraction. A job that diverges is reported
// in its curve and the others go on. With resume, finished jobs are reused and interrupted ones continue
// from their checkpoints.
func (e *Env) RunProtocol(resume bool) (Results, error) {
	x := e.Exp
	var res Results
	encoders := map[string]string{}
	exchange := map[string]Ledger{} // each method's Stage-I ledger, counted when communication.count_pretrain_exchange is on
	diverged := map[string]string{}
	for _, m := range x.Methods {
		if m == MethodSupervised {
			continue
		}
		e.Log.Infof("stage I: pre-training %s (%d epochs)", m, x.Pretrain.Epochs)
		path, err := e.Pretrain(m, resume)
		msg, err := e.divergence(err)
		var ie *InterruptedError
		switch {
		case errors.As(err, &ie):
			return res, err // names its job itself
		case err != nil:
			return res, fmt.Errorf("pretrain %s: %w", m, err)
		case msg != "":
			diverged[m] = msg
		default:
			encoders[m] = path
			if rows, err := LoadMetrics(filepath.Dir(path), nil, math.MaxInt); err == nil && len(rows.Rows) > 0 && x.Comm.CountPretrainExchange {
				exchange[m] = rows.Rows[len(rows.Rows)-1].Ledger
			}
		}
	}
	probes, err := e.protocolProbes(encoders)
	if err != nil {
		return res, err
	}
	res.Probes = probes
	var curves []report.Curve
	for _, frac := range x.Data.LabelFractions {
		for _, snr := range x.Channel.SNRsDB {
			for _, m := range x.Methods {
				c := report.Curve{Method: m, LabelFraction: frac, SNR: snr}
				if msg, bad := diverged[m]; bad {
					c.Diverged = msg
					curves = append(curves, c)
					continue
				}
				job := FinetuneJob{Method: m, LabelFraction: frac, TrainSNR: snr, Init: encoders[m]}
				e.Log.Infof("stage II: fine-tuning %s with %g%% of the labels at %g dB", m, 100*frac, snr)
				rows, err := e.Finetune(job, resume)
				var ie *InterruptedError
				if c.Diverged, err = e.divergence(err); errors.As(err, &ie) {
					return res, err
				} else if err != nil {
					return res, fmt.Errorf("finetune %s: %w", job.Name(), err)
				}
				c = CurveFrom(c, rows, exchange[m])
				curves = append(curves, c)
			}
		}
	}
	res.Curves = curves
	return res, nil
}

// CurveFrom fills a fine-tuning job's curve (c names its method, label fraction and SNR) from its metrics
// rows; a non-zero exchange (a Stage-I ledger) is added to its rounds and bytes.
func CurveFrom(c report.Curve, rows []Row, exchange Ledger) report.Curve {
	c.PretrainRounds, c.PretrainUplinkBytes = exchange.PretrainExchanges, exchange.HypotheticalPretrainSymbols*BytesPerSymbol
	k := SNRKey(c.SNR)
	for _, r := range rows {
		c.Labels = r.Labels
		if a, ok := r.Accuracy[k]; ok {
			c.Rounds = append(c.Rounds, c.PretrainRounds+r.Rounds)
			c.Epochs = append(c.Epochs, r.Epoch)
			c.Accuracy = append(c.Accuracy, a)
			c.AccuracyStd = append(c.AccuracyStd, r.AccuracyStd[k])
			if v, ok := r.ValAccuracy[k]; ok {
				c.ValAccuracy = append(c.ValAccuracy, v)
			}
			c.UplinkBytes = c.PretrainUplinkBytes + r.UplinkBytes
		}
	}
	return c
}

// Results are what a protocol run reports: one curve per fine-tuning job and the probes of Stage I.
type Results struct {
	Curves []report.Curve
	Probes []report.Probe
}

// protocolProbes collects the probes of each pre-trained method and of randomly initialised encoders (the
// floor any pre-training should clear).
func (e *Env) protocolProbes(encoders map[string]string) ([]report.Probe, error) {
	if !e.Exp.Probe.Enabled || len(encoders) == 0 || !e.rank0() {
		return nil, nil
	}
	sys := NewSystem(e.Exp.Model, e.Data.Modalities, len(e.Data.ClassNames), e.Exp.PretrainSeed())
	e.placeLocal(sys) // rank 0 alone: no broadcast (the other ranks are fine-tuning by now)
	all, err := e.Probes(sys, "random-init")
	if err != nil {
		return nil, err
	}
	for _, m := range e.Exp.Methods {
		if path, ok := encoders[m]; ok {
			p, err := ReadProbes(filepath.Dir(path))
			if err != nil {
				return nil, err
			}
			all = append(all, p...)
		}
	}
	return all, nil
}

// divergence separates a job's outcome: a divergence is logged and returned as a message (the protocol goes
// on without that job); any other error, ErrStopped included, ends the protocol.
func (e *Env) divergence(err error) (string, error) {
	var div *DivergedError
	if errors.As(err, &div) {
		e.Log.Error(div.Error())
		return div.Error(), nil
	}
	return "", err
}
