package nyud2

/*
#cgo pkg-config: hdf5
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

// Wrappers for the HDF5 macros (several expand to H5open() plus a global), which cgo cannot use directly.
static void h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
static hid_t h5_open(const char *path) { return H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT); }
static int h5_is_hdf5(const char *path) { return H5Fis_hdf5(path) > 0; }
static int h5_exists(hid_t f, const char *name) { return H5Lexists(f, name, H5P_DEFAULT) > 0; }

// h5_dims fills dims (at most 8) of dataset name and returns its rank, or -1.
static int h5_dims(hid_t f, const char *name, unsigned long long *dims) {
	hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
	if (d < 0) return -1;
	hid_t s = H5Dget_space(d);
	int r = H5Sget_simple_extent_ndims(s);
	hsize_t hd[8];
	if (r > 0 && r <= 8) {
		H5Sget_simple_extent_dims(s, hd, NULL);
		for (int i = 0; i < r; i++) dims[i] = hd[i];
	} else r = -1;
	H5Sclose(s);
	H5Dclose(d);
	return r;
}

// h5_open_cached opens a dataset with a 256 MiB chunk cache, so that chunks spanning several images are
// decompressed once while the images are read in order.
static hid_t h5_open_cached(hid_t f, const char *name) {
	hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
	H5Pset_chunk_cache(dapl, 12421, 256u << 20, 1.0);
	hid_t d = H5Dopen2(f, name, dapl);
	H5Pclose(dapl);
	return d;
}

// h5_read_item reads item n along the first dimension of the open dataset d into buf (kind 0 uint8, 1 float32).
static int h5_read_item(hid_t d, unsigned long long n, int kind, void *buf) {
	hid_t fs = H5Dget_space(d);
	int r = H5Sget_simple_extent_ndims(fs);
	hsize_t dims[8], start[8] = {0}, count[8];
	H5Sget_simple_extent_dims(fs, dims, NULL);
	for (int i = 0; i < r; i++) count[i] = dims[i];
	start[0] = n;
	count[0] = 1;
	herr_t e = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
	hid_t ms = H5Screate_simple(r, count, NULL);
	if (e >= 0) e = H5Dread(d, kind == 0 ? H5T_NATIVE_UCHAR : H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, buf);
	H5Sclose(ms);
	H5Sclose(fs);
	return e < 0 ? -1 : 0;
}

// h5_cell_string decodes element i of a cell of object references to MATLAB char arrays (uint16) into buf;
// it returns the length, or -1.
static int h5_cell_string(hid_t f, const char *name, int i, int n, unsigned short *buf, int cap) {
	hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
	if (d < 0) return -1;
	hobj_ref_t *refs = malloc(sizeof(hobj_ref_t) * n);
	int len = -1;
	if (H5Dread(d, H5T_STD_REF_OBJ, H5S_ALL, H5S_ALL, H5P_DEFAULT, refs) >= 0) {
		hid_t s = H5Rdereference2(d, H5P_DEFAULT, H5R_OBJECT, &refs[i]);
		if (s >= 0) {
			hid_t sp = H5Dget_space(s);
			hssize_t np = H5Sget_simple_extent_npoints(sp);
			if (np >= 0 && np <= cap && H5Dread(s, H5T_NATIVE_USHORT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0) len = (int)np;
			H5Sclose(sp);
			H5Dclose(s);
		}
	}
	free(refs);
	H5Dclose(d);
	return len;
}

static int h5_write_chunked(hid_t f, const char *name, int rank, const hsize_t *dims, const hsize_t *chunk, hid_t type, const void *buf) {
	hid_t s = H5Screate_simple(rank, dims, NULL);
	hid_t p = H5Pcreate(H5P_DATASET_CREATE);
	H5Pset_chunk(p, rank, chunk);
	H5Pset_deflate(p, 4);
	hid_t d = H5Dcreate2(f, name, type, s, H5P_DEFAULT, p, H5P_DEFAULT);
	herr_t e = d < 0 ? -1 : H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
	if (d >= 0) H5Dclose(d);
	H5Pclose(p);
	H5Sclose(s);
	return e < 0 ? -1 : 0;
}

// h5_write_labeled writes the layout of nyu_depth_v2_labeled.mat: a 512-byte userblock, images (N,3,W,H)
// uint8 and depths (N,W,H) float32 chunked per image with deflate, and sceneTypes (1,N) as object references
// to (len,1) uint16 strings in /#refs#.
static int h5_write_labeled(const char *path, int n, int w, int h, const unsigned char *images, const float *depths,
                            const unsigned short *chars, const int *lens, int with_images, int depth_w) {
	hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
	H5Pset_userblock(fcpl, 512);
	hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
	H5Pclose(fcpl);
	if (f < 0) return -1;
	int e = 0;
	hsize_t idims[4] = {n, 3, w, h}, ichunk[4] = {1, 3, w, h};
	if (with_images) e |= h5_write_chunked(f, "images", 4, idims, ichunk, H5T_NATIVE_UCHAR, images);
	hsize_t ddims[3] = {n, depth_w, h}, dchunk[3] = {1, depth_w, h};
	e |= h5_write_chunked(f, "depths", 3, ddims, dchunk, H5T_NATIVE_FLOAT, depths);
	hid_t g = H5Gcreate2(f, "#refs#", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	hobj_ref_t *refs = malloc(sizeof(hobj_ref_t) * n);
	const unsigned short *c = chars;
	for (int i = 0; i < n && !e; i++) {
		char name[64];
		snprintf(name, sizeof name, "/#refs#/s%d", i);
		hsize_t sd[2] = {lens[i], 1};
		hid_t s = H5Screate_simple(2, sd, NULL);
		hid_t d = H5Dcreate2(f, name, H5T_NATIVE_USHORT, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
		e |= H5Dwrite(d, H5T_NATIVE_USHORT, H5S_ALL, H5S_ALL, H5P_DEFAULT, c) < 0;
		H5Dclose(d);
		H5Sclose(s);
		e |= H5Rcreate(&refs[i], f, name, H5R_OBJECT, -1) < 0;
		c += lens[i];
	}
	hsize_t rd[2] = {1, n};
	hid_t rs = H5Screate_simple(2, rd, NULL);
	hid_t rdset = H5Dcreate2(f, "sceneTypes", H5T_STD_REF_OBJ, rs, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	e |= H5Dwrite(rdset, H5T_STD_REF_OBJ, H5S_ALL, H5S_ALL, H5P_DEFAULT, refs) < 0;
	H5Dclose(rdset);
	H5Sclose(rs);
	free(refs);
	H5Gclose(g);
	H5Fclose(f);
	return e ? -1 : 0;
}
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"unsafe"
)

// The serial libhdf5 is not thread-safe: every call goes through this lock.
var h5 sync.Mutex

func init() {
	h5.Lock()
	C.h5_quiet() // errors come back as values; no HDF5 error stacks on stderr
	h5.Unlock()
}

// Labeled is an open nyu_depth_v2_labeled.mat.
type Labeled struct {
	path           string
	f              C.hid_t
	images, depths C.hid_t // kept open for their chunk caches
	// N images of W×H pixels (640×480 in the official file).
	N, W, H int
}

// OpenLabeled opens the official labeled .mat and checks its layout: images (N,3,W,H) uint8, depths
// (N,W,H) float32 metres and sceneTypes, a cell of N strings (HDF5 view of MATLAB's reversed axes).
func OpenLabeled(path string) (*Labeled, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	h5.Lock()
	defer h5.Unlock()
	if C.h5_is_hdf5(cp) == 0 {
		return nil, fmt.Errorf("%s: not an HDF5 (MATLAB v7.3) file, or truncated: want NYU's nyu_depth_v2_labeled.mat", path)
	}
	f := C.h5_open(cp)
	if f < 0 {
		return nil, fmt.Errorf("%s: libhdf5 cannot open it (truncated or damaged?)", path)
	}
	l := &Labeled{path: path, f: f}
	bad := func(format string, a ...any) (*Labeled, error) {
		C.H5Fclose(f)
		return nil, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, a...))
	}
	dims := func(name string) ([]int, bool) {
		cn := C.CString(name)
		defer C.free(unsafe.Pointer(cn))
		if C.h5_exists(f, cn) == 0 {
			return nil, false
		}
		var d [8]C.ulonglong
		r := int(C.h5_dims(f, cn, &d[0]))
		out := make([]int, max(r, 0))
		for i := range out {
			out[i] = int(d[i])
		}
		return out, r >= 0
	}
	im, ok := dims("images")
	if !ok {
		return bad("variable images missing: not the labeled NYU Depth V2 file")
	}
	if len(im) != 4 || im[1] != 3 {
		return bad("images has shape %v, want (N, 3, W, H)", im)
	}
	l.N, l.W, l.H = im[0], im[2], im[3]
	dp, ok := dims("depths")
	if !ok {
		return bad("variable depths missing: not the labeled NYU Depth V2 file")
	}
	if len(dp) != 3 || dp[0] != l.N || dp[1] != l.W || dp[2] != l.H {
		return bad("depths has shape %v, want (%d, %d, %d) like images", dp, l.N, l.W, l.H)
	}
	st, ok := dims("sceneTypes")
	if !ok {
		return bad("variable sceneTypes missing: not the labeled NYU Depth V2 file")
	}
	if n := st[0] * st[len(st)-1]; len(st) != 2 || n != l.N {
		return bad("sceneTypes has shape %v, want one entry per image (%d)", st, l.N)
	}
	for _, d := range []struct {
		name string
		dst  *C.hid_t
	}{{"images", &l.images}, {"depths", &l.depths}} {
		cn := C.CString(d.name)
		*d.dst = C.h5_open_cached(f, cn)
		C.free(unsafe.Pointer(cn))
		if *d.dst < 0 {
			return bad("cannot open %s", d.name)
		}
	}
	return l, nil
}

// Close releases the file.
func (l *Labeled) Close() {
	h5.Lock()
	C.H5Dclose(l.images)
	C.H5Dclose(l.depths)
	C.H5Fclose(l.f)
	h5.Unlock()
}

// Image returns image i (0-based) as H×W×3 uint8, row-major (undoing the reversed HDF5 axes).
func (l *Labeled) Image(i int) ([]uint8, error) {
	buf := make([]uint8, 3*l.W*l.H)
	if err := l.read("images", l.images, i, 0, unsafe.Pointer(&buf[0])); err != nil {
		return nil, err
	}
	out := make([]uint8, len(buf))
	for c := range 3 {
		for x := range l.W {
			for y := range l.H {
				out[(y*l.W+x)*3+c] = buf[(c*l.W+x)*l.H+y]
			}
		}
	}
	return out, nil
}

// Depth returns depth map i (0-based) in metres as H×W float32, row-major.
func (l *Labeled) Depth(i int) ([]float32, error) {
	buf := make([]float32, l.W*l.H)
	if err := l.read("depths", l.depths, i, 1, unsafe.Pointer(&buf[0])); err != nil {
		return nil, err
	}
	out := make([]float32, len(buf))
	for x := range l.W {
		for y := range l.H {
			out[y*l.W+x] = buf[x*l.H+y]
		}
	}
	return out, nil
}

func (l *Labeled) read(name string, d C.hid_t, i, kind int, buf unsafe.Pointer) error {
	if i < 0 || i >= l.N {
		return fmt.Errorf("%s: %s index %d outside 0..%d", l.path, name, i, l.N-1)
	}
	h5.Lock()
	defer h5.Unlock()
	if C.h5_read_item(d, C.ulonglong(i), C.int(kind), buf) != 0 {
		return fmt.Errorf("%s: reading %s[%d] failed (truncated or damaged file?)", l.path, name, i)
	}
	return nil
}

// SceneTypes decodes the per-image scene type strings.
func (l *Labeled) SceneTypes() ([]string, error) {
	cn := C.CString("sceneTypes")
	defer C.free(unsafe.Pointer(cn))
	out := make([]string, l.N)
	buf := make([]C.ushort, 256)
	h5.Lock()
	defer h5.Unlock()
	for i := range out {
		n := int(C.h5_cell_string(l.f, cn, C.int(i), C.int(l.N), &buf[0], C.int(len(buf))))
		if n < 0 {
			return nil, fmt.Errorf("%s: sceneTypes{%d} is not a readable string", l.path, i+1)
		}
		r := make([]rune, n)
		for k := range n {
			r[k] = rune(buf[k])
		}
		out[i] = string(r)
	}
	return out, nil
}

// WriteLabeled writes a small file with the official layout (the MATLAB v7.3 header in a 512-byte
// userblock, reversed axes, per-image deflate chunks, object-referenced UTF-16 scene names). Tests and
// examples use it; images are H×W×3 and depths H×W, row-major.
func WriteLabeled(path string, h, w int, images [][]uint8, depths [][]float32, scenes []string) error {
	return writeLabeled(path, h, w, images, depths, scenes, true, w)
}

// writeLabeled can also leave out images or give depths another width (for bad-input tests).
func writeLabeled(path string, h, w int, images [][]uint8, depths [][]float32, scenes []string, withImages bool, depthW int) error {
	n := len(images)
	if len(depths) != n || len(scenes) != n || n == 0 {
		return fmt.Errorf("WriteLabeled: %d images, %d depths, %d scenes", n, len(depths), len(scenes))
	}
	ib := make([]uint8, n*3*w*h)
	db := make([]float32, n*w*h)
	for i := range n {
		for y := range h {
			for x := range w {
				for c := range 3 {
					ib[((i*3+c)*w+x)*h+y] = images[i][(y*w+x)*3+c]
				}
				db[(i*w+x)*h+y] = depths[i][y*w+x]
			}
		}
	}
	var chars []C.ushort
	lens := make([]C.int, n)
	for i, s := range scenes {
		for _, r := range s {
			chars = append(chars, C.ushort(r))
		}
		lens[i] = C.int(len([]rune(s)))
	}
	chars = append(chars, 0)
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	h5.Lock()
	if depthW != w {
		db = db[:n*depthW*h]
	}
	rc := C.h5_write_labeled(cp, C.int(n), C.int(w), C.int(h), (*C.uchar)(&ib[0]), (*C.float)(&db[0]), &chars[0], &lens[0],
		C.int(cbool(withImages)), C.int(depthW))
	h5.Unlock()
	if rc != 0 {
		return fmt.Errorf("WriteLabeled %s: libhdf5 write failed", path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteAt([]byte("MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: semcom fixture HDF5 schema 1.00 ."), 0)
	return err
}

func cbool(b bool) int {
	if b {
		return 1
	}
	return 0
}
