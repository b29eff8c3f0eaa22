package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/semcom/semcom/internal/fsutil"
	"github.com/semcom/semcom/report"
	"github.com/semcom/semcom/runfolder"
	"github.com/semcom/semcom/sweep"
	"github.com/semcom/semcom/train"
)

func newSweepCollectCmd(load planLoader) *cobra.Command {
	opts := report.DefaultOptions("proposed")
	cmd := &cobra.Command{
		Use:   "collect",
		Short: "Merge the finished jobs: mean ± 95% CI over seeds per point, paired differences, probes, plots with CI bands",
		Long: `Reads the sweep folder alone. For every point of the grid (its values without the seed) it merges the seeds
whose jobs are all finished into <sweep>/collect/<point>/seeds-summary.{md,json,csv} and accuracy-vs-rounds
plots with the mean curve and a shaded 95% band, and writes <sweep>/summary.md, summary.json and summary.csv
over all points. Intervals are Student's t over seeds; differences of --reference against every other method are
paired seed by seed, with the sd of the differences and the seeds needed for a 95% half-width of
--target-halfwidth; rounds to the target are a censored distribution (median [IQR], fraction reached) and
test accuracy is reported at the --round-budgets. Jobs that diverged are counted and shown, not dropped; seeds with unfinished jobs are
left out and listed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.Check(); err != nil {
				return invalid(err)
			}
			p, err := load()
			if err != nil {
				return err
			}
			if err := p.Check(); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					return invalid(fmt.Errorf("%s holds no sweep yet: run it first", p.Grid.Dir()))
				}
				return invalid(err)
			}
			// One collect at a time; the leftovers of an interrupted one (*.tmp-*) go first.
			collectDir := filepath.Join(p.Grid.Dir(), "collect")
			if err := os.MkdirAll(collectDir, 0o755); err != nil {
				return err
			}
			lock, err := runfolder.Acquire(collectDir)
			if err != nil {
				return err
			}
			defer lock.Release()
			if _, err := fsutil.CleanTemp(collectDir); err != nil {
				return err
			}
			var labels []string
			groups := map[string][]report.RunResult{}
			seeds := map[string]map[uint64]report.RunResult{} // the same runs by seed, for pairing points
			var missing []string
			for _, pt := range p.Points {
				r, incomplete := pointResult(p, pt)
				if incomplete != "" {
					missing = append(missing, fmt.Sprintf("%s seed %d (%s)", pt.Label(), pt.Seed, incomplete))
					continue
				}
				if _, ok := groups[pt.Label()]; !ok {
					labels = append(labels, pt.Label())
				}
				groups[pt.Label()] = append(groups[pt.Label()], r)
				if seeds[pt.Label()] == nil {
					seeds[pt.Label()] = map[uint64]report.RunResult{}
				}
				seeds[pt.Label()][pt.Seed] = r
			}
			type pointJSON struct {
				Point  string             `json:"point"`
				Rows   []report.SeedRow   `json:"rows"`
				Paired []report.PairedRow `json:"paired"`
				Probes []report.ProbeRow  `json:"probes,omitempty"`
			}
			var points []pointJSON
			var md, csv bytes.Buffer
			fmt.Fprintf(&md, "# Sweep %s\n\nGrid %s; plan %.12s; %d points × %d seeds.\n", p.Grid.Name, p.Grid.Path(), p.Hash, len(p.Points)/len(p.Grid.Seeds), len(p.Grid.Seeds))
			if len(missing) > 0 {
				fmt.Fprintf(&md, "\nLeft out (unfinished jobs): %s.\n", strings.Join(missing, "; "))
			}
			csv.WriteString("point," + report.SeedsCSVHeader(opts.RoundBudgets))
			for i, label := range labels {
				dir := filepath.Join(p.Grid.Dir(), "collect", fmt.Sprintf("%02d-%s", i, safeName(label)))
				out, _, err := report.WriteSeeds(dir, label, opts, groups[label])
				if err != nil {
					return err
				}
				md.WriteString("\n" + strings.Replace(out, "# ", "## ", 1))
				rows, paired, probes, _ := report.Aggregate(groups[label], opts)
				points = append(points, pointJSON{label, rows, paired, probes})
				for _, r := range rows {
					fmt.Fprintf(&csv, "%q,%s", label, report.SeedsCSVRow(r))
				}
			}
			// Points against the first (an ablation's baseline), seed by seed.
			if len(labels) > 1 {
				base := seeds[labels[0]]
				fmt.Fprintf(&md, "\n## Points against %s (paired by seed; test accuracy at the val-selected epoch, points)\n", labels[0])
				for _, label := range labels[1:] {
					rows := report.Compare(base, seeds[label], labels[0], label, opts.TargetHalfWidth)
					if len(rows) > 0 {
						md.WriteString("\n" + report.CompareMarkdown("### "+label, rows, label))
					}
				}
			}
			js, err := json.MarshalIndent(struct {
				Sweep, Plan string
				Missing     []string    `json:"left_out"`
				Points      []pointJSON `json:"points"`
			}{p.Grid.Name, p.Hash, missing, points}, "", "  ")
			if err != nil {
				return err
			}
			for name, body := range map[string][]byte{"summary.md": md.Bytes(), "summary.csv": csv.Bytes(), "summary.json": js} {
				if err := fsutil.WriteFile(filepath.Join(p.Grid.Dir(), name), body, 0o644); err != nil {
					return err
				}
			}
			fmt.Fprint(cmd.OutOrStdout(), md.String())
			fmt.Fprintln(cmd.OutOrStdout(), "summary:", filepath.Join(p.Grid.Dir(), "summary.md"))
			return nil
		},
	}
	addReportFlags(cmd, &opts)
	return cmd
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._=,-]+`)

func safeName(s string) string {
	s = unsafeChars.ReplaceAllString(s, "_")
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

// pointResult assembles one point's results (one seed) from its jobs' folders, like a run's summary; it
// names what is unfinished instead when a job is not done.
// lastEpoch is the highest epoch of a job's metric rows (0 for none).
func lastEpoch(rows []train.Row) int {
	n := 0
	for _, r := range rows {
		n = max(n, r.Epoch)
	}
	return n
}

func pointResult(p *sweep.Plan, pt *sweep.Point) (report.RunResult, string) {
	r := report.RunResult{Dir: fmt.Sprintf("%s seed %d", pt.Label(), pt.Seed)}
	seenPre := map[int]bool{}
	for _, j := range p.Jobs {
		if j.Stage != "finetune" || j.Point != pt {
			continue
		}
		c := report.Curve{Method: j.Method, LabelFraction: j.LabelFraction, SNR: j.SNR}
		switch st := p.StateOf(j); st.Status {
		case "done":
			job := train.FinetuneJob{Method: j.Method, LabelFraction: j.LabelFraction, TrainSNR: j.SNR}
			m, err := train.LoadMetrics(job.Dir(p.JobDir(j)), pt.Exp.Channel.SNRsDB, math.MaxInt)
			if err != nil {
				return r, err.Error()
			}
			// DONE vouches for a complete job: metrics that end early were damaged or removed since.
			if last := lastEpoch(m.Rows); last != pt.Exp.Finetune.Epochs {
				return r, fmt.Sprintf("%s is done but its metrics end at epoch %d of %d (damaged or removed: rerun it)", j.Name, last, pt.Exp.Finetune.Epochs)
			}
			c = train.CurveFrom(c, m.Rows, train.Ledger{})
		case "diverged":
			c.Diverged = st.Detail
		default:
			return r, fmt.Sprintf("%s is %s", j.Name, st.Status)
		}
		r.Curves = append(r.Curves, c)
		for _, d := range j.Deps {
			if seenPre[d] {
				continue
			}
			seenPre[d] = true
			dep := p.Jobs[d]
			probes, err := train.ReadProbes(filepath.Join(p.JobDir(dep), "pretrain", dep.Method))
			if err == nil {
				r.Probes = append(r.Probes, probes...)
			}
		}
	}
	r.Summary = report.Summarize(r.Curves)
	return r, ""
}
