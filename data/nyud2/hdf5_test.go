package nyud2

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readNPYFortranF32 reads a little-endian float32 NPY array stored in Fortran order and returns it
// row-major with its shape.
func readNPYFortranF32(t *testing.T, path string) ([]float32, int, int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("sample missing: %v", err)
	}
	if !bytes.HasPrefix(b, []byte("\x93NUMPY")) {
		t.Fatalf("%s: not NPY", path)
	}
	hl := int(binary.LittleEndian.Uint16(b[8:10]))
	header := string(b[10 : 10+hl])
	if !strings.Contains(header, "'<f4'") || !strings.Contains(header, "'fortran_order': True") || !strings.Contains(header, "(480, 640)") {
		t.Fatalf("%s: unexpected header %q", path, header)
	}
	data := b[10+hl:]
	rows, cols := 480, 640
	out := make([]float32, rows*cols)
	for c := range cols {
		for r := range rows {
			out[r*cols+c] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*(c*rows+r):]))
		}
	}
	return out, rows, cols
}

func readJPEG(t *testing.T, path string) ([]uint8, int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("sample missing: %v", err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return rgbBytes(img)
}

func rgbBytes(img image.Image) ([]uint8, int, int) {
	b := img.Bounds()
	out := make([]uint8, 0, b.Dx()*b.Dy()*3)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out = append(out, uint8(r>>8), uint8(g>>8), uint8(bl>>8))
		}
	}
	return out, b.Dy(), b.Dx()
}

// fixture builds a labeled .mat in the official layout from the real frames in the shared samples.
func fixture(t *testing.T) (path string, images [][]uint8, depths [][]float32, scenes []string) {
	t.Helper()
	all := readLines(t, filepath.Join(samples, "labels/sceneTypes.txt"))
	for _, s := range []struct {
		dir   string
		index int
	}{{"0001_kitchen_test", 1}, {"1001_bedroom_test", 1001}, {"1002_bedroom_test", 1002}} {
		rgb, h, w := readJPEG(t, filepath.Join(samples, "labeled", s.dir, "rgb.jpg"))
		d, dh, dw := readNPYFortranF32(t, filepath.Join(samples, "labeled", s.dir, "depth_m_f32_fortran.npy"))
		if h != 480 || w != 640 || dh != 480 || dw != 640 {
			t.Fatalf("%s: %dx%d rgb, %dx%d depth", s.dir, w, h, dw, dh)
		}
		images, depths, scenes = append(images, rgb), append(depths, d), append(scenes, all[s.index-1])
	}
	path = filepath.Join(t.TempDir(), "nyu_depth_v2_labeled.mat")
	if err := WriteLabeled(path, 480, 640, images, depths, scenes); err != nil {
		t.Fatal(err)
	}
	return path, images, depths, scenes
}

func TestReadLabeledMatLayout(t *testing.T) {
	path, images, depths, scenes := fixture(t)
	raw, _ := os.ReadFile(path)
	if !bytes.HasPrefix(raw, []byte("MATLAB 7.3 MAT-file")) || !bytes.Equal(raw[512:520], []byte("\x89HDF\r\n\x1a\n")) {
		t.Fatal("fixture lacks the MATLAB userblock before the HDF5 superblock")
	}
	l, err := OpenLabeled(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.N != 3 || l.W != 640 || l.H != 480 {
		t.Fatalf("N=%d W=%d H=%d", l.N, l.W, l.H)
	}
	for i := range images {
		im, err := l.Image(i)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(im, images[i]) {
			t.Fatalf("image %d differs from the source JPEG's pixels", i)
		}
		d, err := l.Depth(i)
		if err != nil {
			t.Fatal(err)
		}
		for k := range d {
			if d[k] != depths[i][k] {
				t.Fatalf("depth %d pixel %d: %v, source NPY %v", i, k, d[k], depths[i][k])
			}
		}
	}
	got, err := l.SceneTypes()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "kitchen,bedroom,bedroom" || strings.Join(got, ",") != strings.Join(scenes, ",") {
		t.Fatalf("scene types %v", got)
	}
	if _, err := l.Image(3); err == nil {
		t.Fatal("image index past the end accepted")
	}
}

func TestLabeledMatBadInput(t *testing.T) {
	path, images, depths, scenes := fixture(t)
	dir := t.TempDir()
	raw, _ := os.ReadFile(path)
	trunc := filepath.Join(dir, "truncated.mat")
	os.WriteFile(trunc, raw[:len(raw)/3], 0o644)
	text := filepath.Join(dir, "notes.mat")
	os.WriteFile(text, []byte("not a mat file"), 0o644)
	noImages := filepath.Join(dir, "noimages.mat")
	if err := writeLabeled(noImages, 480, 640, images, depths, scenes, false, 640); err != nil {
		t.Fatal(err)
	}
	badShape := filepath.Join(dir, "badshape.mat")
	if err := writeLabeled(badShape, 480, 640, images, depths, scenes, true, 320); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path, want string
	}{
		{filepath.Join(dir, "missing.mat"), "no such file"},
		{text, "not an HDF5"},
		{noImages, "variable images missing"},
		{badShape, "depths has shape"},
	}
	for _, c := range cases {
		l, err := OpenLabeled(c.path)
		if err == nil {
			l.Close()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), filepath.Base(c.path)) {
			t.Errorf("%s: %v, want an error naming the file and containing %q", filepath.Base(c.path), err, c.want)
		}
	}
	// A truncated file fails on open or on the first read, never with garbage.
	if l, err := OpenLabeled(trunc); err == nil {
		_, err1 := l.Image(2)
		_, err2 := l.Depth(2)
		l.Close()
		if err1 == nil && err2 == nil {
			t.Fatal("truncated file read without error")
		}
	}
}
