// Package sweep runs grids of experiments: a grid file names a base config, seeds and lists of values for
// any key; it expands, deterministically, into a DAG of jobs — one pre-training per method, seed and Stage-I
// values, shared by every fine-tuning job that needs it, and one fine-tuning job per point, method, label
// fraction and SNR. Jobs run one at a time by index, idempotently, so any engine can drive them: local
// processes, Slurm job arrays (slurm.go) or Kubernetes Indexed Jobs (k8s.go).
package sweep

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/semcom/semcom/config"
	"github.com/semcom/semcom/runfolder"
)

// Grid is a grid file.
type Grid struct {
	Name string `yaml:"name"` // the sweep folder is <out>/<name>
	Out  string `yaml:"out"`
	// Base is the experiment every point starts from (relative to the grid file).
	Base string `yaml:"base"`
	// Set applies the same values to every point (YAML values, as --set).
	Set map[string]any `yaml:"set"`
	// Seeds are the seed values; each point runs with each.
	Seeds []uint64 `yaml:"seeds"`
	// VarySeeds says which seeds the seed list varies: pretrain, finetune, data (default: all three).
	VarySeeds []string `yaml:"vary_seeds"`
	// Values lists values for config keys; the points are their product.
	Values map[string][]any `yaml:"grid"`

	path string
}

// Fixed are keys a grid cannot vary: where runs go, the protocol's own axes (every point runs all methods,
// label fractions and SNRs), and the seeds, which the seed list sets.
var Fixed = []string{"name", "out", "device", "threads", "methods", "data.label_fractions", "channel.snrs_db",
	"seed", "pretrain.seed", "finetune.seed", "data.seed", "data.synthetic.seed"}

var seedKeys = map[string][]string{"pretrain": {"pretrain.seed"}, "finetune": {"finetune.seed"}, "data": {"data.seed", "data.synthetic.seed"}}

// Load reads and checks a grid file: unknown fields and keys, lists on keys that cannot vary and empty
// products are errors naming the file and the key.
func Load(path string) (*Grid, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("grid: %w", err)
	}
	g := &Grid{path: path}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(g); err != nil {
		return nil, fmt.Errorf("grid %s: %w", path, err)
	}
	where := func(format string, a ...any) error {
		return fmt.Errorf("grid %s: "+format, append([]any{path}, a...)...)
	}
	if err := runfolder.ValidName(g.Name); err != nil {
		return nil, where("name %q: want %v", g.Name, err)
	}
	if g.Out == "" {
		g.Out = "runs/sweeps"
	}
	if g.Base == "" {
		return nil, where("base: name the experiment YAML every point starts from")
	}
	if !filepath.IsAbs(g.Base) {
		g.Base = filepath.Join(filepath.Dir(path), g.Base)
	}
	if len(g.Seeds) == 0 {
		return nil, where("seeds: want at least one seed (a claim needs several)")
	}
	if len(g.VarySeeds) == 0 {
		g.VarySeeds = []string{"pretrain", "finetune", "data"}
	}
	for _, v := range g.VarySeeds {
		if seedKeys[v] == nil {
			return nil, where("vary_seeds: %q is not pretrain, finetune or data", v)
		}
	}
	known := map[string]bool{}
	for _, k := range config.Keys() {
		known[k] = true
	}
	check := func(section, key string) error {
		if !known[key] && !strings.HasPrefix(key, "channel.snr_offset_db.") {
			return where("%s: unknown key %s (see 'semcom config defaults')", section, key)
		}
		if section == "grid" && slices.Contains(Fixed, key) {
			return where("%s: %s cannot vary in a grid (fixed: %s; seeds come from 'seeds')", section, key, strings.Join(Fixed, ", "))
		}
		if section == "set" && (key == "name" || key == "out" || strings.HasSuffix(key, "seed")) {
			return where("set: %s is the sweep's to set (name and out of each job; seeds from 'seeds')", key)
		}
		return nil
	}
	for k := range g.Set {
		if err := check("set", k); err != nil {
			return nil, err
		}
	}
	for k, vs := range g.Values {
		if err := check("grid", k); err != nil {
			return nil, err
		}
		if len(vs) == 0 {
			return nil, where("grid: %s has no values: the product is empty", k)
		}
		// Duplicates would be run and counted as independent points (0.5, 5.0e-1 and 0.50 are one value).
		seen := map[string]bool{}
		for _, v := range vs {
			if s := fmt.Sprint(v); seen[s] {
				return nil, where("grid: %s lists %s twice: want each value once", k, s)
			} else {
				seen[s] = true
			}
		}
	}
	seen := map[uint64]bool{}
	for _, s := range g.Seeds {
		if seen[s] {
			return nil, where("seeds: %d is listed twice: a repeated seed would be counted as two samples", s)
		}
		seen[s] = true
	}
	return g, nil
}

