package nyud2

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// MAT v5 data types (MATLAB's "Level 5 MAT-file format").
const (
	miINT8       = 1
	miUINT8      = 2
	miINT16      = 3
	miUINT16     = 4
	miINT32      = 5
	miUINT32     = 6
	miSINGLE     = 7
	miDOUBLE     = 9
	miINT64      = 12
	miUINT64     = 13
	miMATRIX     = 14
	miCOMPRESSED = 15
)

// MatArray is a numeric MATLAB array read from a v5 file (real part only, column-major).
type MatArray struct {
	Dims   []int
	Values []float64
}

// ReadMatV5 reads the numeric arrays of a MATLAB v5 .mat file (such as NYU's splits.mat) by name.
func ReadMatV5(path string) (map[string]MatArray, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) < 128 || !bytes.HasPrefix(raw, []byte("MATLAB 5.0 MAT-file")) {
		return nil, fmt.Errorf("%s: not a MATLAB v5 .mat file (no 'MATLAB 5.0 MAT-file' header)", path)
	}
	if string(raw[126:128]) != "IM" {
		return nil, fmt.Errorf("%s: big-endian MAT files are not supported", path)
	}
	out := map[string]MatArray{}
	body := raw[128:]
	for len(body) > 0 {
		typ, data, rest, err := element(body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		body = rest
		if typ == miCOMPRESSED {
			zr, err := zlib.NewReader(bytes.NewReader(data))
			if err != nil {
				return nil, fmt.Errorf("%s: compressed element: %w", path, err)
			}
			inner, err := io.ReadAll(zr)
			if err != nil {
				return nil, fmt.Errorf("%s: compressed element truncated: %w", path, err)
			}
			typ, data, _, err = element(inner)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
		if typ != miMATRIX {
			continue
		}
		name, arr, err := matrix(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if name != "" {
			out[name] = arr
		}
	}
	return out, nil
}

// element splits one tagged element (normal or small format) off b.
func element(b []byte) (typ uint32, data, rest []byte, err error) {
	if len(b) < 8 {
		return 0, nil, nil, errors.New("truncated element tag")
	}
	t := binary.LittleEndian.Uint32(b)
	if t>>16 != 0 { // small data element: size in the upper half, data in the next 4 bytes
		n := t >> 16
		if n > 4 {
			return 0, nil, nil, errors.New("corrupt small element")
		}
		return t & 0xffff, b[4 : 4+n], b[8:], nil
	}
	n := binary.LittleEndian.Uint32(b[4:])
	if uint64(n) > uint64(len(b)-8) {
		return 0, nil, nil, fmt.Errorf("element of %d bytes runs past the end of the file (truncated?)", n)
	}
	data = b[8 : 8+n]
	end := 8 + int(n)
	if t != miCOMPRESSED {
		end = 8 + (int(n)+7)/8*8 // elements are padded to 8 bytes
	}
	if end > len(b) {
		end = len(b)
	}
	return t, data, b[end:], nil
}

func matrix(b []byte) (string, MatArray, error) {
	var arr MatArray
	var sub [][]byte
	var types []uint32
	for len(b) > 0 {
		t, d, rest, err := element(b)
		if err != nil {
			return "", arr, err
		}
		sub, types, b = append(sub, d), append(types, t), rest
	}
	if len(sub) < 4 {
		return "", arr, nil // empty or non-numeric (cell, struct): not needed here
	}
	class := binary.LittleEndian.Uint32(sub[0]) & 0xff
	if class < 6 || class > 15 { // numeric classes: double 6, single 7, int8..uint64 8..15
		return "", arr, nil
	}
	for i := 0; i+4 <= len(sub[1]); i += 4 {
		arr.Dims = append(arr.Dims, int(int32(binary.LittleEndian.Uint32(sub[1][i:]))))
	}
	vals, err := numbers(types[3], sub[3])
	if err != nil {
		return "", arr, err
	}
	arr.Values = vals
	return string(sub[2]), arr, nil
}

func numbers(t uint32, d []byte) ([]float64, error) {
	size := map[uint32]int{miINT8: 1, miUINT8: 1, miINT16: 2, miUINT16: 2, miINT32: 4, miUINT32: 4, miSINGLE: 4,
		miDOUBLE: 8, miINT64: 8, miUINT64: 8}[t]
	if size == 0 {
		return nil, fmt.Errorf("unsupported MAT data type %d", t)
	}
	n := len(d) / size
	v := make([]float64, n)
	le := binary.LittleEndian
	for i := range n {
		p := d[i*size:]
		switch t {
		case miINT8:
			v[i] = float64(int8(p[0]))
		case miUINT8:
			v[i] = float64(p[0])
		case miINT16:
			v[i] = float64(int16(le.Uint16(p)))
		case miUINT16:
			v[i] = float64(le.Uint16(p))
		case miINT32:
			v[i] = float64(int32(le.Uint32(p)))
		case miUINT32:
			v[i] = float64(le.Uint32(p))
		case miSINGLE:
			v[i] = float64(math.Float32frombits(le.Uint32(p)))
		case miDOUBLE:
			v[i] = math.Float64frombits(le.Uint64(p))
		case miINT64:
			v[i] = float64(int64(le.Uint64(p)))
		case miUINT64:
			v[i] = float64(le.Uint64(p))
		}
	}
	return v, nil
}

// Splits are the official train and test indices, 0-based.
type Splits struct{ Train, Test []int }

// ReadSplits reads NYU's splits.mat (trainNdxs and testNdxs, 1-based) and checks every index against n
// images.
func ReadSplits(path string, n int) (Splits, error) {
	m, err := ReadMatV5(path)
	if err != nil {
		return Splits{}, err
	}
	var s Splits
	for _, part := range []struct {
		name string
		dst  *[]int
	}{{"trainNdxs", &s.Train}, {"testNdxs", &s.Test}} {
		a, ok := m[part.name]
		if !ok {
			return Splits{}, fmt.Errorf("%s: variable %s missing (want NYU's splits.mat with trainNdxs and testNdxs)", path, part.name)
		}
		for _, v := range a.Values {
			i := int(v)
			if float64(i) != v || i < 1 || i > n {
				return Splits{}, fmt.Errorf("%s: %s holds index %v, outside 1..%d", path, part.name, v, n)
			}
			*part.dst = append(*part.dst, i-1)
		}
		if len(*part.dst) == 0 {
			return Splits{}, fmt.Errorf("%s: %s is empty (want the image indices of that split)", path, part.name)
		}
	}
	return s, s.check(path)
}

// check refuses a split with an image twice, or in both splits: a duplicate would count twice, an overlap
// would test on training data.
func (s Splits) check(path string) error {
	seen := map[int]string{}
	for _, part := range []struct {
		name string
		idx  []int
	}{{"trainNdxs", s.Train}, {"testNdxs", s.Test}} {
		for _, i := range part.idx {
			if where, dup := seen[i]; dup {
				return fmt.Errorf("%s: image %d is in %s and again in %s (want each image in one split, once)", path, i+1, where, part.name)
			}
			seen[i] = part.name
		}
	}
	return nil
}
