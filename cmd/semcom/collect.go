package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/semcom/semcom/config"
	"github.com/semcom/semcom/report"
)

// SeedKeys are the keys in which the runs that collect merges may differ: seeds of one config.
var SeedKeys = []string{"seed", "data.synthetic.seed", "channel.eval_seed"}

func newCollectCmd() *cobra.Command {
	var out, title string
	opts := report.DefaultOptions("proposed")
	cmd := &cobra.Command{
		Use:   "collect RUN...",
		Short: "Merge finished runs of one config with different seeds: mean ± 95% CI, paired differences, probes, plots with CI bands",
		Long: `Reads the summary.json of each run folder (runs of one config that differ only in seed, data.synthetic.seed
or channel.eval_seed; any other difference is refused) and writes seeds-summary.md/.json/.csv and
seeds-accuracy-vs-rounds-labels<N>.png/.pdf into --out: per method, label fraction and SNR the mean and a 95%
confidence interval (Student's t over seeds) of the test accuracy at the validation-selected epoch and at the
last epoch, the rounds to the target, diverged jobs counted; the paired difference of --reference against
every other method, seed by seed, with its interval, the sd of the differences, the seeds needed for a 95%
half-width of --target-halfwidth and a verdict (wins, loses, equal within ±h, under-powered); the rounds to
the target as a censored distribution (median [IQR] over seeds, the fraction that reached it) and the test
accuracy at the --round-budgets; and the probes.`,
		Example: "  for s in 1 2 3 4 5; do semcom run -c configs/demo.yaml --name demo-s$s --set seed=$s --set data.synthetic.seed=$((100+s)); done\n" +
			"  semcom collect runs/demo-s* --out runs/demo-seeds",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.Check(); err != nil {
				return invalid(err)
			}
			var runs []report.RunResult
			var first *config.Experiment
			seen := map[string]string{} // config hash → run folder
			for _, dir := range args {
				exp, err := config.Resolve(filepath.Join(dir, "config.yaml"), nil)
				if err != nil {
					return invalid(fmt.Errorf("%s: %w", dir, err))
				}
				// The same config (seeds included) computes the same numbers: counted twice it would shrink
				// every interval with no new evidence.
				hash := exp.Hash()
				if prev, ok := seen[hash]; ok {
					return invalid(fmt.Errorf("%s has the same config and seeds as %s (%s): it is the same run twice, not another seed; leave one out",
						dir, prev, seedValues(exp)))
				}
				seen[hash] = dir
				if first == nil {
					first = exp
				} else if d := nonSeedDiff(first, exp); len(d) > 0 {
					return invalid(fmt.Errorf("%s is not a seed of %s: it differs in %s", dir, args[0], strings.Join(d, "; ")))
				}
				r, err := report.ReadRun(dir)
				if err != nil {
					return invalid(err)
				}
				runs = append(runs, r)
			}
			if out == "" {
				out = strings.TrimRight(args[0], "/") + "-seeds"
			}
			if title == "" {
				title = first.Name
			}
			md, plots, err := report.WriteSeeds(out, title, opts, runs)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), md)
			for _, p := range plots {
				fmt.Fprintln(cmd.OutOrStdout(), "plot:", p)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "summary:", filepath.Join(out, "seeds-summary.md"))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "folder for the merged summary (default: the first run's folder + '-seeds')")
	cmd.Flags().StringVar(&title, "title", "", "title of the summary (default: the config's name)")
	addReportFlags(cmd, &opts)
	return cmd
}

// addReportFlags adds the flags of report.Options.
func addReportFlags(cmd *cobra.Command, o *report.Options) {
	cmd.Flags().StringVar(&o.Reference, "reference", o.Reference, "method whose paired differences to the others are reported")
	addHalfWidthFlag(cmd, &o.TargetHalfWidth)
	cmd.Flags().Int64SliceVar(&o.RoundBudgets, "round-budgets", o.RoundBudgets, "round budgets at which test accuracy is reported (last evaluation at or before each)")
}

func addHalfWidthFlag(cmd *cobra.Command, h *float64) {
	cmd.Flags().Float64Var(h, "target-halfwidth", *h,
		"95% half-width (accuracy units, 0.03 = ±3 points) a paired difference within noise must reach to be called equal; the seeds it needs are reported")
}

// seedValues names a config's seeds ("seed=1, data.synthetic.seed=101, channel.eval_seed=7").
func seedValues(e *config.Experiment) string {
	return fmt.Sprintf("seed=%d, data.synthetic.seed=%d, channel.eval_seed=%d", e.Seed, e.Data.Synthetic.Seed, e.Channel.EvalSeed)
}

// nonSeedDiff lists the config differences other than seeds.
func nonSeedDiff(a, b *config.Experiment) []string {
	var out []string
	for _, d := range config.Diff(a, b) {
		key, _, _ := strings.Cut(d, ":")
		if !slices.Contains(SeedKeys, key) {
			out = append(out, d)
		}
	}
	return out
}

func newCompareCmd() *cobra.Command {
	opts := report.DefaultOptions("proposed")
	cmd := &cobra.Command{
		Use:   "compare A B",
		Short: "Paired comparison of two variants (two 'semcom collect' folders): B − A seed by seed, mean ± 95% CI",
		Long: `A and B are folders written by 'semcom collect' for two configs (an ablation: B changes some keys of A).
Runs are paired by their seed; for every method, label fraction and SNR the difference B − A of the test
accuracy at the validation-selected epoch is reported with a 95% Student-t interval over seeds and a verdict
(wins, loses, equal within ±h, under-powered) for B, with the sd of the differences and the seeds needed
for a 95% half-width of --target-halfwidth. The keys in which B differs from A are printed first.`,
		Example: "  semcom compare runs/results/abl-default runs/results/abl-decur",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.Check(); err != nil {
				return invalid(err)
			}
			sides := make([]map[uint64]report.RunResult, 2)
			var exps [2]*config.Experiment
			for i, dir := range args {
				runs, err := report.ReadSeeds(dir)
				if err != nil {
					return invalid(err)
				}
				sides[i] = map[uint64]report.RunResult{}
				for _, r := range runs {
					exp, err := config.Resolve(filepath.Join(r.Dir, "config.yaml"), nil)
					if err != nil {
						return invalid(fmt.Errorf("%s: %w", r.Dir, err))
					}
					if prev, ok := sides[i][exp.Seed]; ok {
						return invalid(fmt.Errorf("%s: %s and %s both have seed %d: runs are paired by seed, so each seed may appear once",
							dir, prev.Dir, r.Dir, exp.Seed))
					}
					sides[i][exp.Seed] = r
					exps[i] = exp
				}
			}
			la, lb := filepath.Base(args[0]), filepath.Base(args[1])
			rows := report.Compare(sides[0], sides[1], la, lb, opts.TargetHalfWidth)
			if len(rows) == 0 {
				return invalid(fmt.Errorf("%s and %s share no seed: nothing to pair", args[0], args[1]))
			}
			title := fmt.Sprintf("%s vs %s: %s differs in %s", la, lb, lb, strings.Join(nonSeedDiff(exps[0], exps[1]), "; "))
			fmt.Fprint(cmd.OutOrStdout(), report.CompareMarkdown(title, rows, lb))
			return nil
		},
	}
	addHalfWidthFlag(cmd, &opts.TargetHalfWidth)
	return cmd
}
