package sweep

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Check refuses options that sbatch would misread or that would put something else than the intended
// option into the script: negative counts, a control character (a newline starts a line of its own: a
// shell command) in any field written into it, and --time and --mem outside Slurm's own formats.
func (o SlurmOptions) Check() error {
	for _, f := range []struct {
		flag string
		v    int
	}{{"--gpus", o.GPUs}, {"--cpus", o.CPUs}, {"--throttle", o.Throttle}} {
		if f.v < 0 {
			return fmt.Errorf("%s %d: want ≥ 0 (0: %s)", f.flag, f.v, map[string]string{"--gpus": "CPU jobs", "--cpus": "Slurm's default", "--throttle": "no limit"}[f.flag])
		}
	}
	fields := []struct{ flag, v string }{{"--semcom", o.Semcom}, {"--grid", o.Grid}, {"--workdir", o.Workdir}, {"--partition", o.Partition},
		{"--account", o.Account}, {"--time", o.Time}, {"--mem", o.Mem}, {"--container-image", o.ContainerImage},
		{"--container-mounts", o.ContainerMounts}, {"--apptainer", o.Apptainer}, {"--container-semcom", o.ContainerSemcom}}
	for _, e := range o.Extra {
		fields = append(fields, struct{ flag, v string }{"--sbatch", e})
	}
	for _, f := range fields {
		if i := strings.IndexFunc(f.v, unicode.IsControl); i >= 0 {
			return fmt.Errorf("%s %q: a control character (%q) would break the sbatch script", f.flag, f.v, f.v[i])
		}
	}
	// #SBATCH lines end at the first blank: a name with one would be cut short.
	for _, f := range fields[3:7] {
		if strings.ContainsFunc(f.v, unicode.IsSpace) {
			return fmt.Errorf("%s %q: no spaces in a Slurm %s", f.flag, f.v, strings.TrimPrefix(f.flag, "--"))
		}
	}
	if o.Time != "" && !slurmTime.MatchString(o.Time) && !strings.EqualFold(o.Time, "UNLIMITED") && !strings.EqualFold(o.Time, "INFINITE") {
		return fmt.Errorf("--time %q: want one of Slurm's formats MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED (e.g. 04:00:00, 2-00)", o.Time)
	}
	if o.Mem != "" && !slurmMem.MatchString(o.Mem) {
		return fmt.Errorf("--mem %q: want an integer with an optional K, M, G or T suffix (a bare number is megabytes), e.g. 32G", o.Mem)
	}
	for _, e := range o.Extra {
		if !strings.HasPrefix(e, "-") {
			return fmt.Errorf("--sbatch %q: want an sbatch option, e.g. --qos=normal", e)
		}
	}
	return nil
}

var (
	// Slurm's time limit formats (sbatch(1), --time): minutes, minutes:seconds, hours:minutes:seconds,
	// days-hours, days-hours:minutes, days-hours:minutes:seconds.
	slurmTime = regexp.MustCompile(`^(\d+|\d+:\d+|\d+:\d+:\d+|\d+-\d+|\d+-\d+:\d+|\d+-\d+:\d+:\d+)$`)
	// sbatch --mem: an integer, megabytes unless suffixed K, M, G or T.
	slurmMem = regexp.MustCompile(`^[0-9]+[KMGTkmgt]?$`)
)

// Check refuses manifests that the API server would reject or that would not do what was asked: negative
// counts, names that are not DNS names, a relative mount path.
func (o K8sOptions) Check() error {
	for _, f := range []struct {
		flag string
		v    int
	}{{"--gpus", o.GPUs}, {"--parallelism", o.Parallelism}, {"--backoff-per-index", o.BackoffPerIdx}, {"--grace-period", o.GracePeriod}} {
		if f.v < 0 {
			return fmt.Errorf("%s %d: want ≥ 0", f.flag, f.v)
		}
	}
	if o.Namespace != "" {
		if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
			return fmt.Errorf("--namespace %q: not a Kubernetes namespace (an RFC 1123 label): %s", o.Namespace, strings.Join(errs, "; "))
		}
	}
	for _, f := range []struct{ flag, v string }{{"--pvc", o.Claim}, {"--service-account", o.ServiceAccount}} {
		if f.v != "" {
			if errs := validation.IsDNS1123Subdomain(f.v); len(errs) > 0 {
				return fmt.Errorf("%s %q: not a Kubernetes object name (an RFC 1123 subdomain): %s", f.flag, f.v, strings.Join(errs, "; "))
			}
		}
	}
	if o.MountPath != "" && !path.IsAbs(o.MountPath) {
		return fmt.Errorf("--mount %q: want an absolute path in the container, e.g. /work", o.MountPath)
	}
	for _, f := range []struct{ flag, v string }{{"--image", o.Image}, {"--mount", o.MountPath}, {"--grid-path", o.Grid}, {"--semcom", o.Semcom}} {
		if strings.ContainsFunc(f.v, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) {
			return fmt.Errorf("%s %q: no spaces or control characters", f.flag, f.v)
		}
	}
	return nil
}
