// Package nn holds model parameters and the layers built from them: an ordered, named parameter store
// (torchvision-compatible names), Conv2d, BatchNorm, Linear and PyTorch's initialisers. Layers are plain
// Go structs calling torch's functional ops; the training mode is passed explicitly to Forward.
package nn

import (
	"fmt"
	"sort"
	"strings"

	"github.com/semcom/semcom/torch"
)

// Kind tells a trainable parameter from a buffer (running statistics, counters).
type Kind int

// Entry kinds.
const (
	Param Kind = iota
	Buffer
)

// Entry is one named tensor of a store.
type Entry struct {
	Name   string
	Tensor *torch.Tensor
	Kind   Kind
}

// Store is an ordered set of named parameters and buffers, in registration order.
type Store struct {
	entries []Entry
	index   map[string]int
}

// NewStore makes an empty store.
func NewStore() *Store { return &Store{index: map[string]int{}} }

// Root is the path with no prefix.
func (s *Store) Root() Path { return Path{store: s} }

// Path is a name prefix inside a store ("layer1.0.conv1").
type Path struct {
	store  *Store
	prefix string
}

// Sub returns the path extended by name.
func (p Path) Sub(name string) Path {
	if p.prefix == "" {
		return Path{p.store, name}
	}
	return Path{p.store, p.prefix + "." + name}
}

// Name is the full name of a leaf under p.
func (p Path) Name(leaf string) string { return p.Sub(leaf).prefix }

func (p Path) add(leaf string, t *torch.Tensor, k Kind) *torch.Tensor {
	name := p.Name(leaf)
	if _, dup := p.store.index[name]; dup {
		panic(fmt.Sprintf("nn: %q registered twice", name))
	}
	t.Keep() // parameters outlive every scope
	if k == Param {
		t.RequiresGrad_(true)
	}
	p.store.index[name] = len(p.store.entries)
	p.store.entries = append(p.store.entries, Entry{name, t, k})
	return t
}

// Param registers a trainable tensor under p.
func (p Path) Param(leaf string, t *torch.Tensor) *torch.Tensor { return p.add(leaf, t, Param) }

// Buffer registers a non-trainable tensor under p.
func (p Path) Buffer(leaf string, t *torch.Tensor) *torch.Tensor { return p.add(leaf, t, Buffer) }

// Entries returns every entry in registration order.
func (s *Store) Entries() []Entry { return s.entries }

// Get returns the tensor named name, or nil.
func (s *Store) Get(name string) *torch.Tensor {
	if i, ok := s.index[name]; ok {
		return s.entries[i].Tensor
	}
	return nil
}

// Params returns the trainable tensors in registration order.
func (s *Store) Params() []*torch.Tensor {
	var ps []*torch.Tensor
	for _, e := range s.entries {
		if e.Kind == Param {
			ps = append(ps, e.Tensor)
		}
	}
	return ps
}

// NamedParams returns the trainable entries.
func (s *Store) NamedParams() []Entry {
	var es []Entry
	for _, e := range s.entries {
		if e.Kind == Param {
			es = append(es, e)
		}
	}
	return es
}

// NumParams counts the elements of all trainable tensors.
func (s *Store) NumParams() int64 {
	var n int64
	for _, e := range s.NamedParams() {
		n += e.Tensor.Numel()
	}
	return n
}

// To moves every tensor to dev in place (handles keep their identity, so optimisers stay valid).
func (s *Store) To(dev torch.Device) {
	for _, e := range s.entries {
		torch.WithScope(func() { e.Tensor.SetData(e.Tensor.Detach().ToDevice(dev)) })
	}
}

// ChannelsLast lays every 4-d parameter out NHWC in memory (for fast convolutions on GPU).
func (s *Store) ChannelsLast() {
	for _, e := range s.entries {
		torch.WithScope(func() {
			if e.Tensor.Dim() == 4 {
				e.Tensor.SetData(e.Tensor.Detach().ChannelsLast())
			}
		})
	}
}

// StateDict maps names to tensors (the live tensors, not copies).
func (s *Store) StateDict() map[string]*torch.Tensor {
	m := make(map[string]*torch.Tensor, len(s.entries))
	for _, e := range s.entries {
		m[e.Name] = e.Tensor
	}
	return m
}

// Load copies tensors from src into the store by name. With strict, every store entry must be present and
// src may hold nothing else. Shapes must match. It returns the names loaded.
func (s *Store) Load(src map[string]*torch.Tensor, strict bool) ([]string, error) {
	var loaded, missing, unexpected []string
	for _, e := range s.entries {
		t, ok := src[e.Name]
		if !ok {
			missing = append(missing, e.Name)
			continue
		}
		if got, want := t.Shape(), e.Tensor.Shape(); !torch.SameShape(got, want) {
			return nil, fmt.Errorf("%s: shape %v in the source, %v in the model", e.Name, got, want)
		}
		e.Tensor.Copy_(t)
		loaded = append(loaded, e.Name)
	}
	for name := range src {
		if _, ok := s.index[name]; !ok {
			unexpected = append(unexpected, name)
		}
	}
	sort.Strings(unexpected)
	if strict && (len(missing) > 0 || len(unexpected) > 0) {
		return loaded, fmt.Errorf("state dict mismatch: missing %s; unexpected %s", list(missing), list(unexpected))
	}
	return loaded, nil
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	if len(s) > 6 {
		return strings.Join(s[:6], ", ") + fmt.Sprintf(" and %d more", len(s)-6)
	}
	return strings.Join(s, ", ")
}
