package main

import (
	"os"
	"strings"
	"testing"

	"github.com/semcom/semcom/data/mnist"
)

// semcom data inspect on the MNIST halves config: the class-stratified 2000/2000 subsets and the 10%
// validation hold-out, worked by hand from MNIST's class counts. Train: n_c·2000/60000 = 197.43 224.73
// 198.6 204.37 194.73 180.7 197.27 208.83 195.03 198.3, floors (1995) plus one for the five largest
// remainders (classes 7, 1, 4, 5, 2); validation: round(10%) of each; test: n_c/5 with the four largest
// remainders (8, 9, 6, 7) rounded up.
func TestInspectMNISTHalves(t *testing.T) {
	if _, err := mnist.MNIST.Find(""); err != nil {
		t.Skipf("%v", err)
	}
	out, err := run(t, "data", "inspect", "-c", "../../configs/mnist-halves.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mnist-halves: 28×28 images, modalities left(1) right(1)",
		"1      1    202   23   227", "7      7    188   21   206", "8      8    175   20   195", "total   1798  202  2000"} {
		if !strings.Contains(out, want) {
			t.Fatalf("inspect lacks %q:\n%s", want, out)
		}
	}
	_, err = run(t, "data", "inspect", "-c", "../../configs/mnist-halves.yaml", "--set", "data.path="+t.TempDir())
	if err == nil || exitCode(err) != exitInvalid || !strings.Contains(err.Error(), "go mod download "+mnist.GoMNISTModule) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("absent files: %v", err)
	}
}

// Fashion-MNIST is balanced: 200 of each class in the 2000 training images, 20 of them held out.
func TestInspectFashionMNISTHalves(t *testing.T) {
	if _, err := os.Stat(mnist.DebianFashionDir); err != nil {
		t.Skip("Fashion-MNIST absent: apt-get install dataset-fashion-mnist")
	}
	out, err := run(t, "data", "inspect", "-c", "../../configs/fashion-mnist-halves.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"9   Ankle boot    180   20   200", "total   1800  200  2000"} {
		if !strings.Contains(out, want) {
			t.Fatalf("inspect lacks %q:\n%s", want, out)
		}
	}
}