// Path is the grid file.
func (g *Grid) Path() string { return g.path }

// Dir is the sweep folder.
func (g *Grid) Dir() string { return filepath.Join(g.Out, g.Name) }

// Point is one combination of grid values with one seed.
type Point struct {
	Values map[string]string // key → value as YAML, for tables
	Seed   uint64
	Exp    *config.Experiment
	Hash   string // the point's config hash
}

// Label names a point's values without the seed ("channel.fading=rayleigh,model.feature_dim=32"; "base").
func (p Point) Label() string {
	if len(p.Values) == 0 {
		return "base"
	}
	var parts []string
	for _, k := range sortedKeys(p.Values) {
		parts = append(parts, k+"="+p.Values[k])
	}
	return strings.Join(parts, ",")
}

// Job is one unit of work: a pre-training or a fine-tuning.
type Job struct {
	Index  int
	Stage  string // "pretrain" or "finetune"
	Name   string // its folder below <sweep>/jobs
	Method string
	Point  *Point // for pre-training: the first point that needs it
	// LabelFraction and SNR of a fine-tuning job.
	LabelFraction, SNR float64
	Hash               string // what the job computes: Stage-I values for pre-training, the point's hash otherwise
	Deps               []int  // indices of jobs that must be done first
	depJobs            []*Job
}

// Plan is a grid expanded.
type Plan struct {
	Grid   *Grid
	Points []*Point
	Jobs   []*Job
	Hash   string // identifies the whole plan: a sweep folder made from another plan is refused
}

// Expand resolves every point and builds the job DAG: pre-training jobs first (indices 0…P−1), then
// fine-tuning jobs.
func (g *Grid) Expand() (*Plan, error) { return g.ExpandMax(DefaultMaxJobs) }

// DefaultMaxJobs bounds a plan unless --max-jobs says otherwise: a grid's product grows fast (8 keys × 10
// values are 10⁸ points), and expanding one far larger than any cluster runs would only exhaust memory.
const DefaultMaxJobs = 100000

// ExpandMax is Expand refusing, before it expands anything, a plan of more than maxJobs jobs.
func (g *Grid) ExpandMax(maxJobs int) (*Plan, error) {
	if err := g.checkSize(maxJobs); err != nil {
		return nil, err
	}
	keys := sortedKeys(g.Values)
	combos := [][]string{{}}
	for _, k := range keys {
		var next [][]string
		for _, c := range combos {
			for _, v := range g.Values[k] {
				next = append(next, append(append([]string(nil), c...), flowValue(v)))
			}
		}
		combos = next
	}
	baseExp, err := config.Resolve(g.Base, nil)
	if err != nil {
		return nil, err
	}
	// Seeds the list does not vary stay at the base config's values.
	fixedSeeds := map[string]uint64{"pretrain.seed": baseExp.PretrainSeed(), "finetune.seed": baseExp.FinetuneSeed(),
		"data.seed": baseExp.DataSeed(), "data.synthetic.seed": baseExp.Data.Synthetic.Seed}
	plan := &Plan{Grid: g}
	var pre, fine []*Job
	preByHash := map[string]*Job{}
	for _, c := range combos {
		for _, seed := range g.Seeds {
			p := &Point{Values: map[string]string{}, Seed: seed}
			var sets []config.Override
			for _, k := range sortedKeys(g.Set) {
				sets = append(sets, config.Override{Key: k, Value: flowValue(g.Set[k]), From: fmt.Sprintf("grid %s: set.%s", g.path, k)})
			}
			for i, k := range keys {
				p.Values[k] = c[i]
				sets = append(sets, config.Override{Key: k, Value: c[i], From: fmt.Sprintf("grid %s: grid.%s", g.path, k)})
			}
			sets = append(sets, config.Override{Key: "seed", Value: fmt.Sprint(seed), From: fmt.Sprintf("grid %s: seeds", g.path)})
			for _, group := range []string{"pretrain", "finetune", "data"} {
				for _, k := range seedKeys[group] {
					v := fixedSeeds[k]
					if slices.Contains(g.VarySeeds, group) {
						v = seed
					}
					sets = append(sets, config.Override{Key: k, Value: fmt.Sprint(v), From: fmt.Sprintf("grid %s: seeds", g.path)})
				}
			}
			exp, err := config.Resolve(g.Base, sets)
			if err != nil {
				return nil, err
			}
			p.Exp, p.Hash = exp, exp.Hash()
			plan.Points = append(plan.Points, p)
			for _, m := range exp.Methods {
				var deps []*Job
				if m != "supervised" {
					h := stageOneHash(exp, m)
					j, ok := preByHash[h]
					if !ok {
						j = &Job{Stage: "pretrain", Method: m, Point: p, Hash: h, Name: fmt.Sprintf("pre-%s-%.10s", m, h)}
						preByHash[h] = j
						pre = append(pre, j)
					}
					deps = append(deps, j)
				}
				for _, frac := range exp.Data.LabelFractions {
					for _, snr := range exp.Channel.SNRsDB {
						j := &Job{Stage: "finetune", Method: m, Point: p, LabelFraction: frac, SNR: snr, Hash: p.Hash,
							Name: fmt.Sprintf("ft-%s-labels%g-snr%g-%.10s", m, 100*frac, snr, p.Hash)}
						fine = append(fine, j)
						j.depJobs = deps
					}
				}
			}
		}
	}
	plan.Jobs = append(pre, fine...)
	if len(plan.Jobs) > maxJobs {
		return nil, fmt.Errorf("grid %s: %d jobs (%d pre-training, %d fine-tuning) are more than %d jobs: shrink the grid, or raise --max-jobs",
			g.path, len(plan.Jobs), len(pre), len(fine), maxJobs)
	}
	h := sha256.New()
	for i, j := range plan.Jobs {
		j.Index = i
		fmt.Fprintf(h, "%s %s\n", j.Name, j.Hash)
	}
	for _, j := range plan.Jobs {
		j.Deps = nil
		for _, d := range j.depJobs {
			j.Deps = append(j.Deps, d.Index)
		}
	}
	plan.Hash = hex.EncodeToString(h.Sum(nil))
	return plan, nil
}

