package sweep

import (
	"strings"
	"testing"
)

// TestSlurmOptionFormats: every format sbatch(1) documents for --time and --mem passes; near misses are
// refused naming the flag.
func TestSlurmOptionFormats(t *testing.T) {
	for _, c := range []struct {
		o    SlurmOptions
		flag string // "" when valid
	}{
		{SlurmOptions{Time: "30"}, ""},         // MM
		{SlurmOptions{Time: "30:15"}, ""},      // MM:SS
		{SlurmOptions{Time: "04:00:00"}, ""},   // HH:MM:SS
		{SlurmOptions{Time: "2-12"}, ""},       // D-HH
		{SlurmOptions{Time: "2-12:30"}, ""},    // D-HH:MM
		{SlurmOptions{Time: "2-12:30:00"}, ""}, // D-HH:MM:SS
		{SlurmOptions{Time: "UNLIMITED"}, ""},
		{SlurmOptions{Time: "4h"}, "--time"},
		{SlurmOptions{Time: "1:2:3:4"}, "--time"},
		{SlurmOptions{Time: "-1"}, "--time"},
		{SlurmOptions{Time: "1-"}, "--time"},
		{SlurmOptions{Time: "1-2-3"}, "--time"},
		{SlurmOptions{Mem: "32000"}, ""}, // megabytes
		{SlurmOptions{Mem: "512K"}, ""},
		{SlurmOptions{Mem: "32G"}, ""},
		{SlurmOptions{Mem: "1T"}, ""},
		{SlurmOptions{Mem: "32GB"}, "--mem"},
		{SlurmOptions{Mem: "1.5G"}, "--mem"},
		{SlurmOptions{Mem: "-4G"}, "--mem"},
		{SlurmOptions{Partition: "gpu\nrm -rf ~"}, "--partition"},
		{SlurmOptions{Account: "a b"}, "--account"},
		{SlurmOptions{Workdir: "/scratch/my runs"}, ""}, // quoted in the script
		{SlurmOptions{Workdir: "/scratch\n/x"}, "--workdir"},
		{SlurmOptions{Extra: []string{"--qos=normal"}}, ""},
		{SlurmOptions{Extra: []string{"--qos=normal\x00"}}, "--sbatch"},
		{SlurmOptions{Extra: []string{"echo hi"}}, "--sbatch"},
		{SlurmOptions{GPUs: -1}, "--gpus"},
		{SlurmOptions{CPUs: -4}, "--cpus"},
		{SlurmOptions{Throttle: -1}, "--throttle"},
	} {
		err := c.o.Check()
		switch {
		case c.flag == "" && err != nil:
			t.Errorf("%+v refused: %v", c.o, err)
		case c.flag != "" && (err == nil || !strings.HasPrefix(err.Error(), c.flag+" ")):
			t.Errorf("%+v: want an error naming %s, got %v", c.o, c.flag, err)
		}
	}
}

func TestK8sOptionChecks(t *testing.T) {
	ok := K8sOptions{Image: "registry.example/semcom:cuda", Claim: "semcom-runs", MountPath: "/work", Namespace: "ml-team", GPUs: 1}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for flag, o := range map[string]K8sOptions{
		"--namespace":         {Namespace: "Bad_NS!"},
		"--pvc":               {Claim: "My Claim"},
		"--service-account":   {ServiceAccount: "sa_1"},
		"--mount":             {MountPath: "work"},
		"--backoff-per-index": {BackoffPerIdx: -1},
		"--parallelism":       {Parallelism: -2},
		"--gpus":              {GPUs: -1},
		"--image":             {Image: "img\nx"},
	} {
		if err := o.Check(); err == nil || !strings.HasPrefix(err.Error(), flag+" ") {
			t.Errorf("%s: want an error naming it, got %v", flag, err)
		}
	}
	if err := (K8sOptions{Namespace: strings.Repeat("a", 64)}).Check(); err == nil {
		t.Error("a 64-character namespace accepted (RFC 1123 labels have at most 63)")
	}
}
