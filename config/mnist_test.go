package config

import (
	"strings"
	"testing"
)

// The MNIST halves' keys: data.path may stay empty (the default source), the others are checked.
func TestMNISTKeys(t *testing.T) {
	for _, kind := range []string{"mnist", "fashion-mnist"} {
		e, err := Load("", []string{"data.kind=" + kind})
		if err != nil {
			t.Fatalf("%s with the default source: %v", kind, err)
		}
		if m := e.Data.MNIST; m.Square != "pad" || m.Train != 0 || m.Test != 0 {
			t.Fatalf("defaults %+v", m)
		}
	}
	if _, err := Load("", []string{"data.kind=mnist", "channel.snr_offset_db={right: -3}"}); err != nil {
		t.Fatalf("offset for the right half: %v", err)
	}
	for _, c := range []struct {
		set  []string
		want string
	}{
		{[]string{"data.kind=mnist", "data.mnist.square=crop"}, `data.mnist.square = "crop": want one of pad, stretch`},
		{[]string{"data.kind=mnist", "data.mnist.train=19"}, "data.mnist.train = 19: want 0 (all 60000) or 20..60000"},
		{[]string{"data.kind=mnist", "data.mnist.train=60001"}, "data.mnist.train = 60001"},
		{[]string{"data.kind=mnist", "data.mnist.test=-1"}, "data.mnist.test = -1: want 0 (all 10000) or 10..10000"},
		{[]string{"data.kind=emnist"}, "mnist, fashion-mnist"},
		{[]string{"data.kind=nyud2"}, "data.path"}, // the other kinds still need a path
	} {
		_, err := Load("", c.set)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.set, err, c.want)
		}
	}
}
