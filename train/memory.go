package train

import (
	"fmt"

	"github.com/semcom/semcom/config"
	"github.com/semcom/semcom/internal/sysmem"
	"github.com/semcom/semcom/models"
)

// MemoryEstimate is the device memory a run needs, in bytes, part by part. It is an estimate (within about
// a factor of two of what libtorch allocates), made to refuse configs that cannot fit before any work starts,
// not to plan the last gigabyte.
type MemoryEstimate struct {
	Data        int64 // the dataset, resident on the device as uint8 images
	Model       int64 // parameters, gradients and optimiser state of every part
	Activations int64 // the largest training step's saved activations and their gradients, and its augmented batch
	Batch       int64 // the batch that step uses
}

// Total is the sum of the parts.
func (m MemoryEstimate) Total() int64 { return m.Data + m.Model + m.Activations }

func (m MemoryEstimate) String() string {
	return fmt.Sprintf("about %s (data %s, model and optimiser %s, activations of a %d-sample step %s)",
		sysmem.GiB(m.Total()), sysmem.GiB(m.Data), sysmem.GiB(m.Model), m.Batch, sysmem.GiB(m.Activations))
}

// EstimateMemory estimates a run's peak memory: samples images of stored×stored pixels per modality (with
// the given channel counts) in classes classes, trained at size×size.
func EstimateMemory(x *config.Experiment, channels []int64, classes int, samples, stored, size int64) MemoryEstimate {
	var est MemoryEstimate
	var chans, params, acts int64
	k := int64(x.Model.FeatureDim)
	w := int64(x.Model.Width)
	for _, c := range channels {
		chans += c
		params += models.ResNet18Params(c, w) + mlpParams(append(append([]int64{8 * w}, ints(x.Model.HeadHidden)...), k))
		if len(x.Model.Projector) > 0 {
			params += mlpParams(append([]int64{k}, ints(x.Model.Projector)...))
		}
		acts += models.ResNet18Activations(c, w, size)
	}
	params += mlpParams(append(append([]int64{k * int64(len(channels))}, ints(x.Model.DecoderHidden)...), int64(classes)))
	est.Data = samples * (chans*stored*stored + 8)
	est.Model = 4 * 4 * params // float32 weights, gradients and up to two optimiser states (AdamW)
	step := func(batch, views int64) int64 {
		batch = min(batch, samples)
		saved := 2 * 4 * acts                    // saved activations and, during backward, their gradients
		augmented := 4 * 4 * chans * size * size // float copies made while augmenting and normalising
		return batch * views * (saved + augmented)
	}
	pre, fine := step(int64(x.Pretrain.Batch), 2), step(int64(x.Finetune.Batch), 1)
	est.Activations, est.Batch = max(pre, fine), min(int64(x.Finetune.Batch), samples)
	if pre >= fine {
		est.Batch = 2 * min(int64(x.Pretrain.Batch), samples)
	}
	return est
}

func mlpParams(dims []int64) int64 {
	var n int64
	for i := 0; i+1 < len(dims); i++ {
		n += dims[i]*dims[i+1] + 2*dims[i+1]
	}
	return n
}
