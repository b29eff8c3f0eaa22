package nyud2

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/semcom/semcom/data"
	"github.com/semcom/semcom/internal/fsutil"
	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/safetensors"
)

// CacheFile is the prepared cache inside its folder.
const CacheFile = "nyud2.safetensors"

// DepthRange is the depth in metres that maps to 1 (255) in the cache; NYU's Kinect reaches about 10 m.
const DepthRange = 10.0

// Source identifies a file a cache was built from.
type Source struct {
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
	SHA256  string    `json:"sha256"`
}

// CacheInfo describes a prepared cache.
type CacheInfo struct {
	Version    int        `json:"version"`
	Size       int        `json:"size"`
	ClassOrder ClassOrder `json:"class_order"`
	Classes    []string   `json:"classes"`
	Modalities []string   `json:"modalities"`
	Train      int        `json:"train"`
	Test       int        `json:"test"`
	Sources    []Source   `json:"sources"`
}

const cacheVersion = 1

// ErrStale says a cache's source files changed since it was built.
var ErrStale = errors.New("cache is stale")

func describe(path string, hash bool) (Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Source{}, err
	}
	abs, _ := filepath.Abs(path)
	s := Source{Path: abs, Size: st.Size(), ModTime: st.ModTime().UTC()}
	if hash {
		f, err := os.Open(path)
		if err != nil {
			return Source{}, err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return Source{}, fmt.Errorf("%s: %w", path, err)
		}
		s.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	return s, nil
}

// ReadCacheInfo reads a cache's description without loading its tensors.
func ReadCacheInfo(dir string) (*CacheInfo, error) {
	b, err := os.ReadFile(filepath.Join(dir, "nyud2.json"))
	if err != nil {
		return nil, err
	}
	var ci CacheInfo
	if err := json.Unmarshal(b, &ci); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "nyud2.json"), err)
	}
	return &ci, nil
}

// Fresh reports whether the cache in dir was built from exactly these sources (SHA-256) with these settings.
func Fresh(dir, mat, splits string, size int, order ClassOrder) (bool, error) {
	ci, err := ReadCacheInfo(dir)
	if err != nil {
		return false, nil
	}
	if _, err := os.Stat(filepath.Join(dir, CacheFile)); err != nil || ci.Version != cacheVersion || ci.Size != size || ci.ClassOrder != order || len(ci.Sources) != 2 {
		return false, nil
	}
	for i, p := range []string{mat, splits} {
		s, err := describe(p, true)
		if err != nil {
			return false, err
		}
		if s.SHA256 != ci.Sources[i].SHA256 {
			return false, nil
		}
	}
	return true, nil
}

// Prepare converts the labeled .mat and splits.mat into a cache in dir: images resized to size×size (area
// averaging), RGB as uint8, depth as uint8 of min(depth/DepthRange, 1), labels in the given class order, the
// official split, and the sources' checksums. A cache built from the same sources and settings is reused.
// The tensors and then the description are written atomically, so an interrupted run never leaves a cache
// that reads as complete. progress, if not nil, is called after each image.
func Prepare(mat, splits, dir string, size int, order ClassOrder, progress func(done, total int)) (*CacheInfo, bool, error) {
	if size < 16 {
		return nil, false, fmt.Errorf("size %d: want at least 16 pixels", size)
	}
	classes, err := Classes(order)
	if err != nil {
		return nil, false, err
	}
	if ok, err := Fresh(dir, mat, splits, size, order); err != nil {
		return nil, false, err
	} else if ok {
		ci, err := ReadCacheInfo(dir)
		return ci, true, err
	}
	l, err := OpenLabeled(mat)
	if err != nil {
		return nil, false, err
	}
	defer l.Close()
	sp, err := ReadSplits(splits, l.N)
	if err != nil {
		return nil, false, err
	}
	scenes, err := l.SceneTypes()
	if err != nil {
		return nil, false, err
	}
	ids, err := ClassIDs(scenes, order)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", mat, err)
	}
	total := len(sp.Train) + len(sp.Test)
	done := 0
	tensors := map[string]*torch.Tensor{}
	for _, part := range []struct {
		name string
		idx  []int
	}{{"train", sp.Train}, {"test", sp.Test}} {
		rgb := make([]uint8, 0, len(part.idx)*size*size*3)
		depth := make([]uint8, 0, len(part.idx)*size*size)
		labels := make([]int64, len(part.idx))
		for k, i := range part.idx {
			im, err := l.Image(i)
			if err != nil {
				return nil, false, err
			}
			d, err := l.Depth(i)
			if err != nil {
				return nil, false, err
			}
			rgb = append(rgb, Resize(im, l.H, l.W, 3, size)...)
			depth = append(depth, Resize(depthBytes(d), l.H, l.W, 1, size)...)
			labels[k] = ids[i]
			done++
			if progress != nil {
				progress(done, total)
			}
		}
		n := int64(len(part.idx))
		tensors[part.name+".rgb"] = torch.FromSlice(rgb, n, int64(size), int64(size), 3).Keep()
		tensors[part.name+".depth"] = torch.FromSlice(depth, n, int64(size), int64(size), 1).Keep()
		tensors[part.name+".labels"] = torch.FromSlice(labels).Keep()
	}
	defer torch.FreeAll(tensors)
	ci := &CacheInfo{Version: cacheVersion, Size: size, ClassOrder: order, Classes: classes, Modalities: []string{"rgb", "depth"},
		Train: len(sp.Train), Test: len(sp.Test)}
	for _, p := range []string{mat, splits} {
		s, err := describe(p, true)
		if err != nil {
			return nil, false, err
		}
		ci.Sources = append(ci.Sources, s)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, err
	}
	os.Remove(filepath.Join(dir, "nyud2.json")) // the old description goes first: a crash leaves no valid cache
	if err := safetensors.Save(filepath.Join(dir, CacheFile), tensors, map[string]string{"format": "semcom-nyud2"}); err != nil {
		return nil, false, err
	}
	b, _ := json.MarshalIndent(ci, "", "  ")
	return ci, false, fsutil.WriteFile(filepath.Join(dir, "nyud2.json"), b, 0o644)
}

