package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/semcom/semcom/data"
	"github.com/semcom/semcom/data/nyud2"
	"github.com/semcom/semcom/internal/progress"
)

// prepareNYUD2 builds (or reuses) the NYU Depth V2 cache with a progress bar.
func prepareNYUD2(mat, splits, out string, size int, order string) (*nyud2.CacheInfo, bool, error) {
	var bar *progress.Bar // made at the first image, when the total is known
	last := 0
	ci, reused, err := nyud2.Prepare(mat, splits, out, size, nyud2.ClassOrder(order), func(done, total int) {
		if bar == nil {
			bar = progress.New("preparing NYU Depth V2", total)
		}
		bar.Add(done-last, "")
		last = done
	})
	bar.Finish()
	return ci, reused, err
}

func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "data", Short: "Prepare and inspect datasets"}
	var mat, splits, out, order string
	var size int
	prepare := &cobra.Command{
		Use:   "prepare",
		Short: "Convert NYU Depth V2 (labeled .mat + splits.mat) once into a compact cache for training",
		Long: `Reads nyu_depth_v2_labeled.mat (MATLAB v7.3/HDF5, about 2.8 GB) and splits.mat from NYU, maps the 27 scene
types to 10 classes, resizes RGB and depth (metres / 10, as uint8) to --size and writes the cache into --out
with the sources' SHA-256. A cache built from the same sources and settings is reused; one whose sources
changed is rebuilt. Point data.kind: nyud2 and data.path at --out.`,
		Example: "  semcom data prepare --mat nyu_depth_v2_labeled.mat --splits splits.mat --out data/nyud2",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, fl := range []struct{ name, value, what string }{{"--mat", mat, "nyu_depth_v2_labeled.mat"}, {"--splits", splits, "splits.mat"}, {"--out", out, "the cache folder"}} {
				if fl.value == "" {
					return invalid(fmt.Errorf("%s: required (%s)", fl.name, fl.what))
				}
			}
			for _, fl := range [][2]string{{"--mat", mat}, {"--splits", splits}} {
				if _, err := os.Stat(fl[1]); err != nil {
					return invalidUnlessIO(fmt.Errorf("%s: %w", fl[0], err))
				}
			}
			if size < 16 {
				return invalid(fmt.Errorf("--size %d: want at least 16 pixels", size))
			}
			if _, err := nyud2.Classes(nyud2.ClassOrder(order)); err != nil {
				return invalid(fmt.Errorf("--class-order: %w", err))
			}
			ci, reused, err := prepareNYUD2(mat, splits, out, size, order)
			if err != nil { // unreadable or malformed sources are bad input; a failing disk is not
				return invalidUnlessIO(err)
			}
			verb := "wrote"
			if reused {
				verb = "up to date:"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s (%d train / %d test, %d×%d)\n", verb, filepath.Join(out, nyud2.CacheFile), ci.Train, ci.Test, ci.Size, ci.Size)
			return nil
		},
	}
	prepare.Flags().StringVar(&mat, "mat", "", "nyu_depth_v2_labeled.mat")
	prepare.Flags().StringVar(&splits, "splits", "", "splits.mat")
	prepare.Flags().StringVar(&out, "out", "", "cache folder")
	prepare.Flags().IntVar(&size, "size", 256, "stored resolution (square)")
	prepare.Flags().StringVar(&order, "class-order", "gupta", "class ids: gupta (bedroom=0 … others=9) or alphabetical (TMC)")
	var inspectSize int
	var cfg string
	var set []string
	inspect := &cobra.Command{
		Use:   "inspect [DIR]",
		Short: "Print a dataset's image size and per-class train/validation/test counts (and, for synthetic data, its design and oracle accuracy)",
		Long: `With DIR: a prepared NYU Depth V2 cache or a TMC folder. Without: the dataset a config describes (-c, --set),
after the validation split is held out. For version-2 synthetic data it also prints the factor design and the
oracle accuracy: the best a classifier that sees the generating factors can reach, with RGB alone, depth alone
and both (an upper bound on what the images allow).`,
		Example: "  semcom data inspect data/nyud2\n  semcom data inspect ~/nyud2_trainvaltest\n  semcom data inspect -c configs/demo.yaml",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ds *data.Dataset
			var err error
			switch {
			case len(args) == 0:
				f := runFlags{config: cfg, set: set}
				exp, rerr := f.resolve()
				if rerr != nil {
					return rerr
				}
				ds, err = loadData(exp)
			default:
				if _, statErr := os.Stat(filepath.Join(args[0], "nyud2.json")); statErr == nil {
					ds, _, err = nyud2.LoadCache(args[0])
				} else {
					ds, err = nyud2.LoadFolder(args[0], inspectSize)
				}
			}
			if err != nil {
				return invalid(err)
			}
			return describeDataset(cmd.OutOrStdout(), ds)
		},
	}
	inspect.Flags().IntVar(&inspectSize, "size", 64, "resolution to load a folder layout at (a cache keeps its own)")
	inspect.Flags().StringVarP(&cfg, "config", "c", "", "experiment YAML whose dataset to inspect (without DIR)")
	inspect.Flags().StringArrayVar(&set, "set", nil, "override a key (repeatable)")
	cmd.AddCommand(prepare, inspect)
	return cmd
}

// describeDataset prints sizes, per-class counts and, for designed synthetic data, the design and oracle.
func describeDataset(w io.Writer, ds *data.Dataset) error {
	fmt.Fprintf(w, "%s: %d×%d images, modalities", ds.Name, ds.Train.Size(), ds.Train.Size())
	for _, m := range ds.Modalities {
		fmt.Fprintf(w, " %s(%d)", m.Name, m.Channels)
	}
	fmt.Fprintln(w)
	if d := ds.Design; d != nil {
		rgb, depth, both := d.Oracle()
		fmt.Fprintf(w, "design: %d shared × %d RGB-only × %d depth-only levels, difficulty %g\n", d.Levels[0], d.Levels[1], d.Levels[2], d.Difficulty)
		fmt.Fprintf(w, "oracle accuracy from the generating factors: RGB %.1f%%, depth %.1f%%, both %.1f%%\n", 100*rgb, 100*depth, 100*both)
	}
	counts := func(s *data.Split) []int {
		if s == nil {
			return make([]int, len(ds.ClassNames))
		}
		return data.ClassCounts(s.Labels.Int64s(), len(ds.ClassNames))
	}
	tr, va, te := counts(ds.Train), counts(ds.Val), counts(ds.Test)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	valCol := func(v any) string { // the validation column, only where a split is held out
		if ds.Val == nil {
			return ""
		}
		return fmt.Sprintf("%v\t", v)
	}
	fmt.Fprintf(tw, "id\tclass\ttrain\t%stest\t\n", valCol("val"))
	for i, c := range ds.ClassNames {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s%d\t\n", i, c, tr[i], valCol(va[i]), te[i])
	}
	fmt.Fprintf(tw, "\ttotal\t%d\t%s%d\t\n", ds.Train.N(), valCol(val(ds)), ds.Test.N())
	return tw.Flush()
}
