package sweep

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// K8sOptions shape the Kubernetes manifests.
type K8sOptions struct {
	Image     string // container image with semcom (Dockerfile.cuda)
	Claim     string // a ReadWriteMany PersistentVolumeClaim holding the run folders, the grid and its base config
	MountPath string // where the claim is mounted in the pods (default /work)
	Grid      string // the grid file as the pods see it (default: MountPath + the grid's path)
	Semcom    string // the semcom binary in the image (default: semcom on PATH)
	Namespace string
	GPUs      int // per pod (nvidia.com/gpu limit)
	// Parallelism is how many pods of a stage run at once (default: all).
	Parallelism    int
	BackoffPerIdx  int // retries of an index that failed transiently (0: none; the CLI's default is 2)
	ServiceAccount string
	MaxJobs        int // --max-jobs of the plan, given to the pods when set (each expands the plan again)
	// CPU and Memory are each pod's requests (Kubernetes quantities, e.g. "4" and "16Gi"; empty: none). The
	// memory is also its limit: a pod over it is killed by the kubelet rather than starving its node.
	CPU, Memory string
	// GracePeriod is the pods' terminationGracePeriodSeconds: the time between SIGTERM (a pre-emption, a
	// drain) and SIGKILL, in which semcom finishes its step (default 120).
	GracePeriod int
}

// K8sSubmitScript applies the manifests in an order that cannot deadlock: the fine-tuning Job is created
// suspended (no pods, so no GPUs held), and released only once the pre-training Job has ended.
const K8sSubmitScript = "submit.sh"

// K8sJobs builds one Indexed Job per stage. The fine-tuning pods wait in an init container ('semcom sweep
// wait') until their pre-training jobs have ended, so the DAG holds without a workflow engine; the pod
// failure policy maps the exit-code contract: FailIndex on 2 (invalid), 3 (diverged: a result) and 4 (a
// dependency that failed for good, after the wait), Ignore on a pre-emption (DisruptionTarget), and any other
// failure is retried up to BackoffPerIdx times for that index alone.
func (p *Plan) K8sJobs(o K8sOptions) ([]*batchv1.Job, error) {
	if o.Image == "" || o.Claim == "" {
		return nil, fmt.Errorf("--image and --pvc are required")
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	if o.MountPath == "" {
		o.MountPath = "/work"
	}
	if o.Grid == "" {
		o.Grid = path.Join(o.MountPath, p.Grid.path)
	}
	if o.Semcom == "" {
		o.Semcom = "semcom"
	}
	if o.GracePeriod == 0 {
		o.GracePeriod = 120
	}
	if out := p.Grid.Out; path.IsAbs(out) && !strings.HasPrefix(path.Clean(out)+"/", path.Clean(o.MountPath)+"/") {
		return nil, fmt.Errorf("the grid's out: %s is outside the claim mounted at %s: the pods would write where nobody reads; make it relative or under the mount", out, o.MountPath)
	}
	requests := corev1.ResourceList{}
	for _, r := range []struct {
		flag  string
		name  corev1.ResourceName
		value string
	}{{"cpu", corev1.ResourceCPU, o.CPU}, {"memory", corev1.ResourceMemory, o.Memory}} {
		if r.value == "" {
			continue
		}
		q, err := resource.ParseQuantity(r.value)
		if err != nil || q.Sign() <= 0 {
			return nil, fmt.Errorf("--%s %q: want a positive Kubernetes quantity (e.g. 4, 500m, 16Gi)", r.flag, r.value)
		}
		requests[r.name] = q
	}
	pre, fine := p.stageCounts()
	job := func(stage string, n, offset int) *batchv1.Job {
		par := int32(n)
		if o.Parallelism > 0 {
			par = int32(min(n, o.Parallelism))
		}
		indexed := batchv1.IndexedCompletion
		completions, backoff, maxFailed := int32(n), int32(o.BackoffPerIdx), int32(n)
		container := func(name string, args ...string) corev1.Container {
			c := corev1.Container{
				Name:       name,
				Image:      o.Image,
				Command:    append([]string{o.Semcom, "sweep"}, args...),
				WorkingDir: o.MountPath,
				Env: []corev1.EnvVar{
					{Name: "OMP_WAIT_POLICY", Value: "passive"},
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "runs", MountPath: o.MountPath}},
			}
			if o.MaxJobs > 0 {
				c.Env = append(c.Env, corev1.EnvVar{Name: "SEMCOM_MAX_JOBS", Value: strconv.Itoa(o.MaxJobs)})
			}
			if name != "semcom" { // the init container holds no GPU and asks for little
				return c
			}
			c.Resources.Requests, c.Resources.Limits = corev1.ResourceList{}, corev1.ResourceList{}
			for k, q := range requests {
				c.Resources.Requests[k] = q
			}
			if q, ok := requests[corev1.ResourceMemory]; ok {
				c.Resources.Limits[corev1.ResourceMemory] = q
			}
			if o.GPUs > 0 {
				q := resource.MustParse(strconv.Itoa(o.GPUs))
				c.Resources.Limits["nvidia.com/gpu"] = q
				c.Resources.Requests["nvidia.com/gpu"] = q
			}
			if o.GPUs > 1 { // NCCL's shared-memory transport needs more than the runtime's 64 MB /dev/shm
				c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "shm", MountPath: "/dev/shm"})
			}
			return c
		}
		off := strconv.Itoa(offset)
		grace := int64(o.GracePeriod)
		spec := corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			ServiceAccountName:            o.ServiceAccount,
			TerminationGracePeriodSeconds: &grace,
			Containers:                    []corev1.Container{container("semcom", runArgs(o, off)...)},
			Volumes: []corev1.Volume{{Name: "runs", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: o.Claim}}}},
		}
		if o.GPUs > 1 {
			spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "shm", VolumeSource: corev1.VolumeSource{
				EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}})
		}
		var suspend *bool
		if stage == "finetune" && pre > 0 {
			// Created suspended (no pods, no GPUs held) and released by submit.sh once pre-training has ended;
			// the init container then only confirms each job's own dependencies (it returns at once).
			suspend = ptr(true)
			spec.InitContainers = []corev1.Container{container("wait-for-pretraining", "wait", "--grid", o.Grid, "--offset", off, "--timeout", "10m")}
		}
		labels := map[string]string{"app.kubernetes.io/name": "semcom", "semcom/sweep": p.Grid.Name, "semcom/stage": stage}
		return &batchv1.Job{
			TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
			ObjectMeta: metav1.ObjectMeta{Name: k8sName(p.Grid.Name + "-" + stage), Namespace: o.Namespace, Labels: labels,
				Annotations: map[string]string{"semcom/plan": p.Hash, "semcom/first-index": off}},
			Spec: batchv1.JobSpec{
				CompletionMode:       &indexed,
				Completions:          &completions,
				Parallelism:          &par,
				BackoffLimitPerIndex: &backoff,
				MaxFailedIndexes:     &maxFailed,
				PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
					{Action: batchv1.PodFailurePolicyActionFailIndex, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
						ContainerName: ptr("semcom"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn,
						Values: []int32{ExitInvalid, ExitDiverged, ExitDependency}}},
					{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
						{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
				}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
				Suspend:  suspend,
			},
		}
	}
	var jobs []*batchv1.Job
	if pre > 0 {
		jobs = append(jobs, job("pretrain", pre, 0))
	}
	if fine > 0 {
		jobs = append(jobs, job("finetune", fine, pre))
	}
	return jobs, nil
}

