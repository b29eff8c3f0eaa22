package probe

import (
	"math"
	"math/rand/v2"
	"testing"
)

// planted draws n samples whose features hold a linearly decodable factor (3 levels) in the first dims
// columns and pure noise in the rest.
func planted(r *rand.Rand, n, signal, noise int) (Matrix, []int64) {
	x := make(Matrix, n)
	y := make([]int64, n)
	for i := range x {
		y[i] = int64(r.IntN(3))
		x[i] = make([]float64, signal+noise)
		for j := range x[i] {
			x[i][j] = r.NormFloat64()
		}
		for j := range signal {
			x[i][j] += 3 * math.Cos(float64(y[i])*2*math.Pi/3+float64(j)) // three well separated centres
		}
	}
	return x, y
}

func TestProbesRecoverAPlantedFactor(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x, y := planted(r, 600, 4, 12)
	tx, ty := planted(r, 300, 4, 12)
	lin, err := Linear(x, y, tx, ty, 3, 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	knn := KNN(x.Columns(0, 4), y, tx.Columns(0, 4), ty, 10)
	if lin < 0.95 || knn < 0.95 {
		t.Fatalf("on the planted block: linear %.3f, kNN %.3f", lin, knn)
	}
	// The noise block alone holds nothing: near chance (1/3).
	noise, _ := Linear(x.Columns(4, 16), y, tx.Columns(4, 16), ty, 3, 1e-3)
	if noise > 0.45 || KNN(x.Columns(4, 16), y, tx.Columns(4, 16), ty, 10) > 0.45 {
		t.Fatalf("the noise block is decodable: linear %.3f", noise)
	}
	if got := Concat(x.Columns(0, 4), x.Columns(4, 16)); len(got[0]) != 16 || got[5][7] != x[5][7] {
		t.Fatal("Concat")
	}
}

func TestLinearOnAHandCase(t *testing.T) {
	// Two points per class on a line: any linear probe separates them.
	x := Matrix{{-2}, {-1}, {1}, {2}}
	y := []int64{0, 0, 1, 1}
	if acc, err := Linear(x, y, Matrix{{-3}, {3}, {0.5}}, []int64{0, 1, 1}, 2, 1e-6); err != nil || acc != 1 {
		t.Fatalf("accuracy %v, %v", acc, err)
	}
}

func TestSpread(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := make(Matrix, 2000)
	same := make(Matrix, 100)
	for i := range x {
		x[i] = []float64{r.NormFloat64(), r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}
	}
	for i := range same {
		same[i] = []float64{1, 2, 3, 4}
	}
	if s := Spread(x); math.Abs(s-0.5) > 0.03 { // 1/√4
		t.Fatalf("isotropic spread %.3f, want ≈ 0.5", s)
	}
	if s := Spread(same); s > 1e-9 {
		t.Fatalf("collapsed spread %g", s)
	}
}
