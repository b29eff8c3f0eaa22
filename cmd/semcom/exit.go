package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/semcom/semcom/sweep"
	"github.com/semcom/semcom/train"
)

// Exit codes, a contract for scripts and schedulers (see README, "Exit codes").
const (
	exitOK      = 0
	exitFailed  = 1                 // anything else: I/O, a lock held by another process, a library error; may succeed on retry
	exitInvalid = sweep.ExitInvalid // invalid config, flag or data: never worth retrying unchanged
	// exitInternal is a panic (a bug); Go's default exit code for one, 2, would read as invalid input.
	exitInternal = 70
	// An interrupted run exits with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM, 138 for SIGUSR1), as shells do.
)

// invalidError marks bad input.
type invalidError struct{ err error }

func (e *invalidError) Error() string { return e.err.Error() }
func (e *invalidError) Unwrap() error { return e.err }

func invalid(err error) error {
	if err == nil {
		return nil
	}
	return &invalidError{err}
}

// exitCode maps a command's error to the process exit code.
func exitCode(err error) int {
	var inv *invalidError
	var intr *train.InterruptedError
	var ex *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ex):
		return ex.code
	case errors.As(err, &intr):
		if s, ok := intr.Signal.(syscall.Signal); ok {
			return 128 + int(s)
		}
		return 128 + int(syscall.SIGINT)
	case errors.As(err, &inv), errors.As(err, new(*train.ResumeMismatchError)):
		return exitInvalid
	case errors.As(err, new(*train.DivergedError)):
		return sweep.ExitDiverged // a result, not a failure to retry
	case errors.Is(err, train.ErrStopped):
		// --stop-after did what it was asked: the job is checkpointed and --resume continues it. The message
		// still goes to stderr; a script that needs "finished" reads the run folder's summary, not the code.
		return exitOK
	}
	return exitFailed
}

// invalidUnlessIO marks an error reading an input (a checkpoint, a .mat) as invalid input unless the
// machine is to blame: permission denied, a full or read-only disk, an I/O error, too many open files or a
// lock held elsewhere may succeed when retried, and keep exit code 1.
func invalidUnlessIO(err error) error {
	if err == nil {
		return nil
	}
	for _, e := range []error{fs.ErrPermission, syscall.ENOSPC, syscall.EROFS, syscall.EIO, syscall.EMFILE, syscall.ENFILE,
		syscall.EAGAIN, syscall.EBUSY, syscall.EDQUOT, syscall.ESTALE} {
		if errors.Is(err, e) {
			return err
		}
	}
	return invalid(err)
}

// invalidArgs makes cobra's argument-count errors of every command invalid input (exit 2), like flag errors,
// and an unknown subcommand too: cobra would print a group's help and exit 0 for 'semcom sweep lcoal'.
func invalidArgs(cmd *cobra.Command) {
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error { return invalid(args(c, a)) }
	}
	if !cmd.Runnable() && cmd.HasSubCommands() {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if len(a) > 0 {
				return invalid(fmt.Errorf("unknown command %q for %q (see '%s --help')", a[0], c.CommandPath(), c.CommandPath()))
			}
			return nil
		}
		cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	}
	for _, c := range cmd.Commands() {
		invalidArgs(c)
	}
}

// resumable adds to an interruption how to continue exactly where it stopped.
func resumable(err error) error {
	var intr *train.InterruptedError
	if !errors.As(err, &intr) {
		return err
	}
	return fmt.Errorf("%w\nresume exactly where it stopped with: %s", err, resumeCommand(os.Args))
}

// resumeCommand is the command line that continues a run: the same arguments, with --resume instead of
// --overwrite. A sweep command resumes by running again as it was (its jobs continue from their
// checkpoints; it has no --resume).
func resumeCommand(args []string) string {
	if len(args) > 1 && args[1] == "sweep" {
		return shellJoin(args)
	}
	var out []string
	for _, a := range args {
		if a != "--overwrite" && a != "--overwrite=true" {
			out = append(out, a)
		}
	}
	if !slices.Contains(out, "--resume") {
		out = append(out, "--resume")
	}
	return shellJoin(out)
}

// shellJoin writes a command line that a POSIX shell reads back as args ('methods=[proposed]' is a glob
// unquoted).
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = sweep.ShellQuote(a)
	}
	return strings.Join(q, " ")
}

// watchSignals turns the first SIGINT, SIGTERM or SIGUSR1 (what Slurm's --signal sends before a time limit or
// a pre-emption) into a request to stop after the current optimiser step (the job's checkpoints are kept, so
// --resume continues exactly); a second one exits at once.
func watchSignals() (interrupted func() os.Signal, stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGUSR1)
	var got atomic.Value
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			got.Store(s)
			logrus.Warnf("%v: stopping after the current step (send it again to exit at once)", s)
		case <-done:
			return
		}
		select {
		case s := <-ch:
			fmt.Fprintf(os.Stderr, "semcom: %v again: exiting now; the run resumes from its newest checkpoint with --resume\n", s)
			os.Exit(128 + int(s.(syscall.Signal)))
		case <-done:
		}
	}()
	return func() os.Signal {
			if s, ok := got.Load().(os.Signal); ok {
				return s
			}
			return nil
		}, func() {
			signal.Stop(ch)
			close(done)
		}
}
