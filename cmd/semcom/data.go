package main

import (
	"fmt"
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
			if mat == "" || splits == "" || out == "" {
				return fmt.Errorf("--mat, --splits and --out are required")
			}
			ci, reused, err := prepareNYUD2(mat, splits, out, size, order)
			if err != nil {
				return err
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
	inspect := &cobra.Command{
		Use:     "inspect DIR",
		Short:   "Print the image size and per-class train/test counts of a prepared cache or a TMC folder",
		Example: "  semcom data inspect data/nyud2\n  semcom data inspect ~/nyud2_trainvaltest",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			var ds *data.Dataset
			var err error
			if _, statErr := os.Stat(filepath.Join(dir, "nyud2.json")); statErr == nil {
				ds, _, err = nyud2.LoadCache(dir)
			} else {
				ds, err = nyud2.LoadFolder(dir, inspectSize)
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s: %d×%d images, modalities", ds.Name, ds.Train.Size(), ds.Train.Size())
			for _, m := range ds.Modalities {
				fmt.Fprintf(w, " %s(%d)", m.Name, m.Channels)
			}
			fmt.Fprintln(w)
			tr := data.ClassCounts(ds.Train.Labels.Int64s(), len(ds.ClassNames))
			te := data.ClassCounts(ds.Test.Labels.Int64s(), len(ds.ClassNames))
			tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "id\tclass\ttrain\ttest\t")
			for i, c := range ds.ClassNames {
				fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t\n", i, c, tr[i], te[i])
			}
			fmt.Fprintf(tw, "\ttotal\t%d\t%d\t\n", ds.Train.N(), ds.Test.N())
			return tw.Flush()
		},
	}
	inspect.Flags().IntVar(&inspectSize, "size", 64, "resolution to load a folder layout at (a cache keeps its own)")
	cmd.AddCommand(prepare, inspect)
	return cmd
}
