package torch

import (
	"fmt"
	"sync"
)

// Constant returns a tensor holding values in shape on dev, made at the first call and shared by every later
// call with the same values, shape and device; it belongs to no scope and lives as long as the process, so
// never free or modify it. It is for the small constants inside a training step (normalisation statistics,
// filter taps, colour weights): copying them to a CUDA device each step would synchronise the stream, as
// every blocking host-to-device copy does, and stall the launch queue.
func Constant[E Element](dev Device, values []E, shape ...int64) *Tensor {
	key := fmt.Sprintf("%v|%T|%v|%v", dev, values, shape, values)
	constants.Lock()
	defer constants.Unlock()
	if t, ok := constants.m[key]; ok {
		return t
	}
	t := FromSlice(values, shape...)
	if dev != CPU {
		t = t.ToDevice(dev)
	}
	t.persist()
	constants.m[key] = t
	return t
}

var constants = struct {
	sync.Mutex
	m map[string]*Tensor
}{m: map[string]*Tensor{}}
