package sweep

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const base = `name: tiny
device: cpu
methods: [proposed, supervised]
data: {synthetic: {train: 48, test: 24, size: 16, classes: 8}}
model: {width: 4, feature_dim: 8, decoder_hidden: [8]}
channel: {snrs_db: [0, 10]}
pretrain: {epochs: 1, batch: 16}
finetune: {epochs: 2, batch: 16}
`

func writeGrid(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(base), 0o644)
	p := filepath.Join(dir, "grid.yaml")
	os.WriteFile(p, []byte("base: base.yaml\nout: "+filepath.Join(dir, "out")+"\n"+body), 0o644)
	return p
}

func TestGridErrors(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"name: g\nseeds: [1]\ngrid: {channel.fadin: [none]}\n", "unknown key channel.fadin"},
		{"name: g\nseeds: [1]\ngrid: {methods: [[proposed]]}\n", "methods cannot vary"},
		{"name: g\nseeds: [1]\ngrid: {seed: [1, 2]}\n", "seed cannot vary"},
		{"name: g\nseeds: [1]\ngrid: {channel.fading: []}\n", "the product is empty"},
		{"name: g\nseeds: []\n", "at least one seed"},
		{"name: g\nseeds: [1, 1]\n", "1 is listed twice"},
		{"name: g\nseeds: [1]\ngrid: {channel.fading: [none, none]}\n", "lists none twice"},
		{"name: g\nseeds: [1]\ngrid: {pretrain.optimizer.lr: [0.5, 5.0e-1, 0.50]}\n", "lists 0.5 twice"},
		{"name: g\nseeds: [1]\ngrids: {}\n", "field grids not found"},
		{"name: ..\nseeds: [1]\n", "name \"..\""},
		{"name: g\nseeds: [1]\nvary_seeds: [model]\n", "not pretrain, finetune or data"},
	} {
		p := writeGrid(t, c.body)
		_, err := Load(p)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%q: %v (want %q and the file)", c.body, err, c.want)
		}
	}
	// A value that the config refuses is an error at expansion, naming the grid and the key.
	g, err := Load(writeGrid(t, "name: g\nseeds: [1]\ngrid: {channel.fading: [none, awgn]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Expand(); err == nil || !strings.Contains(err.Error(), "grid.channel.fading") {
		t.Fatalf("bad value: %v", err)
	}
}

// TestExpandSharesPretraining: pre-training jobs depend only on what Stage I reads, so a channel grid
// shares them, a Stage-I grid does not; the plan is deterministic.
func TestExpandSharesPretraining(t *testing.T) {
	for _, c := range []struct {
		grid     string
		pre, all int
	}{
		{"grid: {channel.fading: [none, rayleigh]}\n", 2, 2 + 2*2*2*2},          // 2 seeds; 2 fadings × 2 seeds × 2 methods × 2 SNRs
		{"grid: {pretrain.proposed.weighting: [sum, decur]}\n", 4, 4 + 2*2*2*2}, // Stage I differs
		{"vary_seeds: [finetune]\ngrid: {channel.fading: [none]}\n", 1, 1 + 2*2*2},
	} {
		g, err := Load(writeGrid(t, "name: g\nseeds: [1, 2]\n"+c.grid))
		if err != nil {
			t.Fatal(err)
		}
		p, err := g.Expand()
		if err != nil {
			t.Fatal(err)
		}
		pre, _ := p.stageCounts()
		if pre != c.pre || len(p.Jobs) != c.all {
			t.Fatalf("%s: %d pre-training of %d jobs, want %d of %d", c.grid, pre, len(p.Jobs), c.pre, c.all)
		}
		for _, j := range p.Jobs {
			if j.Stage == "finetune" && j.Method == "proposed" && (len(j.Deps) != 1 || p.Jobs[j.Deps[0]].Stage != "pretrain" || p.Jobs[j.Deps[0]].Method != "proposed") {
				t.Fatalf("%s depends on %v", j.Name, j.Deps)
			}
			if j.Method == "supervised" && len(j.Deps) != 0 {
				t.Fatalf("%s has dependencies", j.Name)
			}
		}
		again, _ := g.Expand()
		if again.Hash != p.Hash {
			t.Fatal("expansion is not deterministic")
		}
	}
	// vary_seeds: [finetune] keeps the data seed fixed across the seed list.
	g, _ := Load(writeGrid(t, "name: g\nseeds: [3, 4]\nvary_seeds: [finetune]\n"))
	p, _ := g.Expand()
	a, b := p.Points[0].Exp, p.Points[1].Exp
	if a.FinetuneSeed() != 3 || b.FinetuneSeed() != 4 || a.Data.Synthetic.Seed != b.Data.Synthetic.Seed || a.Data.Seed != b.Data.Seed || a.Pretrain.Seed != b.Pretrain.Seed {
		t.Fatalf("separable seeds: %+v %+v", a.Finetune, b.Finetune)
	}
}

