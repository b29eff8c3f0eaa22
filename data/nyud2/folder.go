package nyud2

import (
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // decoders for the folder layout
	_ "image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/semcom/semcom/data"
)

// LoadFolder reads the TMC/TRecgNet layout root/{train,test}/<class>/*.png: each image holds RGB (left half)
// and depth (right half) side by side; the depth half is HHA (3 channels) unless the images are grayscale,
// then it is 1-channel depth. Class ids follow the alphabetical order of the class folders of train/.
// Every half is resized to size×size.
func LoadFolder(root string, size int) (*data.Dataset, error) {
	classes, err := classDirs(filepath.Join(root, "train"))
	if err != nil {
		return nil, err
	}
	id := map[string]int64{}
	for i, c := range classes {
		id[c] = int64(i)
	}
	var depthName string
	var depthCh int64
	var splits [2]data.RawSplit
	for si, part := range []string{"train", "test"} {
		dirs, err := classDirs(filepath.Join(root, part))
		if err != nil {
			return nil, err
		}
		r := data.RawSplit{Images: make([][]uint8, 2)}
		for _, c := range dirs {
			k, ok := id[c]
			if !ok {
				return nil, fmt.Errorf("%s: class folder %q has no counterpart in %s", filepath.Join(root, part), c, filepath.Join(root, "train"))
			}
			files, err := imageFiles(filepath.Join(root, part, c))
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				rgb, depth, name, ch, err := loadPair(f, size)
				if err != nil {
					return nil, err
				}
				if depthName == "" {
					depthName, depthCh = name, ch
				} else if name != depthName {
					return nil, fmt.Errorf("%s: depth half is %s but earlier images hold %s", f, name, depthName)
				}
				r.Images[0] = append(r.Images[0], rgb...)
				r.Images[1] = append(r.Images[1], depth...)
				r.Labels = append(r.Labels, k)
			}
		}
		splits[si] = r
	}
	mods := []data.Modality{{Name: "rgb", Channels: 3}, {Name: depthName, Channels: depthCh}}
	return data.FromArrays("folder", classes, mods, size, splits[0], splits[1])
}

func classDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("folder layout: %w (want root/{train,test}/<class>/*.png)", err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no class folders", dir)
	}
	sort.Strings(out)
	return out, nil
}

func imageFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: class folder holds no .png or .jpg image", dir)
	}
	sort.Strings(out)
	return out, nil
}

// loadPair splits one side-by-side image into resized RGB and depth halves.
func loadPair(path string, size int) (rgb, depth []uint8, depthName string, depthCh int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, "", 0, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, nil, "", 0, fmt.Errorf("%s: not a readable PNG or JPEG: %w", path, err)
	}
	b := img.Bounds()
	if b.Dx()%2 != 0 {
		return nil, nil, "", 0, fmt.Errorf("%s: width %d is odd: want RGB and depth halves side by side", path, b.Dx())
	}
	half := b.Dx() / 2
	gray := img.ColorModel() == color.GrayModel || img.ColorModel() == color.Gray16Model
	left := make([]uint8, 0, half*b.Dy()*3)
	right := make([]uint8, 0, half*b.Dy()*3)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if x-b.Min.X < half {
				left = append(left, uint8(r>>8), uint8(g>>8), uint8(bl>>8))
			} else if gray {
				right = append(right, uint8(r>>8))
			} else {
				right = append(right, uint8(r>>8), uint8(g>>8), uint8(bl>>8))
			}
		}
	}
	rgb = Resize(left, b.Dy(), half, 3, size)
	if gray {
		return rgb, Resize(right, b.Dy(), half, 1, size), "depth", 1, nil
	}
	return rgb, Resize(right, b.Dy(), half, 3, size), "hha", 3, nil
}