func depthBytes(d []float32) []uint8 {
	out := make([]uint8, len(d))
	for i, v := range d {
		x := float64(v) / DepthRange
		out[i] = uint8(min(1, max(0, x))*255 + 0.5)
	}
	return out
}

// Resize scales an h×w×c uint8 image to size×size by area averaging (each output pixel averages the input
// pixels it covers), in Go.
func Resize(src []uint8, h, w, c, size int) []uint8 {
	out := make([]uint8, size*size*c)
	for oy := range size {
		y0, y1 := oy*h/size, max((oy+1)*h/size, oy*h/size+1)
		for ox := range size {
			x0, x1 := ox*w/size, max((ox+1)*w/size, ox*w/size+1)
			for ch := range c {
				sum, n := 0, 0
				for y := y0; y < y1; y++ {
					for x := x0; x < x1; x++ {
						sum += int(src[(y*w+x)*c+ch])
						n++
					}
				}
				out[(oy*size+ox)*c+ch] = uint8((sum + n/2) / n)
			}
		}
	}
	return out
}

// LoadCache loads a prepared cache as a dataset (on the CPU). It refuses a cache whose recorded sources
// still exist but have changed size or modification time (ErrStale): rebuild it with Prepare.
func LoadCache(dir string) (*data.Dataset, *CacheInfo, error) {
	ci, err := ReadCacheInfo(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil, fmt.Errorf("%s: no prepared NYU Depth V2 cache (nyud2.json missing, or its preparation was interrupted): run 'semcom data prepare'", dir)
		}
		return nil, nil, err
	}
	for _, s := range ci.Sources {
		if now, err := describe(s.Path, false); err == nil && (now.Size != s.Size || !now.ModTime.Equal(s.ModTime)) {
			return nil, nil, fmt.Errorf("%s: %w: %s changed since the cache was built; rerun 'semcom data prepare'", dir, ErrStale, s.Path)
		}
	}
	tensors, meta, err := safetensors.Load(filepath.Join(dir, CacheFile))
	if err != nil {
		return nil, nil, err
	}
	if meta["format"] != "semcom-nyud2" {
		return nil, nil, fmt.Errorf("%s: not a semcom NYU Depth V2 cache", filepath.Join(dir, CacheFile))
	}
	defer torch.FreeAll(tensors)
	raw := func(part string) (data.RawSplit, error) {
		var r data.RawSplit
		for _, m := range []string{"rgb", "depth"} {
			t, ok := tensors[part+"."+m]
			if !ok {
				return r, fmt.Errorf("%s: tensor %s.%s missing", dir, part, m)
			}
			r.Images = append(r.Images, torch.ToSlice[uint8](t))
		}
		l, ok := tensors[part+".labels"]
		if !ok {
			return r, fmt.Errorf("%s: tensor %s.labels missing", dir, part)
		}
		r.Labels = l.Int64s()
		return r, nil
	}
	train, err := raw("train")
	if err != nil {
		return nil, nil, err
	}
	test, err := raw("test")
	if err != nil {
		return nil, nil, err
	}
	ds, err := data.FromArrays("nyud2", ci.Classes, []data.Modality{{Name: "rgb", Channels: 3}, {Name: "depth", Channels: 1}}, ci.Size, train, test)
	return ds, ci, err
}
