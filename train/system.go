// Package train runs the paper's two-stage protocol (Algorithm 1): label-free multi-modal self-supervised
// pre-training of the device encoders (Stage I), supervised fine-tuning of encoders and server decoder through
// the noisy channel (Stage II), evaluation at each SNR, the communication ledger, metrics and checkpoints.
package train

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/semcom/semcom/config"
	"github.com/semcom/semcom/data"
	"github.com/semcom/semcom/models"
	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/nn"
)

// Encoder is device m's semantic encoder f^m (eq. 1): a ResNet-18 trunk and a head to K features.
type Encoder struct {
	Modality data.Modality
	Trunk    *models.ResNet18
	Head     *models.MLP
	head     *nn.Store
}

// SemanticFeatures maps images (B, C, H, W) to z^m (B, K), the values that cross the channel.
func (e *Encoder) SemanticFeatures(x *torch.Tensor, train bool) *torch.Tensor {
	return e.Head.Forward(e.Trunk.Forward(x, train), train)
}

// System is the whole semantic-communication model: M encoders, optional Stage-I projectors, and the server
// decoder g (eqs. 3–4).
type System struct {
	Encoders   []*Encoder
	Projectors []*models.MLP // nil entries when the loss applies to z directly
	Decoder    *models.MLP
	parts      []part
	K          int64
}

type part struct {
	prefix string
	store  *nn.Store
	role   string // "encoder", "projector", "decoder"
}

// NewSystem builds the model for a dataset's modalities from the experiment's model section.
func NewSystem(m config.Model, mods []data.Modality, classes int, seed uint64) *System {
	g := torch.NewGenerator(torch.CPU, seed)
	s := &System{K: int64(m.FeatureDim)}
	for _, mod := range mods {
		trunk := models.NewResNet18(models.ResNetConfig{InChannels: mod.Channels, Width: int64(m.Width),
			ZeroInitResidual: m.ZeroInitResidual}, g)
		hs := nn.NewStore()
		dims := append(append([]int64{trunk.FeatureDim()}, ints(m.HeadHidden)...), s.K)
		e := &Encoder{Modality: mod, Trunk: trunk, Head: models.NewMLP(hs.Root(), g, dims), head: hs}
		s.Encoders = append(s.Encoders, e)
		s.parts = append(s.parts, part{mod.Name + ".trunk", trunk.Store, "encoder"}, part{mod.Name + ".head", hs, "encoder"})
		if len(m.Projector) > 0 {
			ps := nn.NewStore()
			s.Projectors = append(s.Projectors, models.NewMLP(ps.Root(), g, append([]int64{s.K}, ints(m.Projector)...)))
			s.parts = append(s.parts, part{mod.Name + ".projector", ps, "projector"})
		} else {
			s.Projectors = append(s.Projectors, nil)
		}
	}
	ds := nn.NewStore()
	dims := append(append([]int64{s.K * int64(len(mods))}, ints(m.DecoderHidden)...), int64(classes))
	s.Decoder = models.NewMLP(ds.Root(), g, dims)
	s.parts = append(s.parts, part{"decoder", ds, "decoder"})
	return s
}

func ints(v []int) []int64 {
	r := make([]int64, len(v))
	for i, x := range v {
		r[i] = int64(x)
	}
	return r
}

// Params returns the trainable tensors of the parts with the given roles.
func (s *System) Params(roles ...string) []*torch.Tensor {
	var ps []*torch.Tensor
	for _, p := range s.parts {
		for _, r := range roles {
			if p.role == r {
				ps = append(ps, p.store.Params()...)
			}
		}
	}
	return ps
}

// StateDict names every tensor "<part>.<name>", e.g. "rgb.trunk.layer1.0.conv1.weight".
func (s *System) StateDict(roles ...string) map[string]*torch.Tensor {
	out := map[string]*torch.Tensor{}
	for _, p := range s.parts {
		if len(roles) > 0 && !slices.Contains(roles, p.role) {
			continue
		}
		for name, t := range p.store.StateDict() {
			out[p.prefix+"."+name] = t
		}
	}
	return out
}

// Load copies tensors named as StateDict names them into the parts with the given roles (all if none).
// Every tensor of those parts must be present.
func (s *System) Load(src map[string]*torch.Tensor, roles ...string) error {
	for _, p := range s.parts {
		if len(roles) > 0 && !slices.Contains(roles, p.role) {
			continue
		}
		sub := map[string]*torch.Tensor{}
		for name, t := range src {
			if rest, ok := strings.CutPrefix(name, p.prefix+"."); ok {
				sub[rest] = t
			}
		}
		if _, err := p.store.Load(sub, true); err != nil {
			return fmt.Errorf("%s: %w", p.prefix, err)
		}
	}
	return nil
}

// ShardedBatchNorms lists the BatchNorm layers that a data-parallel rank runs on its shard of the batch: the
// encoders' and projectors'. The server decoder runs on the gathered global batch on every rank, so its
// BatchNorms already see the global statistics (synchronising them would count each sample once per rank).
func (s *System) ShardedBatchNorms() []*nn.BatchNorm {
	var out []*nn.BatchNorm
	for i, e := range s.Encoders {
		out = append(out, e.Trunk.BatchNorms()...)
		out = append(out, e.Head.BatchNorms()...)
		if s.Projectors[i] != nil {
			out = append(out, s.Projectors[i].BatchNorms()...)
		}
	}
	return out
}

// Buffers lists every buffer of the system (BatchNorm running statistics and counters).
func (s *System) Buffers() []*torch.Tensor {
	var out []*torch.Tensor
	for _, p := range s.parts {
		for _, e := range p.store.Entries() {
			if e.Kind == nn.Buffer {
				out = append(out, e.Tensor)
			}
		}
	}
	return out
}

// Tensors lists every parameter and buffer of the system (for the broadcast from rank 0).
func (s *System) Tensors() []*torch.Tensor {
	var out []*torch.Tensor
	for _, p := range s.parts {
		for _, e := range p.store.Entries() {
			out = append(out, e.Tensor)
		}
	}
	return out
}

// To moves every tensor to dev.
func (s *System) To(dev torch.Device) {
	for _, p := range s.parts {
		p.store.To(dev)
	}
}

// TrunkStates returns each modality's ResNet-18 state with torchvision names, for export.
func (s *System) TrunkStates() map[string]map[string]*torch.Tensor {
	out := map[string]map[string]*torch.Tensor{}
	for _, e := range s.Encoders {
		out[e.Modality.Name] = e.Trunk.Store.StateDict()
	}
	return out
}

// Describe lists the parts and their parameter counts.
func (s *System) Describe() string {
	var lines []string
	for _, p := range s.parts {
		lines = append(lines, fmt.Sprintf("%s: %d parameters", p.prefix, p.store.NumParams()))
	}
	sort.Strings(lines)
	return strings.Join(lines, "; ")
}
