// Package safetensors reads and writes the safetensors checkpoint format (an 8-byte header length, a JSON
// header, raw little-endian data) in pure Go, so PyTorch users can load semcom's weights and semcom can load
// theirs (torchvision names).
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/semcom/semcom/internal/fsutil"
	"github.com/semcom/semcom/torch"
)

var codes = map[torch.DType]string{torch.Float32: "F32", torch.BFloat16: "BF16", torch.Float16: "F16",
	torch.Float64: "F64", torch.Int64: "I64", torch.Int32: "I32", torch.Uint8: "U8", torch.Bool: "BOOL"}

func dtypeOf(code string) (torch.DType, bool) {
	for d, c := range codes {
		if c == code {
			return d, true
		}
	}
	return 0, false
}

type info struct {
	DType   string   `json:"dtype"`
	Shape   []int64  `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// maxHeader bounds the JSON header, as the reference implementation does (100 MB).
const maxHeader = 100 << 20

// Save writes tensors (and optional string metadata) to path atomically and durably: a partial file never
// replaces a good one (see fsutil.WriteFile).
func Save(path string, tensors map[string]*torch.Tensor, metadata map[string]string) error {
	if err := fsutil.WriteWith(path, 0o644, func(w io.Writer) error { return EncodeTo(w, tensors, metadata) }); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// EncodeTo writes tensors (and optional string metadata) to w in the safetensors format. Tensors are stored
// contiguous on the host in name order.
func EncodeTo(w io.Writer, tensors map[string]*torch.Tensor, metadata map[string]string) error {
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var data bytes.Buffer
	for _, n := range names {
		t := tensors[n]
		var b []byte
		var m torch.Meta
		if err := torch.Catch(func() { m = t.Meta(); b = t.Bytes() }); err != nil {
			return fmt.Errorf("safetensors: %s: %w", n, err)
		}
		code, ok := codes[m.DType]
		if !ok {
			return fmt.Errorf("safetensors: %s: dtype %v not supported", n, m.DType)
		}
		start := int64(data.Len())
		data.Write(b)
		header[n] = info{DType: code, Shape: m.Shape, Offsets: [2]int64{start, int64(data.Len())}}
	}
	h, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("safetensors: header: %w", err)
	}
	for len(h)%8 != 0 { // align the data section, as the reference writer does
		h = append(h, ' ')
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(h)))
	for _, part := range [][]byte{n[:], h, data.Bytes()} {
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// Load reads every tensor of a safetensors file into CPU tensors (outside any scope) with its metadata.
func Load(path string) (map[string]*torch.Tensor, map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	return Parse(raw, path)
}

// Parse decodes a safetensors image; name labels errors.
func Parse(raw []byte, name string) (map[string]*torch.Tensor, map[string]string, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("safetensors: %s: %s", name, fmt.Sprintf(format, a...))
	}
	if len(raw) < 8 {
		return nil, nil, bad("file too short (%d bytes) for a safetensors header", len(raw))
	}
	hl := binary.LittleEndian.Uint64(raw[:8])
	if hl > maxHeader || 8+hl > uint64(len(raw)) {
		return nil, nil, bad("header length %d does not fit the %d-byte file (truncated or not safetensors)", hl, len(raw))
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+hl], &header); err != nil {
		return nil, nil, bad("header is not JSON: %v", err)
	}
	data := raw[8+hl:]
	meta := map[string]string{}
	out := map[string]*torch.Tensor{}
	fail := func(err error) (map[string]*torch.Tensor, map[string]string, error) {
		for _, t := range out {
			t.Free()
		}
		return nil, nil, err
	}
	names := make([]string, 0, len(header))
	for n := range header {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if n == "__metadata__" {
			if err := json.Unmarshal(header[n], &meta); err != nil {
				return fail(bad("__metadata__ must map strings to strings: %v", err))
			}
			continue
		}
		var ti info
		if err := json.Unmarshal(header[n], &ti); err != nil {
			return fail(bad("tensor %q: %v", n, err))
		}
		dt, ok := dtypeOf(ti.DType)
		if !ok {
			return fail(bad("tensor %q: dtype %q not supported (want F32, BF16, F16, F64, I64, I32, U8 or BOOL)", n, ti.DType))
		}
		count := int64(1)
		for _, s := range ti.Shape {
			if s < 0 {
				return fail(bad("tensor %q: negative size in shape %v", n, ti.Shape))
			}
			count *= s
		}
		b, e := ti.Offsets[0], ti.Offsets[1]
		if b < 0 || e < b || e > int64(len(data)) {
			return fail(bad("tensor %q: data offsets [%d,%d) outside the %d-byte data section", n, b, e, len(data)))
		}
		if e-b != count*int64(dt.ElemSize()) {
			return fail(bad("tensor %q: %d bytes for %v %v (want %d)", n, e-b, ti.DType, ti.Shape, count*int64(dt.ElemSize())))
		}
		var t *torch.Tensor
		if err := torch.Catch(func() { t = torch.FromBytes(dt, data[b:e], ti.Shape...).Keep() }); err != nil {
			return fail(bad("tensor %q: %v", n, err))
		}
		out[n] = t
	}
	return out, meta, nil
}
