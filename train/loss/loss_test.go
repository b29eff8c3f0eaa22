package loss

import (
	"math"
	"testing"

	"github.com/semcom/semcom/torch"
)

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol || math.IsNaN(got) {
		t.Fatalf("%s = %v, want %v", name, got, want)
	}
}

func TestCorrelationByHand(t *testing.T) {
	defer torch.LockThread()()
	s := torch.NewScope()
	defer s.Close()
	a := torch.FromSlice([]float64{1, 0, 2, 1, 3, 5}, 3, 2) // columns (1,2,3) and (0,1,5)
	b := torch.FromSlice([]float64{3, 1, 2, 1, 1, 1}, 3, 2) // columns (3,2,1) and (1,1,1)
	// Pearson: col a0 centred (-1,0,1), b0 centred (1,0,-1) → -1. b1 is constant → 0 (eps keeps it finite).
	c := Correlation(a, b, Pearson).Float64s()
	near(t, "C00", c[0], -1, 1e-6)
	near(t, "C01", c[1], 0, 1e-6)
	// Cosine (eq. 8 literally): (1·3+2·2+3·1)/(√14·√14) = 10/14.
	cc := Correlation(a, b, Cosine).Float64s()
	near(t, "cosine C00", cc[0], 10.0/14, 1e-7)
	near(t, "cosine C01", cc[1], 6/(math.Sqrt(14)*math.Sqrt(3)), 1e-7)
	m := torch.FromSlice([]float64{0.5, 0.2, -0.1, 0.9}, 2, 2)
	near(t, "Align", Align(m, 0.5).Item(), 0.25+0.01+0.5*(0.04+0.01), 1e-12)
	near(t, "Decorrelate", Decorrelate(m, 0.5).Item(), 0.25+0.81+0.5*(0.04+0.01), 1e-12)
}

func TestPerfectlyCorrelatedGivesZeroAlignment(t *testing.T) {
	defer torch.LockThread()()
	s := torch.NewScope()
	defer s.Close()
	z := torch.Randn(torch.NewGenerator(torch.CPU, 1), torch.Float64, torch.CPU, 32, 8)
	near(t, "pearson, affine copy", BarlowTwins(z, z.MulScalar(2).AddScalar(3), 0, Pearson).Item(), 0, 1e-9)
	near(t, "cosine, scaled copy", BarlowTwins(z, z.MulScalar(5), 0, Cosine).Item(), 0, 1e-9)
	if v := BarlowTwins(z, z.Neg(), 0, Pearson).Item(); math.Abs(v-4*8) > 1e-6 {
		t.Fatalf("anti-correlated copy: %v, want 32", v)
	}
}

func TestNTXentByHand(t *testing.T) {
	defer torch.LockThread()()
	s := torch.NewScope()
	defer s.Close()
	z1 := torch.FromSlice([]float64{1, 0, 0, 1}, 2, 2)
	z2 := torch.FromSlice([]float64{1, 1, -1, 1}, 2, 2)
	tau := 0.5
	// Views: u0=(1,0), u1=(0,1), v0=(1,1)/√2, v1=(-1,1)/√2. Positives: u0↔v0, u1↔v1.
	vecs := [][2]float64{{1, 0}, {0, 1}, {1 / math.Sqrt2, 1 / math.Sqrt2}, {-1 / math.Sqrt2, 1 / math.Sqrt2}}
	want := 0.0
	for i := range 4 {
		pos := (i + 2) % 4
		den := 0.0
		for k := range 4 {
			if k != i {
				den += math.Exp((vecs[i][0]*vecs[k][0] + vecs[i][1]*vecs[k][1]) / tau)
			}
		}
		num := (vecs[i][0]*vecs[pos][0] + vecs[i][1]*vecs[pos][1]) / tau
		want += -(num - math.Log(den)) / 4
	}
	near(t, "NTXent", NTXent(z1, z2, tau).Item(), want, 1e-7)
}

func proposed(ks int) Proposed {
	return Proposed{SharedDims: ks, LambdaIntra: 0.0051, LambdaShared: 0.02, LambdaUnique: 0.03, Normalization: Pearson, Weighting: PlainSum}
}