func TestSlurmScripts(t *testing.T) {
	g, _ := Load(writeGrid(t, "name: g\nseeds: [1, 2]\n"))
	p, _ := g.Expand()
	files, err := p.SlurmScripts(SlurmOptions{Semcom: "/opt/semcom", Grid: "/shared/grid.yaml", Workdir: "/shared", Partition: "gpu",
		Time: "01:00:00", GPUs: 1, Throttle: 3, Apptainer: "semcom.sif"})
	if err != nil {
		t.Fatal(err)
	}
	pre, fine := files[PretrainScript], files[FinetuneScript]
	for _, want := range []string{"#SBATCH --array=0-1%3", "#SBATCH --gres=gpu:1", "#SBATCH --partition=gpu", "#SBATCH --time=01:00:00",
		// Inside the container, the image's semcom (the host path /opt/semcom does not exist there), with the
		// working directory and the grid's folder bound at their own paths.
		"apptainer exec --nv --bind /shared --pwd /shared semcom.sif " + DefaultContainerSemcom + " sweep run --grid /shared/grid.yaml --offset 0 &",
		"#SBATCH --requeue", "#SBATCH --signal=B:USR1@120"} {
		if !strings.Contains(pre, want) {
			t.Fatalf("pretrain.sbatch lacks %q:\n%s", want, pre)
		}
	}
	if !strings.Contains(fine, "#SBATCH --array=0-7%3") || !strings.Contains(fine, "--offset 2") {
		t.Fatalf("finetune.sbatch:\n%s", fine)
	}
	if !strings.Contains(files[SubmitScript], "--dependency=afterany:") {
		t.Fatalf("submit.sh:\n%s", files[SubmitScript])
	}
	multi, _ := p.SlurmScripts(SlurmOptions{Semcom: "semcom", Grid: "g.yaml", Workdir: "/w", GPUs: 4})
	if !strings.Contains(multi[FinetuneScript], "#SBATCH --gres=gpu:4") || !strings.Contains(multi[FinetuneScript], "--nproc-per-node 4") {
		t.Fatalf("a 4-GPU job:\n%s", multi[FinetuneScript])
	}
	pyxis, _ := p.SlurmScripts(SlurmOptions{Semcom: "/home/me/semcom", Grid: "/w/g.yaml", Workdir: "/w", ContainerImage: "img", ContainerMounts: "/data:/data", ContainerSemcom: "/usr/bin/semcom"})
	if want := "srun --container-image=img --container-mounts=/w:/w,/data:/data --container-workdir=/w /usr/bin/semcom sweep run --grid /w/g.yaml"; !strings.Contains(pyxis[PretrainScript], want) {
		t.Fatalf("pyxis script lacks %q:\n%s", want, pyxis[PretrainScript])
	}
	if _, err := p.SlurmScripts(SlurmOptions{ContainerImage: "x", Apptainer: "y"}); err == nil {
		t.Fatal("two container runtimes accepted")
	}
	// A Slurm that cannot be reached: an error, and nothing is recorded as submitted.
	dir := t.TempDir()
	if _, err := p.SubmitSlurm(dir, "/nonexistent/sbatch"); err == nil {
		t.Fatal("submission without sbatch succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, SubmittedFile)); !os.IsNotExist(err) {
		t.Fatal("a failed submission was recorded")
	}
}

// TestSlurmTaskRequeuesOnSignal runs a generated sbatch script with bash, a stand-in semcom that stops on
// SIGUSR1 as semcom does (exit 138) and a stand-in scontrol: Slurm's warning signal to the batch shell
// reaches semcom, and the task requeues itself with its array id.
func TestSlurmTaskRequeuesOnSignal(t *testing.T) {
	g, _ := Load(writeGrid(t, "name: s\nseeds: [1]\n"))
	p, _ := g.Expand()
	dir := t.TempDir()
	fake := filepath.Join(dir, "semcom")
	os.WriteFile(fake, []byte("#!/bin/bash\ntrap 'echo stopping; exit 138' USR1\ntouch "+filepath.Join(dir, "started")+"\nwhile :; do sleep 0.05; done\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "scontrol"), []byte("#!/bin/sh\necho \"$@\" >> "+filepath.Join(dir, "scontrol.log")+"\n"), 0o755)
	files, err := p.SlurmScripts(SlurmOptions{Semcom: fake, Grid: "g.yaml", Workdir: dir, SignalGrace: 60})
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "pre.sbatch")
	os.WriteFile(script, []byte(files[PretrainScript]), 0o755)
	cmd := exec.Command("bash", script)
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "SLURM_ARRAY_JOB_ID=7", "SLURM_ARRAY_TASK_ID=3")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 400; i++ {
		if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGUSR1)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 138 || !strings.Contains(out.String(), "stopping") {
		t.Fatalf("task after SIGUSR1: %v (want exit 138 from semcom)\n%s", err, out.String())
	}
	if log, _ := os.ReadFile(filepath.Join(dir, "scontrol.log")); strings.TrimSpace(string(log)) != "requeue 7_3" {
		t.Fatalf("scontrol calls: %q, want requeue 7_3", log)
	}
}

// TestK8sManifestsAreValidJobs decodes every manifest strictly into batchv1.Job (an unknown field is an
// error) and checks the API's cross-field rules for Indexed Jobs.
func TestK8sManifestsAreValidJobs(t *testing.T) {
	g, _ := Load(writeGrid(t, "name: My_Sweep\nseeds: [1, 2]\n"))
	p, _ := g.Expand()
	if _, err := p.K8sJobs(K8sOptions{Image: "img"}); err == nil {
		t.Fatal("no claim accepted")
	}
	tmp := os.TempDir() // the test grid's out: is an absolute folder there
	jobs, err := p.K8sJobs(K8sOptions{Image: "registry/semcom:cuda", Claim: "runs", GPUs: 1, Parallelism: 4, MountPath: tmp})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := K8sYAML(jobs)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(raw), "---\n")
	if len(docs) != 2 {
		t.Fatalf("%d documents", len(docs))
	}
	pre, fine := p.stageCounts()
	for i, doc := range docs {
		var j batchv1.Job
		if err := yaml.UnmarshalStrict([]byte(doc), &j); err != nil {
			t.Fatalf("document %d does not decode strictly: %v", i, err)
		}
		if err := checkIndexedJob(&j); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		want := []int{pre, fine}[i]
		if int(*j.Spec.Completions) != want || j.Name != []string{"my-sweep-pretrain", "my-sweep-finetune"}[i] {
			t.Fatalf("document %d: %s with %d completions, want %d", i, j.Name, *j.Spec.Completions, want)
		}
		c := j.Spec.Template.Spec.Containers[0]
		if got := strings.Join(c.Command, " "); !strings.Contains(got, fmt.Sprintf("--offset %d", []int{0, pre}[i])) {
			t.Fatalf("command %q", got)
		}
		if (len(j.Spec.Template.Spec.InitContainers) == 1) != (i == 1) {
			t.Fatalf("document %d: init containers %v", i, j.Spec.Template.Spec.InitContainers)
		}
		// No deadlock: the fine-tuning Job starts suspended (no pods hold GPUs while pre-training waits for
		// them), and its init container holds no GPU at all.
		if suspended := j.Spec.Suspend != nil && *j.Spec.Suspend; suspended != (i == 1) {
			t.Fatalf("document %d: suspend %v", i, j.Spec.Suspend)
		}
		for _, ic := range j.Spec.Template.Spec.InitContainers {
			if _, gpu := ic.Resources.Limits["nvidia.com/gpu"]; gpu || len(ic.Resources.Requests) > 0 {
				t.Fatalf("init container %s holds resources: %v", ic.Name, ic.Resources)
			}
		}
		if g := j.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g < 30 {
			t.Fatalf("document %d: terminationGracePeriodSeconds %v", i, g)
		}
	}
	submit := K8sSubmit(jobs, "jobs.yaml")
	apply, release := strings.Index(submit, "kubectl apply -f jobs.yaml"), strings.Index(submit, `patch job/my-sweep-finetune --type=merge -p '{"spec":{"suspend":false}}'`)
	if apply < 0 || release < apply || !strings.Contains(submit[apply:release], "get job/my-sweep-pretrain") {
		t.Fatalf("submit.sh must apply, wait for pre-training, then release fine-tuning:\n%s", submit)
	}
	// Requests, /dev/shm for multi-GPU pods, and the refusals.
	multi, err := p.K8sJobs(K8sOptions{Image: "img", Claim: "runs", GPUs: 2, CPU: "8", Memory: "16Gi", MountPath: tmp})
	if err != nil {
		t.Fatal(err)
	}
	ps := multi[0].Spec.Template.Spec
	r := ps.Containers[0].Resources
	if r.Requests.Cpu().String() != "8" || r.Requests.Memory().String() != "16Gi" || r.Limits.Memory().String() != "16Gi" {
		t.Fatalf("requests %v limits %v", r.Requests, r.Limits)
	}
	shm := false
	for _, v := range ps.Volumes {
		shm = shm || v.EmptyDir != nil && v.EmptyDir.Medium == corev1.StorageMediumMemory
	}
	if !shm || !slices.ContainsFunc(ps.Containers[0].VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/dev/shm" }) {
		t.Fatalf("a 2-GPU pod without a memory-backed /dev/shm: %v", ps.Volumes)
	}
	for _, c := range []struct {
		o    K8sOptions
		want string
	}{{K8sOptions{MountPath: "work"}, "--mount"}, {K8sOptions{Namespace: "Bad_NS!"}, "--namespace"},
		{K8sOptions{BackoffPerIdx: -1}, "--backoff-per-index"}, {K8sOptions{Memory: "lots"}, "--memory"}, {K8sOptions{CPU: "-1"}, "--cpu"}, {K8sOptions{GracePeriod: -1}, "--grace-period"}} {
		c.o.Image, c.o.Claim = "i", "c"
		if c.o.MountPath == "" {
			c.o.MountPath = tmp
		}
		if _, err := p.K8sJobs(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%+v: %v, want an error naming %s", c.o, err, c.want)
		}
	}
	if _, err := p.K8sJobs(K8sOptions{Image: "i", Claim: "c"}); err == nil || !strings.Contains(err.Error(), "outside the claim") {
		t.Fatalf("an absolute out: outside the mount: %v", err)
	}
	// The strict decoder is what catches a misspelt field.
	bad := strings.Replace(docs[0], "backoffLimitPerIndex", "backofLimitPerIndex", 1)
	var j batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(bad), &j); err == nil {
		t.Fatal("a misspelt field decoded")
	}
}

