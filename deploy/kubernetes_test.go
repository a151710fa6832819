package deploy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	kubernetesDir     = "kubernetes"
	kustomizationFile = "kustomization.yaml"
	// secretExampleFile documents the Secret; it must never be a resource.
	secretExampleFile = "secret.example.yaml"
	// nonRootUID is the uid of the images (Dockerfile USER).
	nonRootUID = 65532
)

// kustomization is the part of a Kustomization this base uses. It is decoded
// strictly, so a misspelt or unexpected field fails the test.
type kustomization struct {
	APIVersion string              `json:"apiVersion"`
	Kind       string              `json:"kind"`
	Namespace  string              `json:"namespace"`
	Labels     []kustomizeLabels   `json:"labels"`
	Resources  []string            `json:"resources"`
	Images     []kustomizeImageRef `json:"images"`
}

type kustomizeLabels struct {
	Pairs            map[string]string `json:"pairs"`
	IncludeSelectors bool              `json:"includeSelectors,omitempty"`
	IncludeTemplates bool              `json:"includeTemplates,omitempty"`
}

type kustomizeImageRef struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

func loadKustomization(tb testing.TB) kustomization {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(kubernetesDir, kustomizationFile))
	if err != nil {
		tb.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(b, &k); err != nil {
		tb.Fatalf("decode %s: %v", kustomizationFile, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		tb.Fatalf("%s is %s %s, want kustomize.config.k8s.io/v1beta1 Kustomization", kustomizationFile, k.APIVersion, k.Kind)
	}
	return k
}

// newTypedObject returns an empty k8s.io/api object for apiVersion and kind,
// or an error for a kind this base is not expected to hold.
func newTypedObject(tm metav1.TypeMeta) (metav1.Object, error) {
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 Namespace":
		return &corev1.Namespace{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1 Secret":
		return &corev1.Secret{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "networking.k8s.io/v1 Ingress":
		return &networkingv1.Ingress{}, nil
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "batch/v1 CronJob":
		return &batchv1.CronJob{}, nil
	}
	return nil, fmt.Errorf("unexpected kind %q %q", tm.APIVersion, tm.Kind)
}

// decodeManifests decodes every YAML document in r strictly into its typed
// k8s.io/api object: an unknown or misplaced field, a duplicate key or a
// wrongly typed value is an error, as it would be for kubectl --validate=strict.
func decodeManifests(r io.Reader) ([]metav1.Object, error) {
	docs := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var objs []metav1.Object
	for n := 1; ; n++ {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read YAML document %d: %w", n, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("document %d: read kind: %w", n, err)
		}
		obj, err := newTypedObject(tm)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("document %d: decode %s: %w", n, tm.Kind, err)
		}
		if obj.GetName() == "" {
			return nil, fmt.Errorf("document %d: %s has no name", n, tm.Kind)
		}
		objs = append(objs, obj)
	}
}

// stripComments drops whole-line comments, so a document of only comments
// counts as empty.
func stripComments(doc []byte) []byte {
	var out []byte
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line...)
		}
	}
	return out
}

func loadManifestFile(tb testing.TB, path string) []metav1.Object {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	objs, err := decodeManifests(f)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	if len(objs) == 0 {
		tb.Fatalf("%s holds no object", path)
	}
	return objs
}

// loadBase decodes every resource the kustomization lists.
func loadBase(tb testing.TB) (kustomization, []metav1.Object) {
	tb.Helper()
	k := loadKustomization(tb)
	var objs []metav1.Object
	for _, res := range k.Resources {
		objs = append(objs, loadManifestFile(tb, filepath.Join(kubernetesDir, res))...)
	}
	return k, objs
}