func TestProposedMatchesItsDefinition(t *testing.T) {
	defer torch.LockThread()()
	s := torch.NewScope()
	defer s.Close()
	g := torch.NewGenerator(torch.CPU, 2)
	v := make([][2]*torch.Tensor, 3) // three modalities
	for i := range v {
		v[i] = [2]*torch.Tensor{torch.Randn(g, torch.Float64, torch.CPU, 16, 6), torch.Randn(g, torch.Float64, torch.CPU, 16, 6)}
	}
	p := proposed(4)
	terms := p.Loss(v)
	intra, shared, unique := 0.0, 0.0, 0.0
	for m := range v {
		intra += BarlowTwins(v[m][0], v[m][1], p.LambdaIntra, Pearson).Item()
		for n := range v {
			if n == m {
				continue
			}
			c := Correlation(v[m][0], v[n][0], Pearson)
			shared += Align(c.Narrow(0, 0, 4).Narrow(1, 0, 4), p.LambdaShared).Item()
			unique += Decorrelate(c.Narrow(0, 4, 2).Narrow(1, 4, 2), p.LambdaUnique).Item()
		}
	}
	near(t, "intra", terms.Intra.Item(), intra, 1e-9)
	near(t, "shared", terms.Shared.Item(), shared, 1e-9)
	near(t, "unique", terms.Unique.Item(), unique, 1e-9)
	near(t, "total (eq. 7)", terms.Total.Item(), intra+shared+unique, 1e-9)
	p.Weighting = DeCUR
	near(t, "DeCUR weighting", p.Loss(v).Total.Item(), (intra+(shared+unique)/(2*6))/4, 1e-9)
	// All shared: no unique term.
	if u := proposed(6).Loss(v).Unique.Item(); u != 0 {
		t.Fatalf("K_sha = K left a unique term %v", u)
	}
}

func TestLossesInvariantToBatchOrder(t *testing.T) {
	defer torch.LockThread()()
	s := torch.NewScope()
	defer s.Close()
	g := torch.NewGenerator(torch.CPU, 3)
	a1, a2 := torch.Randn(g, torch.Float64, torch.CPU, 12, 8), torch.Randn(g, torch.Float64, torch.CPU, 12, 8)
	b1, b2 := torch.Randn(g, torch.Float64, torch.CPU, 12, 8), torch.Randn(g, torch.Float64, torch.CPU, 12, 8)
	perm := torch.RandPerm(g, 12, torch.CPU)
	p := func(x *torch.Tensor) *torch.Tensor { return x.IndexSelect(0, perm) }
	pr := proposed(6)
	near(t, "proposed", pr.Loss([][2]*torch.Tensor{{p(a1), p(a2)}, {p(b1), p(b2)}}).Total.Item(),
		pr.Loss([][2]*torch.Tensor{{a1, a2}, {b1, b2}}).Total.Item(), 1e-9)
	near(t, "barlow", BarlowTwins(p(a1), p(a2), 0.0051, Cosine).Item(), BarlowTwins(a1, a2, 0.0051, Cosine).Item(), 1e-9)
	near(t, "ntxent", NTXent(p(a1), p(a2), 0.5).Item(), NTXent(a1, a2, 0.5).Item(), 1e-9)
}

func TestLossGradientsMatchFiniteDifferences(t *testing.T) {
	defer torch.LockThread()()
	s := torch.NewScope()
	defer s.Close()
	g := torch.NewGenerator(torch.CPU, 4)
	x0 := torch.Randn(g, torch.Float64, torch.CPU, 4*6*4).Float64s() // 4 tensors of (6, 4)
	split := func(x *torch.Tensor) [4]*torch.Tensor {
		var r [4]*torch.Tensor
		for i := range r {
			r[i] = x.Narrow(0, int64(i*24), 24).Reshape(6, 4)
		}
		return r
	}
	cases := []struct {
		name string
		f    func(x *torch.Tensor) *torch.Tensor
	}{
		{"proposed", func(x *torch.Tensor) *torch.Tensor {
			v := split(x)
			return proposed(3).Loss([][2]*torch.Tensor{{v[0], v[1]}, {v[2], v[3]}}).Total
		}},
		{"proposed-cosine-decur", func(x *torch.Tensor) *torch.Tensor {
			v := split(x)
			p := proposed(2)
			p.Normalization, p.Weighting = Cosine, DeCUR
			return p.Loss([][2]*torch.Tensor{{v[0], v[1]}, {v[2], v[3]}}).Total
		}},
		{"barlow", func(x *torch.Tensor) *torch.Tensor { v := split(x); return BarlowTwins(v[0], v[3], 0.1, Pearson) }},
		{"ntxent", func(x *torch.Tensor) *torch.Tensor { v := split(x); return NTXent(v[1], v[2], 0.5) }},
	}
	for _, c := range cases {
		x := torch.FromSlice(x0).RequiresGrad_(true)
		c.f(x).Backward()
		got := x.Grad().Float64s()
		for i := 0; i < len(x0); i += 7 { // a spread of coordinates keeps the test quick
			xp := append([]float64(nil), x0...)
			xm := append([]float64(nil), x0...)
			xp[i] += 1e-6
			xm[i] -= 1e-6
			var num float64
			torch.WithScope(func() { num = (c.f(torch.FromSlice(xp)).Item() - c.f(torch.FromSlice(xm)).Item()) / 2e-6 })
			if math.Abs(num-got[i]) > 1e-5*math.Max(1, math.Abs(num)) {
				t.Fatalf("%s: d/dx[%d] autograd %v, finite difference %v", c.name, i, got[i], num)
			}
		}
	}
}
