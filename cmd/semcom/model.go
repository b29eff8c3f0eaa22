package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/semcom/semcom/internal/sysmem"
	"github.com/semcom/semcom/models"
	"github.com/semcom/semcom/torch"
	"github.com/semcom/semcom/torch/nn"
)

func newModelCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "model", Short: "Inspect semcom's networks"}
	var in, width, classes int64
	summary := &cobra.Command{
		Use:   "summary",
		Short: "Print every parameter and buffer of the ResNet-18 encoder with its shape, and the totals",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in < 1 || width < 1 || classes < 0 {
				return invalid(fmt.Errorf("--in-channels and --width must be at least 1 and --classes at least 0 (got %d, %d, %d)", in, width, classes))
			}
			// Building the model allocates its parameters: refuse a size that cannot fit before trying.
			need := 4 * (models.ResNet18Params(in, width) + (8*width+1)*classes)
			if free, err := sysmem.CPU(); err == nil && need > free {
				return invalid(fmt.Errorf("--width %d: the parameters alone take %s, more than the available RAM (%s)", width, sysmem.GiB(need), sysmem.GiB(free)))
			}
			r := models.NewResNet18(models.ResNetConfig{InChannels: in, Width: width, NumClasses: classes},
				torch.NewGenerator(torch.CPU, 0))
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "name\tshape\tkind\telements")
			for _, e := range r.Store.Entries() {
				kind := "param"
				if e.Kind == nn.Buffer {
					kind = "buffer"
				}
				fmt.Fprintf(w, "%s\t%v\t%s\t%d\n", e.Name, e.Tensor.Shape(), kind, e.Tensor.Numel())
			}
			w.Flush()
			fmt.Fprintf(cmd.OutOrStdout(), "\nResNet-18: %d input channel(s), width %d, %d BN layers, feature dim %d",
				in, width, r.NumBN(), r.FeatureDim())
			if classes > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), ", fc to %d classes", classes)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\ntrainable parameters: %s\n", thousands(r.Store.NumParams()))
			return nil
		},
	}
	summary.Flags().Int64Var(&in, "in-channels", 3, "input channels (3 for RGB or HHA, 1 for depth)")
	summary.Flags().Int64Var(&width, "width", 64, "channels of the first stage (64 as torchvision)")
	summary.Flags().Int64Var(&classes, "classes", 0, "size of an fc classifier head (0: encoder only)")
	cmd.AddCommand(summary)
	return cmd
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	out := ""
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out += ","
		}
		out += string(c)
	}
	return out
}
