package digital

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// buildShipped rebuilds every shipped code from its recipe: the (3,6) code from RegularCode with seed 1,
// the 802.11n codes by expanding the standard's base matrices.
func buildShipped(t *testing.T) map[string]*Code {
	t.Helper()
	out := map[string]*Code{}
	reg, cycles, err := RegularCode("regular36_n1008", 1008, 3, 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	if cycles != 0 {
		t.Errorf("regular (3,6) n=1008 seed 1: %d 4-cycles accepted during construction, expected 0", cycles)
	}
	if fc := reg.FourCycles(); fc != 0 {
		t.Errorf("regular (3,6) n=1008: FourCycles = %d, expected 0", fc)
	}
	out["regular36_n1008"] = reg
	for name, base := range map[string][][]int{"wifi_n648_r12": wifi648R12, "wifi_n648_r23": wifi648R23, "wifi_n648_r34": wifi648R34} {
		c, err := QCCode(name, base, 27)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = c
	}
	return out
}

// The shipped alist files are exactly what their recipes produce (SEMCOM_WRITE_CODES=1 rewrites them),
// and they read back to the same H.
func TestShippedCodesMatchRecipes(t *testing.T) {
	for name, c := range buildShipped(t) {
		var buf bytes.Buffer
		if err := c.WriteAlist(&buf); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("codes", name+".alist")
		if os.Getenv("SEMCOM_WRITE_CODES") == "1" {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		disk, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with SEMCOM_WRITE_CODES=1 to create it)", err)
		}
		if !bytes.Equal(disk, buf.Bytes()) {
			t.Errorf("%s differs from its recipe", path)
		}
		loaded, err := LoadCode(name)
		if err != nil {
			t.Error(err)
			continue
		}
		if loaded.N != c.N || loaded.K != c.K || len(loaded.edgeVar) != len(c.edgeVar) {
			t.Errorf("%s: loaded N=%d K=%d edges=%d, built N=%d K=%d edges=%d", name, loaded.N, loaded.K, len(loaded.edgeVar), c.N, c.K, len(c.edgeVar))
		}
	}
}