// lookup returns the object of type T called name.
func lookup[T metav1.Object](tb testing.TB, objs []metav1.Object, name string) T {
	tb.Helper()
	for _, o := range objs {
		if t, ok := o.(T); ok && o.GetName() == name {
			return t
		}
	}
	var zero T
	tb.Fatalf("no %T called %q", zero, name)
	return zero
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	k := loadKustomization(t)
	if k.Namespace == "" {
		t.Error("kustomization sets no namespace")
	}
	entries, err := os.ReadDir(kubernetesDir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		files = append(files, e.Name())
	}
	for _, f := range files {
		switch {
		case f == kustomizationFile, f == secretExampleFile, slices.Contains(k.Resources, f):
		default:
			t.Errorf("%s is neither a kustomization resource nor the secret example", f)
		}
	}
	seen := map[string]bool{}
	for _, r := range k.Resources {
		if !slices.Contains(files, r) {
			t.Errorf("resource %s does not exist", r)
		}
		if seen[r] {
			t.Errorf("resource %s is listed twice", r)
		}
		seen[r] = true
	}
	if slices.Contains(k.Resources, secretExampleFile) {
		t.Errorf("%s is a resource: its placeholders would be applied", secretExampleFile)
	}
}

func TestManifestsDecodeStrictly(t *testing.T) {
	k, objs := loadBase(t)
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[fmt.Sprintf("%T", o)]++
		// kustomize sets the namespace; a hard-coded one would fight it.
		if o.GetNamespace() != "" {
			t.Errorf("%T %s sets namespace %q", o, o.GetName(), o.GetNamespace())
		}
		if _, ok := o.(*corev1.Namespace); ok {
			if o.GetName() != k.Namespace {
				t.Errorf("Namespace %s, want the kustomization's %s", o.GetName(), k.Namespace)
			}
			continue
		}
		if o.GetLabels()["app.kubernetes.io/name"] == "" {
			t.Errorf("%T %s has no app.kubernetes.io/name label", o, o.GetName())
		}
	}
	want := map[string]int{
		"*v1.Namespace":               1,
		"*v1.ConfigMap":               1,
		"*v1.Deployment":              1,
		"*v1.Service":                 2,
		"*v1.Ingress":                 1,
		"*v1.PodDisruptionBudget":     1,
		"*v2.HorizontalPodAutoscaler": 1,
		"*v1.NetworkPolicy":           2,
		"*v1.CronJob":                 1,
	}
	for kind, n := range want {
		if kinds[kind] != n {
			t.Errorf("got %d %s, want %d", kinds[kind], kind, n)
		}
	}
	if len(kinds) != len(want) {
		t.Errorf("got kinds %v, want %v", kinds, want)
	}
}

