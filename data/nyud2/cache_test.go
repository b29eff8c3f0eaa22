package nyud2

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/semcom/semcom/torch"
)

// writeSplitsV5 writes a MAT v5 file with uncompressed double arrays trainNdxs and testNdxs (1-based).
func writeSplitsV5(t *testing.T, path string, train, test []int) {
	t.Helper()
	var b bytes.Buffer
	hdr := make([]byte, 128)
	copy(hdr, "MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: semcom test")
	for i := 64; i < 116; i++ {
		hdr[i] = ' '
	}
	binary.LittleEndian.PutUint16(hdr[124:], 0x0100)
	copy(hdr[126:], "IM")
	b.Write(hdr)
	le := binary.LittleEndian
	elem := func(w *bytes.Buffer, typ uint32, data []byte) {
		binary.Write(w, le, typ)
		binary.Write(w, le, uint32(len(data)))
		w.Write(data)
		for w.Len()%8 != 0 {
			w.WriteByte(0)
		}
	}
	for _, v := range []struct {
		name string
		idx  []int
	}{{"trainNdxs", train}, {"testNdxs", test}} {
		var m bytes.Buffer
		flags := make([]byte, 8)
		le.PutUint32(flags, 6) // mxDOUBLE_CLASS
		elem(&m, miUINT32, flags)
		dims := make([]byte, 8)
		le.PutUint32(dims, uint32(len(v.idx)))
		le.PutUint32(dims[4:], 1)
		elem(&m, miINT32, dims)
		elem(&m, miINT8, []byte(v.name))
		vals := make([]byte, 8*len(v.idx))
		for i, x := range v.idx {
			le.PutUint64(vals[8*i:], math.Float64bits(float64(x)))
		}
		elem(&m, miDOUBLE, vals)
		elem(&b, miMATRIX, m.Bytes())
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPrepareCacheAndReuse(t *testing.T) {
	defer torch.LockThread()()
	mat, images, _, _ := fixture(t) // kitchen (index1 1), bedroom, bedroom
	dir := t.TempDir()
	splits := filepath.Join(dir, "splits.mat")
	writeSplitsV5(t, splits, []int{2, 3}, []int{1})
	cache := filepath.Join(dir, "cache")
	calls := 0
	ci, reused, err := Prepare(mat, splits, cache, 32, Gupta, func(done, total int) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if reused || calls != 3 || ci.Train != 2 || ci.Test != 1 || len(ci.Sources) != 2 || len(ci.Sources[0].SHA256) != 64 {
		t.Fatalf("prepare: reused=%v calls=%d info=%+v", reused, calls, ci)
	}
	ds, _, err := LoadCache(cache)
	if err != nil {
		t.Fatal(err)
	}
	if l := ds.Train.Labels.Int64s(); l[0] != 0 || l[1] != 0 { // bedrooms: Gupta id 0
		t.Fatalf("train labels %v", l)
	}
	if l := ds.Test.Labels.Int64s(); l[0] != 1 { // kitchen: Gupta id 1
		t.Fatalf("test labels %v", l)
	}
	want := Resize(images[0], 480, 640, 3, 32)
	if got := torch.ToSlice[uint8](ds.Test.Images[0]); !bytes.Equal(got, want) {
		t.Fatal("cached RGB differs from the resized source")
	}
	if ds.Modalities[1].Name != "depth" || ds.Train.Images[1].Size(3) != 1 || ds.Train.Size() != 32 {
		t.Fatalf("modalities %+v", ds.Modalities)
	}
	if _, reused, err := Prepare(mat, splits, cache, 32, Gupta, nil); err != nil || !reused {
		t.Fatalf("second prepare: reused=%v err=%v", reused, err)
	}
	if _, reused, _ := Prepare(mat, splits, cache, 32, Alphabetical, nil); reused {
		t.Fatal("a cache with another class order was reused")
	}
	// Changed sources are detected on load and rebuild on prepare.
	future := time.Now().Add(time.Hour)
	os.Chtimes(splits, future, future)
	writeSplitsV5(t, splits, []int{1, 2}, []int{3})
	if _, _, err := LoadCache(cache); !errors.Is(err, ErrStale) {
		t.Fatalf("stale cache loaded: %v", err)
	}
	if _, reused, err := Prepare(mat, splits, cache, 32, Gupta, nil); err != nil || reused {
		t.Fatalf("prepare after a source change: reused=%v err=%v", reused, err)
	}
	// An interrupted preparation (description missing) is never read as complete.
	os.Remove(filepath.Join(cache, "nyud2.json"))
	if _, _, err := LoadCache(cache); err == nil || !strings.Contains(err.Error(), "semcom data prepare") {
		t.Fatalf("incomplete cache: %v", err)
	}
	writeSplitsV5(t, splits, []int{1, 9}, []int{3})
	if _, _, err := Prepare(mat, splits, cache, 32, Gupta, nil); err == nil || !strings.Contains(err.Error(), "outside 1..3") {
		t.Fatalf("split index out of range: %v", err)
	}
}

func savePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func TestFolderLayout(t *testing.T) {
	defer torch.LockThread()()
	// A real RGB|HHA pair: the kitchen frame and its HHA, side by side, as TRecgNet builds them.
	open := func(p string) image.Image {
		f, err := os.Open(filepath.Join(samples, p))
		if err != nil {
			t.Skip(err)
		}
		defer f.Close()
		im, err := jpeg.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		return im
	}
	rgb, hha := open("labeled/0001_kitchen_test/rgb.jpg"), open("labeled/0001_kitchen_test/hha.jpg")
	pair := image.NewRGBA(image.Rect(0, 0, 1280, 480))
	for y := range 480 {
		for x := range 640 {
			pair.Set(x, y, rgb.At(x, y))
			pair.Set(640+x, y, hha.At(x, y))
		}
	}
	root := t.TempDir()
	savePNG(t, filepath.Join(root, "train/kitchen/a.png"), pair)
	savePNG(t, filepath.Join(root, "train/bedroom/b.png"), pair)
	savePNG(t, filepath.Join(root, "test/kitchen/c.png"), pair)
	ex, err := os.ReadFile(filepath.Join(samples, "format-examples/trecgnet_conc_rgb_hha.png"))
	if err != nil {
		t.Skip(err)
	}
	os.WriteFile(filepath.Join(root, "test/kitchen/d.png"), ex, 0o644) // 1182×441: halves of 591
	ds, err := LoadFolder(root, 24)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ds.ClassNames, ",") != "bedroom,kitchen" || ds.Modalities[1].Name != "hha" || ds.Modalities[1].Channels != 3 {
		t.Fatalf("classes %v modalities %+v", ds.ClassNames, ds.Modalities)
	}
	if ds.Train.N() != 2 || ds.Test.N() != 2 || ds.Test.Labels.Int64s()[0] != 1 {
		t.Fatalf("counts %d/%d labels %v", ds.Train.N(), ds.Test.N(), ds.Test.Labels.Int64s())
	}
	left := Resize(rgbBytesOf(rgb), 480, 640, 3, 24)
	if got := torch.ToSlice[uint8](ds.Train.Images[0].Select(0, 1)); !bytes.Equal(got, left) {
		t.Fatal("left half is not the RGB image")
	}
	// Bad input: an odd width, an empty class folder.
	odd := image.NewRGBA(image.Rect(0, 0, 31, 10))
	odd.Set(0, 0, color.White)
	bad := t.TempDir()
	savePNG(t, filepath.Join(bad, "train/x/odd.png"), odd)
	savePNG(t, filepath.Join(bad, "test/x/odd.png"), odd)
	if _, err := LoadFolder(bad, 24); err == nil || !strings.Contains(err.Error(), "odd.png") || !strings.Contains(err.Error(), "odd") {
		t.Fatalf("odd width: %v", err)
	}
	os.MkdirAll(filepath.Join(root, "train/empty"), 0o755)
	if _, err := LoadFolder(root, 24); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty class folder: %v", err)
	}
	if _, err := LoadFolder(filepath.Join(root, "nope"), 24); err == nil {
		t.Fatal("missing root accepted")
	}
}

func rgbBytesOf(img image.Image) []uint8 {
	b, _, _ := rgbBytes(img)
	return b
}
