package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/semcom/semcom/digital"
)

func newDigitalCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "digital",
		Short: "The digital baseline's blocks: BER/BLER of a modulation and LDPC code",
	}
	cmd.AddCommand(newDigitalBERCmd())
	return cmd
}

func newDigitalBERCmd() *cobra.Command {
	var mod, code, snrs, alg string
	var target, maxBits int64
	var iters int
	var alpha float64
	var maxLog bool
	var seed uint64
	cmd := &cobra.Command{
		Use:   "ber",
		Short: "BER and BLER vs Es/N0 of a modulation and code over AWGN (Monte Carlo, with 95% Clopper–Pearson intervals)",
		Long: `Sends random information bits through an LDPC code (a shipped one by name, or an alist file) and a
Gray-mapped constellation over y = x + n at each Es/N0 (per complex symbol, unit symbol energy), demaps
to LLRs (exact, or max-log) and decodes. Each point stops after --target-errors information-bit errors
or --max-bits information bits, whichever comes first, and reports its 95% Clopper–Pearson intervals.
Shipped codes: ` + strings.Join(digital.ShippedCodes, ", ") + `; --code none sends uncoded bits.`,
		Example: "  semcom digital ber --modulation qpsk --code wifi_n648_r12 --snr 0,1,2,3\n  semcom digital ber --modulation 16qam --code none --snr 6,9,12",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := digital.ParseModulation(mod)
			if err != nil {
				return invalid(fmt.Errorf("--modulation: %w", err))
			}
			mcs := digital.MCS{Name: mod + "/" + code, Mod: m}
			if code != "none" {
				if mcs.Code, err = digital.LoadCode(code); err != nil {
					return invalid(fmt.Errorf("--code: %w", err))
				}
			}
			o := digital.SimOptions{TargetBitErrors: target, MaxBits: maxBits, MaxIter: iters, Alpha: alpha, MaxLog: maxLog, Seed: seed}
			switch alg {
			case "sum-product":
				o.Alg = digital.SumProduct
			case "min-sum":
				o.Alg = digital.MinSum
			default:
				return invalid(fmt.Errorf("--decoder %q: want sum-product or min-sum", alg))
			}
			if target <= 0 || maxBits <= 0 || iters <= 0 {
				return invalid(fmt.Errorf("--target-errors %d, --max-bits %d, --iterations %d: want each > 0", target, maxBits, iters))
			}
			var points []float64
			for _, f := range strings.Split(snrs, ",") {
				v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
				if err != nil {
					return invalid(fmt.Errorf("--snr %q: want dB values separated by commas, e.g. 0,1,2", snrs))
				}
				points = append(points, v)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintf(w, "# %s, %.3g information bits per complex symbol\n", mcs.Name, mcs.InfoBitsPerSymbol())
			fmt.Fprintln(w, "es_n0_db\tbits\tbit_errors\tber\tber_95ci\tblocks\tblock_errors\tbler\tbler_95ci")
			for _, s := range points {
				r, err := digital.SimulateBER(mcs, s, o)
				if err != nil {
					return invalid(err)
				}
				fmt.Fprintf(w, "%g\t%d\t%d\t%.3e\t[%.2e, %.2e]\t%d\t%d\t%.3e\t[%.2e, %.2e]\n", s, r.Bits, r.BitErrors, r.BER, r.BERLo, r.BERHi,
					r.Blocks, r.BlockErrors, r.BLER, r.BLERLo, r.BLERHi)
			}
			return w.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&mod, "modulation", "qpsk", "bpsk, qpsk, 16qam or 64qam")
	f.StringVar(&code, "code", "wifi_n648_r12", "a shipped LDPC code, an alist file, or none")
	f.StringVar(&snrs, "snr", "0,1,2,3", "Es/N0 points in dB, comma-separated")
	f.StringVar(&alg, "decoder", "sum-product", "sum-product or min-sum")
	f.IntVar(&iters, "iterations", 50, "decoder iteration limit")
	f.Float64Var(&alpha, "alpha", 0.8, "min-sum normalisation")
	f.BoolVar(&maxLog, "max-log", false, "max-log LLRs instead of exact")
	f.Int64Var(&target, "target-errors", 200, "stop a point after this many information-bit errors")
	f.Int64Var(&maxBits, "max-bits", 2_000_000, "or after this many information bits")
	f.Uint64Var(&seed, "seed", 1, "random seed")
	return cmd
}