// stageOneHash identifies a pre-training: the method and every value Stage I reads — the data (and its
// hold-out), the model, the pre-training section, the probes and the numerics — with the effective seeds.
func stageOneHash(e *config.Experiment, method string) string {
	flat := e.Flat()
	var lines []string
	for k, v := range flat {
		if stageOneKey(k) {
			lines = append(lines, k+"="+v)
		}
	}
	sort.Strings(lines)
	lines = append(lines, "method="+method, fmt.Sprintf("pretrain_seed=%d", e.PretrainSeed()), fmt.Sprintf("data_seed=%d", e.DataSeed()))
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:])
}

func stageOneKey(k string) bool {
	switch {
	case k == "data.label_fractions" || k == "data.seed" || k == "pretrain.seed":
		return false
	case k == "performance.amp" || k == "performance.channels_last":
		return true
	}
	for _, p := range []string{"data.", "model.", "pretrain.", "probe."} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// flowValue renders a YAML value in flow style ("rayleigh", "[0, 10]", "0.5").
func flowValue(v any) string {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	node := &yaml.Node{}
	if err := node.Encode(v); err == nil {
		setFlow(node)
		enc.Encode(node)
	}
	return strings.TrimSpace(b.String())
}

func setFlow(n *yaml.Node) {
	n.Style |= yaml.FlowStyle
	for _, c := range n.Content {
		setFlow(c)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkSize counts the plan's fine-tuning jobs from the grid's lengths alone (the protocol's axes cannot vary,
// so every point has as many as the base config with the grid's set) and refuses more than maxJobs: what
// expands afterwards is bounded (ExpandMax counts the pre-training jobs too once they are known).
func (g *Grid) checkSize(maxJobs int) error {
	var sets []config.Override
	for _, k := range sortedKeys(g.Set) {
		sets = append(sets, config.Override{Key: k, Value: flowValue(g.Set[k]), From: fmt.Sprintf("grid %s: set.%s", g.path, k)})
	}
	exp, err := config.Resolve(g.Base, sets)
	if err != nil {
		return err
	}
	perPoint := len(exp.Methods) * len(exp.Data.LabelFractions) * len(exp.Channel.SNRsDB) // fine-tuning jobs; pre-training ones come on top
	// Multiplied with a ceiling, so that no product overflows.
	ceiling := maxJobs + 1
	mul := func(a, b int) int {
		if b != 0 && a > ceiling/b {
			return ceiling
		}
		return min(a*b, ceiling)
	}
	points := len(g.Seeds)
	for _, k := range sortedKeys(g.Values) {
		points = mul(points, len(g.Values[k]))
	}
	if jobs := mul(points, perPoint); jobs > maxJobs {
		size := fmt.Sprintf("%d seeds", len(g.Seeds))
		for _, k := range sortedKeys(g.Values) {
			size += fmt.Sprintf(" × %d %s", len(g.Values[k]), k)
		}
		return fmt.Errorf("grid %s: %s points with %d fine-tuning jobs each are more than %d jobs: shrink the grid, or raise --max-jobs",
			g.path, size, perPoint, maxJobs)
	}
	return nil
}