// K8sSubmit is the script that applies the manifests and releases the suspended fine-tuning Job once the
// pre-training Job has ended (Complete, or Failed: the fine-tuning jobs of failed pre-trainings then exit 4
// and are recorded, the others run).
func K8sSubmit(jobs []*batchv1.Job, manifest string) string {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n# Applies the sweep's Jobs; the fine-tuning Job is created suspended and released after pre-training.\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\n")
	ns := ""
	if len(jobs) > 0 && jobs[0].Namespace != "" {
		ns = " -n " + jobs[0].Namespace
	}
	fmt.Fprintf(&b, "kubectl%s apply -f %s\n", ns, manifest)
	if len(jobs) == 2 && jobs[1].Spec.Suspend != nil && *jobs[1].Spec.Suspend {
		fmt.Fprintf(&b, "echo \"waiting for job/%s to end before releasing job/%s\"\n", jobs[0].Name, jobs[1].Name)
		fmt.Fprintf(&b, "until s=$(kubectl%s get job/%s -o jsonpath='{.status.conditions[?(@.status==\"True\")].type}') && [[ \" $s \" == *\" Complete \"* || \" $s \" == *\" Failed \"* ]]; do sleep 30; done\n", ns, jobs[0].Name)
		fmt.Fprintf(&b, "kubectl%s patch job/%s --type=merge -p '{\"spec\":{\"suspend\":false}}'\n", ns, jobs[1].Name)
	}
	return b.String()
}

// K8sYAML renders the jobs as one multi-document YAML.
func K8sYAML(jobs []*batchv1.Job) ([]byte, error) {
	var docs []string
	for _, j := range jobs {
		b, err := yaml.Marshal(j)
		if err != nil {
			return nil, err
		}
		docs = append(docs, string(b))
	}
	return []byte(strings.Join(docs, "---\n")), nil
}

func ptr[T any](v T) *T { return &v }

// runArgs are the arguments of 'semcom sweep run' in a pod: one data-parallel rank per GPU of the pod.
func runArgs(o K8sOptions, offset string) []string {
	args := []string{"run", "--grid", o.Grid, "--offset", offset}
	if o.GPUs > 1 {
		args = append(args, "--nproc-per-node", strconv.Itoa(o.GPUs))
	}
	return args
}

// k8sName makes a DNS-1123 label (lower case, digits, '-', at most 63).
func k8sName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteRune('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 63 {
		out = strings.Trim(out[:63], "-")
	}
	return out
}
