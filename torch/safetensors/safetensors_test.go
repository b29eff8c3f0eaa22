package safetensors

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semcom/semcom/torch"
)

func TestRoundTripAllDTypes(t *testing.T) {
	defer torch.LockThread()()
	g := torch.NewGenerator(torch.CPU, 5)
	in := map[string]*torch.Tensor{
		"conv1.weight":            torch.Randn(g, torch.Float32, torch.CPU, 4, 3, 3, 3),
		"bn1.num_batches_tracked": torch.FromSlice([]int64{42}).Reshape(),
		"half":                    torch.Randn(g, torch.Float32, torch.CPU, 5).ToDType(torch.BFloat16),
		"bytes":                   torch.FromSlice([]uint8{1, 2, 250}),
		"empty":                   torch.Zeros(torch.Float32, torch.CPU, 0, 3),
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Save(path, in, map[string]string{"epoch": "3"}); err != nil {
		t.Fatal(err)
	}
	out, meta, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta["epoch"] != "3" || len(out) != len(in) {
		t.Fatalf("meta %v, %d tensors", meta, len(out))
	}
	for n, a := range in {
		b := out[n]
		if a.DType() != b.DType() || !torch.SameShape(a.Shape(), b.Shape()) || string(a.Bytes()) != string(b.Bytes()) {
			t.Fatalf("%s: %v → %v", n, a, b)
		}
	}
	if out["bn1.num_batches_tracked"].Dim() != 0 {
		t.Fatal("scalar lost its 0-d shape")
	}
	// The header is plain JSON a Python reader parses: check the layout bytes.
	raw, _ := os.ReadFile(path)
	hl := binary.LittleEndian.Uint64(raw[:8])
	if hl%8 != 0 || !strings.Contains(string(raw[8:8+hl]), `"dtype":"BF16"`) {
		t.Fatalf("header %q", raw[8:8+hl])
	}
}

func TestBadFiles(t *testing.T) {
	defer torch.LockThread()()
	header := func(h string, data int) []byte {
		b := make([]byte, 8, 8+len(h)+data)
		binary.LittleEndian.PutUint64(b, uint64(len(h)))
		b = append(b, h...)
		return append(b, make([]byte, data)...)
	}
	cases := []struct {
		name, want string
		raw        []byte
	}{
		{"short", "too short", []byte{1, 2}},
		{"huge header", "does not fit", header("{}", 0)[:8]},
		{"not json", "not JSON", header("{nope", 0)},
		{"dtype", "not supported", header(`{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}`, 8)},
		{"offsets", "outside", header(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8)},
		{"size", "bytes for", header(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, 8)},
	}
	for _, c := range cases {
		_, _, err := Parse(c.raw, "x.safetensors")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "x.safetensors") {
			t.Errorf("%s: error %v, want one naming the file and containing %q", c.name, err, c.want)
		}
	}
	if _, _, err := Load(filepath.Join(t.TempDir(), "missing.safetensors")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}
