package mnist

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// idxBytes encodes an idx file: magic, big-endian dimensions, data.
func idxBytes(magic uint32, dims []int, body []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(body)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func write(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// mnistDir finds GoMNIST's data/ folder, downloading the module through the module proxy when go can; it
// skips the test with the command that installs it when neither works.
func mnistDir(t *testing.T) string {
	t.Helper()
	dir := MNIST.DefaultDir()
	if _, err := MNIST.Find(dir); err == nil {
		return dir
	}
	if goBin, err := exec.LookPath("go"); err == nil {
		cmd := exec.Command(goBin, "mod", "download", "-json", GoMNISTModule)
		cmd.Dir = t.TempDir() // outside this module: nothing is added to go.mod or go.sum
		if out, err := cmd.Output(); err == nil {
			var m struct{ Dir string }
			if json.Unmarshal(out, &m) == nil && m.Dir != "" {
				if _, err := MNIST.Find(filepath.Join(m.Dir, "data")); err == nil {
					return filepath.Join(m.Dir, "data")
				}
			}
		}
	}
	t.Skipf("MNIST absent from %s (no module proxy?): install it with 'go mod download %s'", dir, GoMNISTModule)
	return ""
}

func fashionDir(t *testing.T) string {
	t.Helper()
	if _, err := FashionMNIST.Find(DebianFashionDir); err != nil {
		t.Skipf("Fashion-MNIST absent from %s: install it with 'apt-get install dataset-fashion-mnist'", DebianFashionDir)
	}
	return DebianFashionDir
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// pixelStats is the mean and standard deviation of all pixels / 255.
func pixelStats(im *Images) (mean, std float64) {
	var s, ss float64
	for _, p := range im.Pix {
		x := float64(p) / 255
		s += x
		ss += x * x
	}
	n := float64(len(im.Pix))
	mean = s / n
	return mean, math.Sqrt(ss/n - mean*mean)
}

func counts(l []uint8) []int {
	c := make([]int, 10)
	for _, x := range l {
		c[x]++
	}
	return c
}

// The real files against facts published elsewhere: the first labels (LeCun's files as every MNIST
// tutorial prints them), the per-class counts, and the normalisation constants everyone uses (MNIST mean
// 0.1307, sd 0.3081; Fashion-MNIST 0.2860, 0.3530).
func TestRealFiles(t *testing.T) {
	for _, c := range []struct {
		src                   Source
		dir                   func(*testing.T) string
		train10, test10       []uint8
		trainCounts, testCnts []int
		mean, std             float64
	}{
		{MNIST, mnistDir, []uint8{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}, []uint8{7, 2, 1, 0, 4, 1, 4, 9, 5, 9},
			[]int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}, []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}, 0.1307, 0.3081},
		{FashionMNIST, fashionDir, []uint8{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, []uint8{9, 2, 1, 1, 6, 1, 4, 6, 5, 7},
			[]int{6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000}, []int{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}, 0.2860, 0.3530},
	} {
		t.Run(c.src.Kind, func(t *testing.T) {
			dir := c.dir(t)
			paths, err := c.src.Find(dir)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range paths { // the distributed .gz files themselves
				if got := fileSHA(t, p); got != c.src.Parts[i].GzipSHA256 {
					t.Errorf("%s: SHA-256 %s, want %s", p, got, c.src.Parts[i].GzipSHA256)
				}
			}
			r, err := c.src.Load(dir, true)
			if err != nil {
				t.Fatal(err)
			}
			if r.Train.N != 60000 || r.Test.N != 10000 || r.Train.Rows != 28 || r.Test.Cols != 28 {
				t.Fatalf("%d train / %d test images of %d×%d", r.Train.N, r.Test.N, r.Train.Rows, r.Train.Cols)
			}
			if !r.Files[0].Gzip {
				t.Error("the .gz file was not read as gzip")
			}
			if got := r.TrainLabels[:10]; !slices.Equal(got, c.train10) {
				t.Errorf("first training labels %v, want %v", got, c.train10)
			}
			if got := r.TestLabels[:10]; !slices.Equal(got, c.test10) {
				t.Errorf("first test labels %v, want %v", got, c.test10)
			}
			if got := counts(r.TrainLabels); !slices.Equal(got, c.trainCounts) {
				t.Errorf("training class counts %v, want %v", got, c.trainCounts)
			}
			if got := counts(r.TestLabels); !slices.Equal(got, c.testCnts) {
				t.Errorf("test class counts %v, want %v", got, c.testCnts)
			}
			m, s := pixelStats(r.Train)
			t.Logf("%s training pixels: mean %.4f, sd %.4f", c.src.Title, m, s)
			if math.Abs(m-c.mean) > 5e-5 || math.Abs(s-c.std) > 5e-5 {
				t.Errorf("training pixel mean %.5f sd %.5f, want %.4f and %.4f", m, s, c.mean, c.std)
			}
		})
	}
}

// torchvision's layout (<root>/MNIST/raw/), with two files decompressed and two still gzip: each is read by
// its magic, and the content sums (what Load checks) agree with the .gz originals'.
func TestTorchvisionLayoutRawAndGzip(t *testing.T) {
	src := mnistDir(t)
	root := t.TempDir()
	raw := filepath.Join(root, "MNIST", "raw")
	for i, p := range MNIST.Parts {
		from := filepath.Join(src, p.Name+".gz")
		if i == TestImages || i == TestLabels {
			f, err := readFile(from)
			if err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(raw, p.Name), f.payload)
			continue
		}
		if err := os.MkdirAll(raw, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(from, filepath.Join(raw, p.Name+".gz")); err != nil {
			t.Fatal(err)
		}
	}
	r, err := MNIST.Load(root, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Files[TestImages].Gzip || !r.Files[TrainImages].Gzip || r.Files[TestImages].Path != filepath.Join(raw, "t10k-images-idx3-ubyte") {
		t.Fatalf("files read: %+v %+v", r.Files[TrainImages].Path, r.Files[TestImages].Path)
	}
	if !slices.Equal(r.TestLabels[:10], []uint8{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}) {
		t.Fatalf("test labels %v", r.TestLabels[:10])
	}
	// One pixel changed: the right size and count, but not MNIST's file.
	path := filepath.Join(raw, "t10k-images-idx3-ubyte")
	b, _ := os.ReadFile(path)
	b[len(b)-1] ^= 1
	write(t, path, b)
	if _, err := MNIST.Load(root, true); err == nil || !strings.Contains(err.Error(), path+": SHA-256 ") || !strings.Contains(err.Error(), "want "+MNIST.Parts[TestImages].SHA256) {
		t.Fatalf("altered file: %v", err)
	}
	if _, err := MNIST.Load(root, false); err != nil {
		t.Fatalf("altered file without verification: %v", err)
	}
}

// tinySet writes a valid 3-image 4×4 set (train and test alike) into dir; edit replaces one file's bytes.
func tinySet(t *testing.T, dir string, edit map[string][]byte) {
	t.Helper()
	pix := make([]byte, 3*16)
	for i := range pix {
		pix[i] = byte(i)
	}
	files := map[string][]byte{
		"train-images-idx3-ubyte.gz": gz(idxBytes(MagicImages, []int{3, 4, 4}, pix)),
		"train-labels-idx1-ubyte":    idxBytes(MagicLabels, []int{3}, []byte{1, 2, 3}),
		"t10k-images-idx3-ubyte":     idxBytes(MagicImages, []int{3, 4, 4}, pix),
		"t10k-labels-idx1-ubyte.gz":  gz(idxBytes(MagicLabels, []int{3}, []byte{0, 9, 5})),
	}
	for k, v := range edit {
		files[k] = v
	}
	for name, b := range files {
		write(t, filepath.Join(dir, name), b)
	}
}

func TestReaderErrors(t *testing.T) {
	pix := make([]byte, 48)
	full := gz(idxBytes(MagicImages, []int{3, 4, 4}, pix))
	for _, c := range []struct {
		name string
		file string // the file edited, named by the error
		b    []byte
		want []string
	}{
		{"truncated images", "t10k-images-idx3-ubyte", idxBytes(MagicImages, []int{3, 4, 4}, pix[:40]),
			[]string{"truncated", "3×4×4 need 48 bytes of data, the file holds 40"}},
		{"truncated header", "t10k-images-idx3-ubyte", idxBytes(MagicImages, []int{3}, nil), []string{"truncated", "16-byte header"}},
		{"truncated gzip", "train-images-idx3-ubyte.gz", full[:len(full)/2], []string{"truncated gzip stream"}},
		{"trailing bytes", "t10k-images-idx3-ubyte", idxBytes(MagicImages, []int{3, 4, 4}, append(pix, 0)), []string{"trailing bytes", "need 48 bytes", "holds 49"}},
		{"labels given for images", "t10k-images-idx3-ubyte", idxBytes(MagicLabels, []int{3}, []byte{1, 2, 3}),
			[]string{"magic 0x00000801 (idx labels: uint8, 1 dimension), want 0x00000803 (idx images: uint8, 3 dimensions)"}},
		{"images given for labels", "train-labels-idx1-ubyte", idxBytes(MagicImages, []int{3, 4, 4}, pix),
			[]string{"magic 0x00000803 (idx images: uint8, 3 dimensions), want 0x00000801 (idx labels"}},
		{"float idx", "train-labels-idx1-ubyte", idxBytes(0x00000d01, []int{3}, make([]byte, 12)), []string{"magic 0x00000d01, want 0x00000801"}},
		{"label out of range", "train-labels-idx1-ubyte", idxBytes(MagicLabels, []int{3}, []byte{1, 10, 3}), []string{"label 10 at index 1, want 0..9"}},
		{"fewer labels than images", "train-labels-idx1-ubyte", idxBytes(MagicLabels, []int{2}, []byte{1, 2}),
			[]string{"2 labels, want one per image of", "train-images-idx3-ubyte.gz (3)"}},
		{"empty file", "t10k-labels-idx1-ubyte.gz", nil, []string{"0 bytes, too short for an idx header"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			tinySet(t, dir, map[string][]byte{c.file: c.b})
			_, err := MNIST.Load(dir, false)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(c.want, filepath.Join(dir, c.file)) {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestLoadChecksAndFind(t *testing.T) {
	dir := t.TempDir()
	tinySet(t, dir, nil)
	r, err := MNIST.Load(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Train.N != 3 || r.Train.At(1, 2, 3) != 16+2*4+3 || !slices.Equal(r.TestLabels, []uint8{0, 9, 5}) || !r.Files[TrainImages].Gzip || r.Files[TestImages].Gzip {
		t.Fatalf("read %+v labels %v", r.Train, r.TestLabels)
	}
	// The pinned checks: a well-formed file that is not MNIST's is refused, naming it and what MNIST holds.
	if _, err := MNIST.Load(dir, true); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "train-images-idx3-ubyte.gz")+": 4×4 images, want MNIST's 28×28") {
		t.Fatalf("verify: %v", err)
	}
	// A missing file is named; an empty folder says how to install the data.
	os.Remove(filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
	if _, err := MNIST.Load(dir, false); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "t10k-labels-idx1-ubyte[.gz] missing") {
		t.Fatalf("missing file: %v", err)
	}
	for _, src := range []Source{MNIST, FashionMNIST} {
		_, err := src.Load(t.TempDir(), true)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), src.Install) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("%s in an empty folder: %v", src.Kind, err)
		}
	}
	if _, err := Lookup("cifar"); err == nil {
		t.Fatal("unknown kind accepted")
	}
}

func TestDefaultDirIsTheModuleCache(t *testing.T) {
	t.Setenv("GOMODCACHE", "/x/mod")
	if got, want := MNIST.DefaultDir(), "/x/mod/github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63/data"; got != want {
		t.Fatalf("default dir %s, want %s", got, want)
	}
	if FashionMNIST.DefaultDir() != DebianFashionDir {
		t.Fatal(FashionMNIST.DefaultDir())
	}
}

// Hand-worked halves of one 4×4 image holding 1..16.
func TestHalvesHandWorked(t *testing.T) {
	im := &Images{N: 2, Rows: 4, Cols: 4, Pix: make([]uint8, 32)}
	for i := range 16 {
		im.Pix[16+i] = uint8(i + 1) // image 1; image 0 is black
	}
	for _, c := range []struct {
		sq          Square
		left, right []uint8
	}{
		{Pad, []uint8{1, 2, 0, 0, 5, 6, 0, 0, 9, 10, 0, 0, 13, 14, 0, 0}, []uint8{0, 0, 3, 4, 0, 0, 7, 8, 0, 0, 11, 12, 0, 0, 15, 16}},
		{Stretch, []uint8{1, 1, 2, 2, 5, 5, 6, 6, 9, 9, 10, 10, 13, 13, 14, 14}, []uint8{3, 3, 4, 4, 7, 7, 8, 8, 11, 11, 12, 12, 15, 15, 16, 16}},
	} {
		l, r, size, err := Halves(im, []int{1}, c.sq)
		if err != nil {
			t.Fatal(err)
		}
		if size != 4 || !slices.Equal(l, c.left) || !slices.Equal(r, c.right) {
			t.Errorf("%s: size %d left %v right %v", c.sq, size, l, r)
		}
	}
	if _, _, _, err := Halves(&Images{N: 1, Rows: 4, Cols: 3, Pix: make([]uint8, 12)}, nil, Pad); err == nil {
		t.Error("odd width accepted")
	}
	if _, _, _, err := Halves(im, []int{2}, Pad); err == nil {
		t.Error("index out of range accepted")
	}
	if _, err := ParseSquare("resize"); err == nil {
		t.Error("unknown square accepted")
	}
}

// On every real test image: the padded halves are exact slices (each device's pixels are the image's own,
// the other half is 0, so left + right is the image), and the stretched ones repeat the slice's columns.
func TestHalvesAreExactSlicesOfMNIST(t *testing.T) {
	r, err := MNIST.Load(mnistDir(t), true)
	if err != nil {
		t.Fatal(err)
	}
	im := r.Test
	l, rt, size, err := Halves(im, nil, Pad)
	if err != nil {
		t.Fatal(err)
	}
	sl, sr, _, err := Halves(im, nil, Stretch)
	if err != nil {
		t.Fatal(err)
	}
	if size != 28 || len(l) != im.N*28*28 {
		t.Fatalf("size %d, %d bytes", size, len(l))
	}
	leftInk, rightInk := 0, 0
	for i := range im.N {
		for y := range 28 {
			for x := range 28 {
				p, k := im.At(i, y, x), (i*28+y)*28+x
				wantL, wantR := p, uint8(0)
				if x >= 14 {
					wantL, wantR = 0, p
				}
				if l[k] != wantL || rt[k] != wantR {
					t.Fatalf("image %d (%d,%d): left %d right %d, pixel %d", i, y, x, l[k], rt[k], p)
				}
				if sl[k] != im.At(i, y, x/2) || sr[k] != im.At(i, y, 14+x/2) {
					t.Fatalf("stretched image %d (%d,%d)", i, y, x)
				}
				if p > 0 && x < 14 {
					leftInk++
				} else if p > 0 {
					rightInk++
				}
			}
		}
	}
	t.Logf("MNIST test split: %d inked pixels left, %d right", leftInk, rightInk)
}
