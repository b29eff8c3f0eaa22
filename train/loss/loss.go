// Package loss holds the training objectives as tensor ops: the proposed multi-modal decoupled loss
// (eqs. 7–14), Barlow Twins (eq. 19), SimCLR's NT-Xent (eq. 18) and cross-entropy for fine-tuning (eq. 16).
package loss

import (
	"fmt"

	"github.com/semcom/semcom/torch"
)

// Normalization says how a correlation matrix between two feature batches is formed.
type Normalization string

const (
	// Pearson centres each dimension over the batch, then divides by its L2 norm (what all reference code
	// does: Barlow Twins' BN then /N).
	Pearson Normalization = "pearson"
	// Cosine is eq. (8) literally: no centring, each dimension divided by its L2 norm over the batch.
	Cosine Normalization = "cosine"
)

// ParseNormalization checks a normalization name.
func ParseNormalization(s string) (Normalization, error) {
	switch Normalization(s) {
	case Pearson, Cosine:
		return Normalization(s), nil
	}
	return "", fmt.Errorf("normalization %q: want pearson or cosine", s)
}

func normalizeColumns(z *torch.Tensor, n Normalization) *torch.Tensor {
	if n == Pearson {
		z = z.Sub(z.MeanKeep(0))
	}
	return z.Div(z.NormKeep(0).AddScalar(1e-8))
}

// Correlation is C_ij = Σ_b a_bi·b_bj / (‖a_·i‖·‖b_·j‖) for batches a, b of shape (B, K) (eqs. 8 and 11).
func Correlation(a, b *torch.Tensor, n Normalization) *torch.Tensor {
	return normalizeColumns(a, n).T().MatMul(normalizeColumns(b, n))
}

// offDiagonalSquares is Σ_{i≠j} C_ij².
func offDiagonalSquares(c *torch.Tensor) *torch.Tensor {
	return c.Square().Sum().Sub(c.Diagonal().Square().Sum())
}

// Align is Σ_i (1 − C_ii)² + λ·Σ_{i≠j} C_ij²: the Barlow Twins objective (eqs. 10, 13, 19).
func Align(c *torch.Tensor, lambda float64) *torch.Tensor {
	return c.Diagonal().ScalarSub(1).Square().Sum().Add(offDiagonalSquares(c).MulScalar(lambda))
}

// Decorrelate is Σ_i C_ii² + λ·Σ_{i≠j} C_ij²: the unique-block objective (eq. 14).
func Decorrelate(c *torch.Tensor, lambda float64) *torch.Tensor {
	return c.Diagonal().Square().Sum().Add(offDiagonalSquares(c).MulScalar(lambda))
}

// BarlowTwins is eq. (19) between two feature batches.
func BarlowTwins(z1, z2 *torch.Tensor, lambda float64, n Normalization) *torch.Tensor {
	return Align(Correlation(z1, z2, n), lambda)
}

// NTXent is SimCLR's normalised-temperature cross-entropy (eq. 18) over the 2B views of a batch: each view's
// positive is its partner, the other 2B−2 views are negatives; the mean over the 2B anchors.
func NTXent(z1, z2 *torch.Tensor, temperature float64) *torch.Tensor {
	b := z1.Size(0)
	reps := torch.Cat([]*torch.Tensor{z1, z2}, 0)
	reps = reps.Div(reps.NormKeep(1).AddScalar(1e-8))
	sim := reps.MatMul(reps.T()).DivScalar(temperature)
	self := torch.Eye(2*b, torch.Bool, reps.Device())
	sim = sim.MaskedFill(self, -1e9) // a view is not its own candidate
	// View i's partner is i+B for the first B views and i−B for the rest, built on the device (a host
	// copy would synchronise a CUDA stream).
	dev := reps.Device()
	target := torch.Cat([]*torch.Tensor{torch.Arange(float64(b), float64(2*b), 1, torch.Int64, dev),
		torch.Arange(0, float64(b), 1, torch.Int64, dev)}, 0)
	return torch.CrossEntropy(sim, target, torch.ReduceMean, 0)
}

// Weighting combines the proposed loss's terms.
type Weighting string

const (
	// PlainSum is eq. (7): L_cross + L_intra, each a plain sum over modalities and ordered pairs.
	PlainSum Weighting = "sum"
	// DeCUR weights as DeCUR's code for two modalities: (Σ_m L_intra^m + mean_pairs (L_sha + L_uni)/2)/(M+1).
	DeCUR Weighting = "decur"
)

// Proposed configures the multi-modal decoupled loss of eqs. (7)–(14).
type Proposed struct {
	SharedDims                              int // K_sha: the first K_sha dimensions are shared, the rest unique
	LambdaIntra, LambdaShared, LambdaUnique float64
	Normalization                           Normalization
	Weighting                               Weighting
}

// Terms are the parts of the proposed loss, for logging.
type Terms struct {
	Total, Intra, Shared, Unique *torch.Tensor
}

// Loss computes eq. (7) from two views per modality: views[m] = {z^m, z̃^m}, each (B, K). The intra-modal
// term (eqs. 9–10) aligns each modality's two views; the cross-modal term (eqs. 11–14) runs over every
// ordered pair m ≠ n of first views, aligning the shared block C[:K_sha, :K_sha] and decorrelating the unique
// block C[K_sha:, K_sha:]. Off-block entries are not penalised, as in DeCUR.
func (p Proposed) Loss(views [][2]*torch.Tensor) Terms {
	m := len(views)
	dev := views[0][0].Device()
	intra := torch.Zeros(torch.Float32, dev)
	for _, v := range views {
		intra = intra.Add(BarlowTwins(v[0], v[1], p.LambdaIntra, p.Normalization))
	}
	shared, unique := torch.Zeros(torch.Float32, dev), torch.Zeros(torch.Float32, dev)
	k := views[0][0].Size(1)
	ks := int64(p.SharedDims)
	pairs := 0
	for a := range m {
		for b := range m {
			if a == b {
				continue
			}
			c := Correlation(views[a][0], views[b][0], p.Normalization)
			if ks > 0 {
				shared = shared.Add(Align(c.Narrow(0, 0, ks).Narrow(1, 0, ks), p.LambdaShared))
			}
			if ks < k {
				unique = unique.Add(Decorrelate(c.Narrow(0, ks, k-ks).Narrow(1, ks, k-ks), p.LambdaUnique))
			}
			pairs++
		}
	}
	var total *torch.Tensor
	if p.Weighting == DeCUR {
		cross := shared.Add(unique).DivScalar(2 * float64(max(pairs, 1)))
		total = intra.Add(cross).DivScalar(float64(m + 1))
	} else {
		total = intra.Add(shared).Add(unique)
	}
	return Terms{Total: total, Intra: intra, Shared: shared, Unique: unique}
}

// CrossEntropy is eq. (16): the mean negative log-likelihood of the true classes.
func CrossEntropy(logits, labels *torch.Tensor, labelSmoothing float64) *torch.Tensor {
	return torch.CrossEntropy(logits, labels, torch.ReduceMean, labelSmoothing)
}