// checkIndexedJob applies the Job API's validation rules that semcom's manifests rely on.
func checkIndexedJob(j *batchv1.Job) error {
	s := j.Spec
	never := s.Template.Spec.RestartPolicy == corev1.RestartPolicyNever
	switch {
	case j.APIVersion != "batch/v1" || j.Kind != "Job":
		return fmt.Errorf("%s/%s", j.APIVersion, j.Kind)
	case s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion:
		return fmt.Errorf("not Indexed")
	case s.Completions == nil || *s.Completions < 1:
		return fmt.Errorf("indexed without completions")
	case s.BackoffLimitPerIndex != nil && !never:
		return fmt.Errorf("backoffLimitPerIndex needs restartPolicy Never")
	case s.PodFailurePolicy != nil && !never:
		return fmt.Errorf("a pod failure policy needs restartPolicy Never")
	case s.MaxFailedIndexes != nil && (s.BackoffLimitPerIndex == nil || *s.MaxFailedIndexes > *s.Completions):
		return fmt.Errorf("maxFailedIndexes needs backoffLimitPerIndex and at most completions")
	case s.Parallelism == nil || *s.Parallelism > *s.Completions:
		return fmt.Errorf("parallelism %v", s.Parallelism)
	}
	c := s.Template.Spec.Containers[0]
	if q, ok := c.Resources.Limits["nvidia.com/gpu"]; !ok || q.Value() != 1 {
		return fmt.Errorf("GPU limit %v", c.Resources.Limits)
	}
	codes := map[int32]bool{}
	ignoresDisruption := false
	for _, r := range s.PodFailurePolicy.Rules {
		if r.OnExitCodes != nil && r.Action == batchv1.PodFailurePolicyActionFailIndex {
			for _, v := range r.OnExitCodes.Values {
				codes[v] = true
			}
		}
		for _, pc := range r.OnPodConditions {
			ignoresDisruption = ignoresDisruption || (pc.Type == corev1.DisruptionTarget && r.Action == batchv1.PodFailurePolicyActionIgnore)
		}
	}
	if !codes[ExitInvalid] || !codes[ExitDiverged] || !ignoresDisruption {
		return fmt.Errorf("pod failure policy %+v", s.PodFailurePolicy)
	}
	if len(s.Template.Spec.Volumes) != 1 || s.Template.Spec.Volumes[0].PersistentVolumeClaim == nil {
		return fmt.Errorf("no claim mounted")
	}
	return nil
}

func TestShippedGridsExpand(t *testing.T) {
	files, _ := filepath.Glob("../grids/*.yaml")
	more, _ := filepath.Glob("../grids/*/*.yaml")
	files = append(files, more...)
	if len(files) == 0 {
		t.Fatal("no shipped grids")
	}
	for _, f := range files {
		g, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Expand(); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
}
