package nyud2

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const samples = "../../../shared/data/nyud2-samples"

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("NYUD2 samples not available: %v", err)
	}
	return strings.Fields(string(b))
}

func TestOfficialSplitsAndClassCounts(t *testing.T) {
	if _, err := os.Stat(filepath.Join(samples, "labels/splits.mat")); err != nil {
		t.Skipf("NYUD2 samples not available: %v", err)
	}
	s, err := ReadSplits(filepath.Join(samples, "labels/splits.mat"), 1449)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Train) != 795 || len(s.Test) != 654 {
		t.Fatalf("%d/%d images, want 795/654", len(s.Train), len(s.Test))
	}
	// Same indices as the plain-text copy (1-based there).
	for name, got := range map[string][]int{"trainNdxs.txt": s.Train, "testNdxs.txt": s.Test} {
		want := readLines(t, filepath.Join(samples, "labels", name))
		for i := range want {
			if want[i] != itoa(got[i]+1) {
				t.Fatalf("%s line %d: %s, splits.mat gives %d", name, i+1, want[i], got[i]+1)
			}
		}
	}
	scenes := readLines(t, filepath.Join(samples, "labels/sceneTypes.txt"))
	ids, err := ClassIDs(scenes, Gupta)
	if err != nil {
		t.Fatal(err)
	}
	count := func(idx []int) map[string]int {
		c := map[string]int{}
		for _, i := range idx {
			c[GuptaClasses[ids[i]]]++
		}
		return c
	}
	train, test := count(s.Train), count(s.Test)
	want := map[string][2]int{"bedroom": {192, 191}, "kitchen": {119, 106}, "living_room": {114, 107}, "bathroom": {63, 58},
		"dining_room": {62, 55}, "office": {40, 38}, "home_office": {26, 24}, "classroom": {26, 23}, "bookstore": {25, 11},
		"others": {128, 41}}
	for c, w := range want {
		if train[c] != w[0] || test[c] != w[1] {
			t.Errorf("%s: %d/%d, want %d/%d", c, train[c], test[c], w[0], w[1])
		}
	}
	alpha, _ := ClassIDs(scenes[:1], Alphabetical) // image 1 is a kitchen: TMC id 6
	if alpha[0] != 6 {
		t.Fatalf("alphabetical id of kitchen = %d, want 6", alpha[0])
	}
}

func itoa(i int) string {
	return strconv.Itoa(i)
}

func TestSplitsBadInput(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join(samples, "labels/splits.mat"))
	if err != nil {
		t.Skip(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	cases := []struct {
		path string
		n    int
		want string
	}{
		{filepath.Join(dir, "missing.mat"), 1449, "no such file"},
		{write("text.mat", []byte("hello")), 1449, "not a MATLAB v5"},
		{write("trunc.mat", good[:600]), 1449, "truncated"},
		{write("good.mat", good), 1000, "outside 1..1000"},
	}
	for _, c := range cases {
		_, err := ReadSplits(c.path, c.n)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), filepath.Base(c.path)) {
			t.Errorf("%s: %v, want an error naming the file and containing %q", filepath.Base(c.path), err, c.want)
		}
	}
	for _, c := range []struct {
		s    Splits
		want string
	}{{Splits{Train: []int{0, 1, 1}, Test: []int{2}}, "image 2 is in trainNdxs and again in trainNdxs"},
		{Splits{Train: []int{0, 1}, Test: []int{1, 2}}, "image 2 is in trainNdxs and again in testNdxs"}} {
		if err := c.s.check("s.mat"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.s, err, c.want)
		}
	}
	if err := (Splits{Train: []int{0, 1}, Test: []int{2}}).check("s.mat"); err != nil {
		t.Errorf("disjoint splits refused: %v", err)
	}
	if _, err := ClassIDs([]string{"kitchen", "spaceship"}, Gupta); err == nil || !strings.Contains(err.Error(), "spaceship") {
		t.Errorf("unknown scene type: %v", err)
	}
}