// TestStrictDecodingRejects shows that the decoder fails on the mistakes a
// lenient decoder would silently drop.
func TestStrictDecodingRejects(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{
			name:    "unknown field",
			doc:     "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replica: 2\n",
			wantErr: `unknown field "replica"`,
		},
		{
			name:    "field at the wrong level",
			doc:     "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  selector:\n    app: x\n",
			wantErr: `unknown field "selector"`,
		},
		{
			name:    "duplicate key",
			doc:     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  A: \"1\"\n  A: \"2\"\n",
			wantErr: `already set in map`,
		},
		{
			name:    "wrong type",
			doc:     "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: two\n",
			wantErr: `replicas`,
		},
		{
			name:    "unexpected kind",
			doc:     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n",
			wantErr: `unexpected kind`,
		},
		{
			name:    "no name",
			doc:     "apiVersion: v1\nkind: ConfigMap\ndata: {}\n",
			wantErr: `no name`,
		},
		{
			name:    "second document",
			doc:     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  labelz: {}\n",
			wantErr: `unknown field "labelz"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeManifests(strings.NewReader(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// restrictedPodProblems lists where a pod spec falls short of the
// Kubernetes "restricted" Pod Security Standard plus our own rules:
// numeric non-root user, read-only root file system, no privilege
// escalation, all capabilities dropped, RuntimeDefault seccomp, no service
// account token, resource requests and limits.
func restrictedPodProblems(spec corev1.PodSpec) []string {
	var problems []string
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		problems = append(problems, "pod: runAsNonRoot is not true")
	}
	if psc.RunAsUser == nil || *psc.RunAsUser != nonRootUID {
		problems = append(problems, fmt.Sprintf("pod: runAsUser is not %d", nonRootUID))
	}
	if psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		problems = append(problems, "pod: seccompProfile is not RuntimeDefault")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		problems = append(problems, "pod: mounts a service account token it does not use")
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		problems = append(problems, "pod: shares a host namespace")
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			problems = append(problems, fmt.Sprintf("pod: volume %s is a hostPath", v.Name))
		}
	}
	containers := append(slices.Clone(spec.InitContainers), spec.Containers...)
	if len(containers) == 0 {
		problems = append(problems, "pod: no containers")
	}
	for _, c := range containers {
		sc := c.SecurityContext
		if sc == nil {
			problems = append(problems, c.Name+": no securityContext")
			continue
		}
		if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
			problems = append(problems, c.Name+": runAsNonRoot is not true")
		}
		if sc.RunAsUser == nil || *sc.RunAsUser != nonRootUID {
			problems = append(problems, fmt.Sprintf("%s: runAsUser is not %d", c.Name, nonRootUID))
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			problems = append(problems, c.Name+": readOnlyRootFilesystem is not true")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			problems = append(problems, c.Name+": allowPrivilegeEscalation is not false")
		}
		if sc.Privileged != nil && *sc.Privileged {
			problems = append(problems, c.Name+": privileged")
		}
		if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
			problems = append(problems, c.Name+": capabilities are not drop [ALL] add []")
		}
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			problems = append(problems, c.Name+": seccompProfile is not RuntimeDefault")
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[r]; !ok {
				problems = append(problems, fmt.Sprintf("%s: no %s request", c.Name, r))
			}
			if _, ok := c.Resources.Limits[r]; !ok {
				problems = append(problems, fmt.Sprintf("%s: no %s limit", c.Name, r))
			}
		}
	}
	return problems
}

func TestPodsAreRestricted(t *testing.T) {
	_, objs := loadBase(t)
	pods := map[string]corev1.PodSpec{
		"deployment/gateway":     lookup[*appsv1.Deployment](t, objs, "gateway").Spec.Template.Spec,
		"cronjob/gateway-canary": lookup[*batchv1.CronJob](t, objs, "gateway-canary").Spec.JobTemplate.Spec.Template.Spec,
	}
	for name, spec := range pods {
		t.Run(name, func(t *testing.T) {
			for _, p := range restrictedPodProblems(spec) {
				t.Error(p)
			}
		})
	}
}

// TestRestrictedChecksCatchInsecurePod shows the checks fail a pod that
// breaks each rule.
func TestRestrictedChecksCatchInsecurePod(t *testing.T) {
	objs := loadManifestFile(t, "testdata/deployment-insecure.yaml")
	d := lookup[*appsv1.Deployment](t, objs, "insecure")
	got := restrictedPodProblems(d.Spec.Template.Spec)
	want := []string{
		"pod: runAsNonRoot is not true",
		"pod: runAsUser is not 65532",
		"pod: seccompProfile is not RuntimeDefault",
		"pod: mounts a service account token",
		"pod: shares a host namespace",
		"pod: volume docker is a hostPath",
		"app: runAsNonRoot is not true",
		"app: readOnlyRootFilesystem is not true",
		"app: allowPrivilegeEscalation is not false",
		"app: privileged",
		"app: capabilities are not drop [ALL]",
		"app: no memory limit",
		"sidecar: no securityContext",
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(p string) bool { return strings.HasPrefix(p, w) }) {
			t.Errorf("no problem reported starting with %q; got:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

// configDuration reads a Go duration from the gateway ConfigMap.
func configDuration(tb testing.TB, cm *corev1.ConfigMap, key string) time.Duration {
	tb.Helper()
	d, err := time.ParseDuration(cm.Data[key])
	if err != nil {
		tb.Fatalf("ConfigMap %s %s: %v", cm.Name, key, err)
	}
	return d
}

// containerPort resolves a probe or service port (name or number) against
// the container's ports.
func containerPort(tb testing.TB, c corev1.Container, port intstr.IntOrString) int32 {
	tb.Helper()
	for _, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return p.ContainerPort
		}
	}
	tb.Fatalf("container %s has no port %s", c.Name, port.String())
	return 0
}

func TestDeployment(t *testing.T) {
	_, objs := loadBase(t)
	d := lookup[*appsv1.Deployment](t, objs, "gateway")
	cm := lookup[*corev1.ConfigMap](t, objs, "gateway-config")
	spec := d.Spec.Template.Spec

	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		t.Fatalf("selector: %v", err)
	}
	if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("selector %v does not match the pod labels %v", sel, d.Spec.Template.Labels)
	}
	if len(spec.TopologySpreadConstraints) == 0 && (spec.Affinity == nil || spec.Affinity.PodAntiAffinity == nil) {
		t.Error("no topology spread or anti-affinity: both replicas may land on one node")
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("got %d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]

	probes := []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"startupProbe", c.StartupProbe, "/health"},
		{"livenessProbe", c.LivenessProbe, "/health"},
		{"readinessProbe", c.ReadinessProbe, "/ready"},
	}
	for _, p := range probes {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s is not an HTTP probe", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s path %s, want %s", p.name, p.probe.HTTPGet.Path, p.path)
		}
		if port := containerPort(t, c, p.probe.HTTPGet.Port); port != 8080 {
			t.Errorf("%s port %d, want 8080", p.name, port)
		}
	}

	// Shutdown: preStop sleep, then SIGTERM, the gateway's drain delay and
	// shutdown timeout must all fit in the grace period, with time to exit.
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Fatal("no preStop sleep action (the image has no shell for exec sleep)")
	}
	preStop := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	drain := configDuration(t, cm, "SHUTDOWN_DRAIN_DELAY")
	timeout := configDuration(t, cm, "SHUTDOWN_TIMEOUT")
	if preStop != drain {
		t.Errorf("preStop sleep %v, want SHUTDOWN_DRAIN_DELAY %v", preStop, drain)
	}
	if spec.TerminationGracePeriodSeconds == nil {
		t.Fatal("no terminationGracePeriodSeconds")
	}
	grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	if budget := preStop + drain + timeout; grace <= budget {
		t.Errorf("terminationGracePeriodSeconds %v, want more than preStop + drain + timeout = %v", grace, budget)
	}

	// Configuration: settings from the ConfigMap, credentials from the Secret
	// documented by secret.example.yaml.
	secret := lookup[*corev1.Secret](t, loadManifestFile(t, filepath.Join(kubernetesDir, secretExampleFile)), "gateway-aws")
	var fromCM, fromSecret bool
	for _, e := range c.EnvFrom {
		fromCM = fromCM || (e.ConfigMapRef != nil && e.ConfigMapRef.Name == cm.Name)
		fromSecret = fromSecret || (e.SecretRef != nil && e.SecretRef.Name == secret.Name)
	}
	if !fromCM || !fromSecret {
		t.Errorf("envFrom %+v, want ConfigMap %s and Secret %s", c.EnvFrom, cm.Name, secret.Name)
	}
	for _, e := range c.Env {
		if looksSecret(e.Name) && e.Value != "" {
			t.Errorf("env %s holds a literal value", e.Name)
		}
	}

	if got := c.Resources.Limits.Memory().String(); got != "256Mi" {
		t.Errorf("memory limit %s, want 256Mi", got)
	}
	// Go's soft limit follows the container's (cmd/gateway memory.go).
	memLimit := false
	for _, e := range c.Env {
		if e.Name == "MEMORY_LIMIT" && e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil {
			ref := e.ValueFrom.ResourceFieldRef
			memLimit = ref.Resource == "limits.memory" && ref.ContainerName == c.Name && (ref.Divisor.IsZero() || ref.Divisor.Value() == 1)
		}
	}
	if !memLimit {
		t.Errorf("env %+v lacks MEMORY_LIMIT from limits.memory in bytes", c.Env)
	}
	if v, ok := cm.Data["GOMEMLIMIT"]; ok {
		t.Errorf("the ConfigMap sets GOMEMLIMIT=%s, a fixed figure overriding MEMORY_LIMIT", v)
	}
	if c.Resources.Requests.Memory().Cmp(*c.Resources.Limits.Memory()) > 0 {
		t.Error("memory request exceeds limit")
	}
}

func TestConfigMap(t *testing.T) {
	_, objs := loadBase(t)
	cm := lookup[*corev1.ConfigMap](t, objs, "gateway-config")
	for k := range cm.Data {
		if looksSecret(k) {
			t.Errorf("ConfigMap key %s looks secret; secrets belong in the Secret", k)
		}
	}
	if got := cm.Data["METRICS_ADDR"]; got != ":9090" {
		t.Errorf("METRICS_ADDR %q, want :9090", got)
	}
	if got := cm.Data["PORT"]; got != "8080" {
		t.Errorf("PORT %q, want 8080", got)
	}
}

func TestServicesAndIngress(t *testing.T) {
	_, objs := loadBase(t)
	d := lookup[*appsv1.Deployment](t, objs, "gateway")
	pod := labels.Set(d.Spec.Template.Labels)
	c := d.Spec.Template.Spec.Containers[0]
	ing := lookup[*networkingv1.Ingress](t, objs, "gateway")

	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
		t.Errorf("ingressClassName %v, want nginx", ing.Spec.IngressClassName)
	}
	wantAnnotations := map[string]string{
		"cert-manager.io/cluster-issuer":                      "letsencrypt",
		"nginx.ingress.kubernetes.io/proxy-buffering":         "off",
		"nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
		"nginx.ingress.kubernetes.io/proxy-read-timeout":      "600",
		"nginx.ingress.kubernetes.io/proxy-send-timeout":      "600",
	}
	for k, v := range wantAnnotations {
		if got := ing.Annotations[k]; got != v {
			t.Errorf("annotation %s=%q, want %q", k, got, v)
		}
	}
	if len(ing.Spec.TLS) == 0 {
		t.Fatal("Ingress has no TLS")
	}
	var tlsHosts []string
	for _, tls := range ing.Spec.TLS {
		if tls.SecretName == "" {
			t.Error("TLS entry without secretName: cert-manager has nowhere to store the certificate")
		}
		tlsHosts = append(tlsHosts, tls.Hosts...)
	}
	if len(ing.Spec.Rules) == 0 {
		t.Fatal("Ingress has no rules")
	}
	for _, r := range ing.Spec.Rules {
		if !slices.Contains(tlsHosts, r.Host) {
			t.Errorf("rule host %q is not covered by TLS hosts %q", r.Host, tlsHosts)
		}
		if r.HTTP == nil {
			t.Errorf("rule %q has no HTTP paths", r.Host)
			continue
		}
		for _, p := range r.HTTP.Paths {
			b := p.Backend.Service
			if b == nil {
				t.Errorf("path %s has no service backend", p.Path)
				continue
			}
			svc := lookup[*corev1.Service](t, objs, b.Name)
			if !labels.SelectorFromSet(svc.Spec.Selector).Matches(pod) {
				t.Errorf("Service %s selector %v does not select the gateway pods", svc.Name, svc.Spec.Selector)
			}
			for _, sp := range svc.Spec.Ports {
				if containerPort(t, c, sp.TargetPort) != 8080 {
					t.Errorf("Service %s (behind the Ingress) exposes container port %s; only 8080 may be public", svc.Name, sp.TargetPort.String())
				}
				if sp.Name != b.Port.Name && sp.Port != b.Port.Number {
					t.Errorf("Service %s port %s is not the Ingress backend port", svc.Name, sp.Name)
				}
			}
		}
	}

	metrics := lookup[*corev1.Service](t, objs, "gateway-metrics")
	if len(metrics.Spec.Ports) != 1 || containerPort(t, c, metrics.Spec.Ports[0].TargetPort) != 9090 {
		t.Errorf("Service gateway-metrics ports %+v, want only container port 9090", metrics.Spec.Ports)
	}
	if !labels.SelectorFromSet(metrics.Spec.Selector).Matches(pod) {
		t.Error("Service gateway-metrics does not select the gateway pods")
	}
}

// policyPorts lists a NetworkPolicy rule's ports as sorted "PROTO/port".
func policyPorts(ports []networkingv1.NetworkPolicyPort) []string {
	var out []string
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		port := "any"
		if p.Port != nil {
			port = p.Port.String()
		}
		out = append(out, string(proto)+"/"+port)
	}
	slices.Sort(out)
	return out
}

func TestNetworkPolicies(t *testing.T) {
	_, objs := loadBase(t)
	d := lookup[*appsv1.Deployment](t, objs, "gateway")
	cj := lookup[*batchv1.CronJob](t, objs, "gateway-canary")

	t.Run("gateway", func(t *testing.T) {
		np := lookup[*networkingv1.NetworkPolicy](t, objs, "gateway")
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			t.Fatal(err)
		}
		if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Error("policy does not select the gateway pods")
		}
		if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) {
			t.Errorf("policyTypes %v, want Ingress and Egress", np.Spec.PolicyTypes)
		}
		var egress []string
		for _, r := range np.Spec.Egress {
			egress = append(egress, policyPorts(r.Ports)...)
		}
		slices.Sort(egress)
		if want := []string{"TCP/443", "TCP/53", "UDP/53"}; !slices.Equal(egress, want) {
			t.Errorf("egress ports %v, want only %v", egress, want)
		}
		// Each ingress rule: which peers may reach which ports.
		got := map[string][]string{}
		for _, r := range np.Spec.Ingress {
			ports := strings.Join(policyPorts(r.Ports), ",")
			if len(r.From) == 0 {
				t.Errorf("ingress rule on %s admits every source", ports)
			}
			for _, peer := range r.From {
				var who string
				switch {
				case peer.IPBlock != nil:
					who = "ipBlock " + peer.IPBlock.CIDR
				case peer.NamespaceSelector != nil && peer.PodSelector == nil:
					who = "namespace " + peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]
				case peer.PodSelector != nil && peer.NamespaceSelector == nil:
					psel, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
					if err != nil {
						t.Fatal(err)
					}
					if psel.Matches(labels.Set(cj.Spec.JobTemplate.Spec.Template.Labels)) {
						who = "canary pods"
					} else {
						who = "pods " + psel.String()
					}
				default:
					who = "other peer"
				}
				got[ports] = append(got[ports], who)
			}
		}
		want := map[string][]string{
			"TCP/8080": {"namespace ingress-nginx", "canary pods"},
			"TCP/9090": {"namespace monitoring"},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ingress %v, want %v", got, want)
		}
	})

	t.Run("canary", func(t *testing.T) {
		np := lookup[*networkingv1.NetworkPolicy](t, objs, "gateway-canary")
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			t.Fatal(err)
		}
		if !sel.Matches(labels.Set(cj.Spec.JobTemplate.Spec.Template.Labels)) {
			t.Error("policy does not select the canary pods")
		}
		if len(np.Spec.Ingress) != 0 || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			t.Error("the canary must accept no connections")
		}
		var egress []string
		for _, r := range np.Spec.Egress {
			ports := policyPorts(r.Ports)
			if slices.Contains(ports, "TCP/8080") {
				if len(r.To) != 1 || r.To[0].PodSelector == nil {
					t.Errorf("egress to 8080 is not limited to the gateway pods: %+v", r.To)
				} else if psel, err := metav1.LabelSelectorAsSelector(r.To[0].PodSelector); err != nil || !psel.Matches(labels.Set(d.Spec.Template.Labels)) {
					t.Errorf("egress to 8080 does not reach the gateway pods: %v", r.To[0].PodSelector)
				}
			}
			egress = append(egress, ports...)
		}
		slices.Sort(egress)
		if want := []string{"TCP/53", "TCP/8080", "UDP/53"}; !slices.Equal(egress, want) {
			t.Errorf("egress ports %v, want only %v", egress, want)
		}
	})
}

func TestCronJobCanary(t *testing.T) {
	k, objs := loadBase(t)
	cj := lookup[*batchv1.CronJob](t, objs, "gateway-canary")
	svc := lookup[*corev1.Service](t, objs, "gateway")

	if cj.Spec.Schedule != "*/5 * * * *" {
		t.Errorf("schedule %q, want */5 * * * *", cj.Spec.Schedule)
	}
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q, want Forbid", cj.Spec.ConcurrencyPolicy)
	}
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q, want Never (one probe per run)", pod.RestartPolicy)
	}
	if d := cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds; d == nil || *d >= 300 {
		t.Errorf("activeDeadlineSeconds %v, want a deadline under the 5-minute period", d)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("got %d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	url := fmt.Sprintf("http://%s.%s.svc:%d", svc.Name, k.Namespace, svc.Spec.Ports[0].Port)
	if want := []string{"once", "-url", url}; !slices.Equal(c.Args, want) {
		t.Errorf("args %q, want %q (the gateway Service in the kustomization's namespace)", c.Args, want)
	}
	if !strings.HasPrefix(c.Image, "ghcr.io/openbedrock/gateway-canary:") {
		t.Errorf("image %s, want the canary target of the Dockerfile", c.Image)
	}
}

func TestImagesAreManagedByKustomization(t *testing.T) {
	k, objs := loadBase(t)
	images := []string{
		lookup[*appsv1.Deployment](t, objs, "gateway").Spec.Template.Spec.Containers[0].Image,
		lookup[*batchv1.CronJob](t, objs, "gateway-canary").Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image,
	}
	for _, img := range images {
		name, _, _ := strings.Cut(img, ":")
		if !slices.ContainsFunc(k.Images, func(i kustomizeImageRef) bool { return i.Name == name }) {
			t.Errorf("image %s has no entry in the kustomization's images", name)
		}
	}
}

func TestPDBAndHPA(t *testing.T) {
	_, objs := loadBase(t)
	d := lookup[*appsv1.Deployment](t, objs, "gateway")

	pdb := lookup[*policyv1.PodDisruptionBudget](t, objs, "gateway")
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("minAvailable %v, want 1", pdb.Spec.MinAvailable)
	}
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Error("PDB does not select the gateway pods")
	}

	hpa := lookup[*autoscalingv2.HorizontalPodAutoscaler](t, objs, "gateway")
	if ref := hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != d.Name || ref.APIVersion != "apps/v1" {
		t.Errorf("scaleTargetRef %+v, want apps/v1 Deployment %s", ref, d.Name)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 || hpa.Spec.MaxReplicas < *hpa.Spec.MinReplicas {
		t.Errorf("replicas %v..%d, want at least 2 and max >= min", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}
	if len(hpa.Spec.Metrics) != 1 {
		t.Fatalf("got %d metrics, want CPU only", len(hpa.Spec.Metrics))
	}
	m := hpa.Spec.Metrics[0]
	if m.Type != autoscalingv2.ResourceMetricSourceType || m.Resource == nil || m.Resource.Name != corev1.ResourceCPU ||
		m.Resource.Target.AverageUtilization == nil || *m.Resource.Target.AverageUtilization != 70 {
		t.Errorf("metric %+v, want CPU utilization 70%%", m)
	}
}

func TestSecretExampleHoldsOnlyPlaceholders(t *testing.T) {
	objs := loadManifestFile(t, filepath.Join(kubernetesDir, secretExampleFile))
	if len(objs) != 1 {
		t.Fatalf("got %d objects, want 1 Secret", len(objs))
	}
	s, ok := objs[0].(*corev1.Secret)
	if !ok {
		t.Fatalf("got %T, want a Secret", objs[0])
	}
	if len(s.Data) != 0 {
		t.Errorf("data holds %d base64 values; use stringData placeholders", len(s.Data))
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if _, ok := s.StringData[k]; !ok {
			t.Errorf("no %s key", k)
		}
	}
	for k, v := range s.StringData {
		if !strings.HasPrefix(v, "REPLACE_WITH_") || !placeholder.MatchString(v) {
			t.Errorf("%s=%q is not a REPLACE_WITH_ placeholder", k, v)
		}
	}
}

// TestKustomizeBuild renders the base with kubectl's built-in kustomize,
// when kubectl is installed, and decodes the result strictly: it proves
// kustomize accepts kustomization.yaml and puts everything in its namespace.
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, kubectl, "kustomize", kubernetesDir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v\n%s", err, stderr.Bytes())
	}
	objs, err := decodeManifests(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("decode rendered base: %v", err)
	}
	k, base := loadBase(t)
	if len(objs) != len(base) {
		t.Errorf("rendered %d objects, want the %d the resources hold", len(objs), len(base))
	}
	for _, o := range objs {
		if _, ok := o.(*corev1.Namespace); ok {
			continue
		}
		if o.GetNamespace() != k.Namespace {
			t.Errorf("%T %s rendered in namespace %q, want %q", o, o.GetName(), o.GetNamespace(), k.Namespace)
		}
	}
}
