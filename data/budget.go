package data

import (
	"fmt"
	"math/rand/v2"
	"sort"
)

// byClassShuffled groups sample indices by label, each group in a seeded random order, with the classes
// ascending. Taking a prefix of every group gives nested subsets: the first k of a class for one budget are
// among its first k' > k for a larger one (same seed), so label budgets compare paired samples.
// stream separates the draws of the subsets that share it (label fractions, budgets, stratified subsets).
func byClassShuffled(labels []int64, seed, stream uint64) ([]int64, map[int64][]int64) {
	byClass := map[int64][]int64{}
	for i, l := range labels {
		byClass[l] = append(byClass[l], int64(i))
	}
	classes := make([]int64, 0, len(byClass))
	for c := range byClass {
		classes = append(classes, c)
	}
	sort.Slice(classes, func(i, j int) bool { return classes[i] < classes[j] })
	r := rand.New(rand.NewPCG(seed, stream))
	for _, c := range classes {
		idx := byClass[c]
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	}
	return classes, byClass
}

// Streams of byClassShuffled: label fractions keep the stream they always had, so their subsets are unchanged.
const (
	fractionStream = 0x5e3c0
	budgetStream   = 0x5e3c1
)

func sorted(idx []int64) []int64 {
	sort.Slice(idx, func(i, j int) bool { return idx[i] < idx[j] })
	return idx
}

// LabelsPerClass picks a seeded subset of exactly min(k, n_c) samples of every class c, as sorted indices:
// a label budget of k labels per class (1, 10, 100 …), the semi-supervised protocols' usual unit.
func LabelsPerClass(labels []int64, k int, seed uint64) ([]int64, error) {
	if k < 1 {
		return nil, fmt.Errorf("labels per class %d: want at least 1", k)
	}
	classes, byClass := byClassShuffled(labels, seed, budgetStream)
	var out []int64
	for _, c := range classes {
		idx := byClass[c]
		out = append(out, idx[:min(k, len(idx))]...)
	}
	return sorted(out), nil
}

// StratifiedSubset picks a seeded subset of exactly n samples whose class counts follow the whole set's
// proportions: class c gets ⌊n·n_c/N⌋, and the n − Σ⌊·⌋ left over go to the largest remainders (Hamilton's
// apportionment; ties to the lower class). It sizes a dataset down without changing its class balance.
func StratifiedSubset(labels []int64, n int, seed uint64) ([]int64, error) {
	total := len(labels)
	if n < 1 || n > total {
		return nil, fmt.Errorf("subset of %d samples: want 1..%d", n, total)
	}
	classes, byClass := byClassShuffled(labels, seed, budgetStream)
	quota := make([]int, len(classes))
	rem := make([]int, len(classes)) // n·n_c mod N: the remainder, in units of 1/N
	given := 0
	for i, c := range classes {
		prod := n * len(byClass[c])
		quota[i], rem[i] = prod/total, prod%total
		given += quota[i]
	}
	order := make([]int, len(classes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rem[order[a]] > rem[order[b]] })
	for _, i := range order[:n-given] {
		quota[i]++
	}
	var out []int64
	for i, c := range classes {
		out = append(out, byClass[c][:quota[i]]...)
	}
	return sorted(out), nil
}
