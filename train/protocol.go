package train

import (
	"errors"
	"fmt"

	"github.com/semcom/semcom/report"
)

// RunProtocol runs the paper's protocol for every configured method × label fraction × SNR: Stage I once
// per self-supervised method (labels and the channel play no part in it), then Stage II from those encoders
// (from scratch for the supervised baseline) at each SNR and label fraction. A job that diverges is reported
// in its curve and the others go on. With resume, finished jobs are reused and interrupted ones continue
// from their checkpoints.
func (e *Env) RunProtocol(resume bool) ([]report.Curve, error) {
	x := e.Exp
	encoders := map[string]string{}
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
			return nil, err // names its job itself
		case err != nil:
			return nil, fmt.Errorf("pretrain %s: %w", m, err)
		case msg != "":
			diverged[m] = msg
		default:
			encoders[m] = path
		}
	}
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
					return nil, err
				} else if err != nil {
					return nil, fmt.Errorf("finetune %s: %w", job.Name(), err)
				}
				for _, r := range rows {
					c.Labels = r.Labels
					if a, ok := r.Accuracy[SNRKey(snr)]; ok {
						c.Rounds = append(c.Rounds, r.Rounds)
						c.Epochs = append(c.Epochs, r.Epoch)
						c.Accuracy = append(c.Accuracy, a)
						c.UplinkBytes = r.UplinkBytes
					}
				}
				curves = append(curves, c)
			}
		}
	}
	return curves, nil
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
