package train

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/semcom/semcom/data"
	"github.com/semcom/semcom/internal/fsutil"
	"github.com/semcom/semcom/probe"
	"github.com/semcom/semcom/report"
	"github.com/semcom/semcom/torch"
)

// ProbesFile holds a pre-training job's probe results.
const ProbesFile = "probes.json"

// features computes z^m of every sample of a split for each modality (eval mode, no channel), on the host.
func (e *Env) features(sys *System, split *data.Split, limit int64) []probe.Matrix {
	n := split.N()
	if limit > 0 {
		n = min(n, limit)
	}
	out := make([]probe.Matrix, len(sys.Encoders))
	batch := int64(e.Exp.Eval.Batch)
	size := e.imageSize()
	torch.NoGrad(func() {
		for s := int64(0); s < n; s += batch {
			torch.WithScope(func() {
				idx := torch.Arange(float64(s), float64(min(n, s+batch)), 1, torch.Int64, e.Dev)
				xs, _ := split.Batch(idx)
				for m, enc := range sys.Encoders {
					if xs[m].Size(2) != size {
						xs[m] = torch.ResizeBilinear(xs[m], size, size, false)
					}
					z := e.encode(enc, enc.Modality.Normalize(xs[m]), false).ToDevice(torch.CPU).Contiguous()
					k := int(z.Size(1))
					v := z.Float32s()
					for i := range int(z.Size(0)) {
						row := make([]float64, k)
						for j := range row {
							row[j] = float64(v[i*k+j])
						}
						out[m] = append(out[m], row)
					}
				}
			})
		}
	})
	return out
}

// featureSets names the representations a probe reads: each modality's z, their concatenation and, for
// the proposed loss, the shared block z[:K_sha] and the unique block z[K_sha:] of each and of both.
func (e *Env) featureSets(sys *System, method string, zs []probe.Matrix) ([]string, []probe.Matrix) {
	var names []string
	var sets []probe.Matrix
	add := func(n string, m probe.Matrix) { names, sets = append(names, n), append(sets, m) }
	all := ""
	for m, enc := range sys.Encoders {
		add(enc.Modality.Name, zs[m])
		all += "+" + enc.Modality.Name
	}
	add(all[1:], probe.Concat(zs...))
	// The shared/unique blocks are blocks of what the loss sees: of z itself only without a projector.
	ks, k := e.Exp.SharedDims(), int(sys.K)
	if method == MethodProposed && len(e.Exp.Model.Projector) == 0 && ks > 0 && ks < k {
		var shared, unique []probe.Matrix
		for m, enc := range sys.Encoders {
			s, u := zs[m].Columns(0, ks), zs[m].Columns(ks, k)
			add(enc.Modality.Name+".shared", s)
			add(enc.Modality.Name+".unique", u)
			shared, unique = append(shared, s), append(unique, u)
		}
		add("shared (all)", probe.Concat(shared...))
		add("unique (all)", probe.Concat(unique...))
	}
	return names, sets
}

// Probes fits the frozen linear and kNN probes on the training split's features and scores them on the
// test split (reported only; the probes' settings are fixed, nothing is selected): for the class and, on
// data that records them, for each generating factor.
func (e *Env) Probes(sys *System, method string) ([]report.Probe, error) {
	train, test := e.Data.Train, e.Data.Test
	names, trainSets := e.featureSets(sys, method, e.features(sys, train, 0))
	_, testSets := e.featureSets(sys, method, e.features(sys, test, 0))
	type target struct {
		name    string
		y, ty   []int64
		classes int
	}
	targets := []target{{"class", train.Labels.Int64s(), test.Labels.Int64s(), len(e.Data.ClassNames)}}
	if d := e.Data.Design; d != nil && train.Factors != nil && test.Factors != nil {
		for i, f := range data.FactorNames {
			targets = append(targets, target{f, train.Factors[f], test.Factors[f], d.Levels[i]})
		}
	}
	var out []report.Probe
	for i, name := range names {
		for _, t := range targets {
			lin, err := probe.Linear(trainSets[i], t.y, testSets[i], t.ty, t.classes, e.Exp.Probe.Ridge)
			if err != nil {
				return nil, fmt.Errorf("probe %s on %s: %w", t.name, name, err)
			}
			knn := probe.KNN(trainSets[i], t.y, testSets[i], t.ty, e.Exp.Probe.KNN)
			out = append(out, report.Probe{Method: method, Features: name, Target: t.name, Linear: lin, KNN: knn,
				Spread: probe.Spread(testSets[i])})
		}
	}
	return out, nil
}

// spread is the collapse monitor of a pre-training epoch: the spread of the l2-normalised z (and of the
// proposed loss's blocks) over the first 256 training samples.
func (e *Env) spread(sys *System, method string) map[string]float64 {
	names, sets := e.featureSets(sys, method, e.features(sys, e.Data.Train, 256))
	out := map[string]float64{}
	for i, n := range names {
		out[n] = probe.Spread(sets[i])
	}
	return out
}

// writeProbes saves probe results in a job folder and returns the file's SHA-256.
func writeProbes(dir string, probes []report.Probe) (string, error) {
	b, err := json.MarshalIndent(probes, "", "  ")
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), fsutil.WriteFile(filepath.Join(dir, ProbesFile), b, 0o644)
}

// ReadProbes loads a job's probe results (none when the file is absent).
func ReadProbes(dir string) ([]report.Probe, error) {
	b, err := os.ReadFile(filepath.Join(dir, ProbesFile))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p []report.Probe
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ProbesFile), err)
	}
	return p, nil
}
