// Command semcom trains and evaluates multi-modal self-supervised semantic communication systems
// (encoders on edge devices, a wireless channel, a server decoder) on libtorch through semcom's own binding.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/semcom/semcom/internal/progress"
	"github.com/semcom/semcom/runfolder"
	"github.com/semcom/semcom/torch"
)

func init() {
	// libtorch keeps grad mode, autocast and CUDA streams per OS thread: every torch call runs on main's thread.
	torch.LockThread()
}

// version is semcom's release; -ldflags "-X main.version=…" sets it, otherwise the module version Go
// stamped into the binary (its VCS revision is read from the build info either way).
var version = ""

// revision and modified are set by make with -ldflags -X (the git commit, "true" for a dirty work tree),
// for builds where Go records no VCS information.
var revision, modified string

// build is what made this binary: the version and, where Go recorded it, the VCS revision.
func build() runfolder.Provenance {
	p := runfolder.Provenance{Semcom: version, Revision: revision, Modified: modified == "true", Go: runtime.Version(), Libtorch: torch.TorchVersion()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if p.Semcom == "" && bi.Main.Version != "" {
			p.Semcom = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				p.Revision = s.Value
			case "vcs.modified":
				p.Modified = s.Value == "true"
			}
		}
	}
	if p.Semcom == "" {
		p.Semcom = "(devel)"
	}
	return p
}

func main() {
	// A panic is a bug, not bad input: Go's own exit code for it (2) would read as "invalid, never retry".
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "semcom: internal error (please report it): %v\n%s", r, debug.Stack())
			os.Exit(exitInternal)
		}
	}()
	err := newRoot().Execute()
	if err != nil {
		fmt.Fprintln(os.Stderr, "semcom:", err)
	}
	os.Exit(exitCode(err))
}

func newRoot() *cobra.Command {
	var logFormat, logLevel string
	root := &cobra.Command{
		Use:   "semcom",
		Short: "Multi-modal self-supervised semantic communication trainer",
		Long: `semcom reproduces and extends "Multi-Modal Self-Supervised Semantic Communication":
M edge devices encode one modality each (RGB, depth) with a ResNet-18 into K semantic features, send them
over a noisy wireless channel, and a server decodes the scene class. Training has two stages: label-free
multi-modal self-supervised pre-training, then supervised fine-tuning through the channel.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Example: `  make demo                                  # the whole protocol on the embedded synthetic data
  semcom run -c configs/demo.yaml --name try1
  semcom run -c configs/demo.yaml --name try1 --resume   # after a crash, a kill or Ctrl-C

Exit codes: 0 done; 1 failed (I/O, a run folder in use, …: may succeed when retried); 2 invalid config,
flag or data (fix the input first); 3 a sweep job diverged; 4 a sweep job's dependency is not done; 70 an
internal error (a bug); 128+N stopped by signal N (130: Ctrl-C, 143: SIGTERM, 138: SIGUSR1), resumable. A run
that stops where --stop-after asked exits 0 (it says so on stderr; --resume continues it).`,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			torch.LockThread() // the goroutine running a command makes every torch call (and gets the thread settings)
			return invalid(setupLogging(logFormat, logLevel))
		},
	}
	root.PersistentFlags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return invalid(err) })
	root.AddCommand(newRunCmd(), newPretrainCmd(), newFinetuneCmd(), newEvalCmd(), newCollectCmd(), newCompareCmd(), newSweepCmd(), newDataCmd(), newBenchCmd(), newConfigCmd(), newModelCmd(), newDigitalCmd(), newVersionCmd())
	invalidArgs(root)
	return root
}

func setupLogging(format, level string) error {
	switch format {
	case "text":
		logrus.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	case "json":
		logrus.SetFormatter(&logrus.JSONFormatter{})
	default:
		return fmt.Errorf("--log-format: %q is not text or json", format)
	}
	lv, err := logrus.ParseLevel(level)
	if err != nil {
		return fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)
	}
	logrus.SetLevel(lv)
	logrus.SetOutput(progress.LogOutput()) // above the progress bars while any is drawn
	return nil
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print semcom's version, the Go build, the shim's libtorch version and CUDA status",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			out := cmd.OutOrStdout()
			b := build()
			rev := b.Revision
			switch {
			case rev == "":
				rev = "revision unknown (built outside a git checkout)"
			case b.Modified:
				rev += " (with uncommitted changes)"
			}
			fmt.Fprintf(out, "semcom   %s, %s\n", b.Semcom, rev)
			fmt.Fprintf(out, "go       %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(out, "libtorch %s (shim), %d threads\n", torch.TorchVersion(), torch.NumThreads())
			cuda := "not usable"
			if torch.CUDAAvailable() {
				cuda = fmt.Sprintf("usable, %d device(s)", torch.CUDADeviceCount())
			} else if torch.HasCUDALib() {
				cuda = "library loaded, no device"
			}
			fmt.Fprintf(out, "cuda     %s\n", cuda)
		},
	}
}
