package deploy

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// rolesAnywhereDir is the overlay running the AWS signing helper as a
// metadata-protocol sidecar (IAM Roles Anywhere).
const rolesAnywhereDir = "kubernetes-roles-anywhere"

// signingHelperPort is where `aws_signing_helper serve` listens (its
// default, given explicitly in the overlay).
const signingHelperPort = "9911"

// renderRolesAnywhere renders the overlay with kubectl's kustomize.
func renderRolesAnywhere(tb testing.TB) []metav1.Object {
	tb.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		tb.Skip("kubectl is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, kubectl, "kustomize", rolesAnywhereDir)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("kubectl kustomize %s: %v\n%s", rolesAnywhereDir, err, stderr.Bytes())
	}
	objs, err := decodeManifests(bytes.NewReader(out))
	if err != nil {
		tb.Fatalf("decode rendered overlay: %v", err)
	}
	return objs
}

// TestRolesAnywhereOverlayFilesDecodeStrictly decodes the overlay's own
// files (the patch is a partial Deployment) as TestManifestsDecodeStrictly
// decodes the base's, without kubectl.
func TestRolesAnywhereOverlayFilesDecodeStrictly(t *testing.T) {
	for _, f := range []string{"rolesanywhere-config.yaml", "signing-helper-sidecar.yaml"} {
		loadManifestFile(t, filepath.Join(rolesAnywhereDir, f))
	}
}

// TestRolesAnywhereOverlay checks the rendered overlay: the gateway pod
// gains the signing helper as a restricted native sidecar serving on
// 127.0.0.1:9911 with the certificate mounted read-only, the gateway points
// its SDK there and no longer reads the access-key Secret, and everything
// else of the base is unchanged.
func TestRolesAnywhereOverlay(t *testing.T) {
	objs := renderRolesAnywhere(t)
	k, base := loadBase(t)
	if len(objs) != len(base)+1 {
		t.Errorf("rendered %d objects, want the base's %d and the Roles Anywhere ConfigMap", len(objs), len(base))
	}
	for _, o := range objs {
		if _, ok := o.(*corev1.Namespace); !ok && o.GetNamespace() != k.Namespace {
			t.Errorf("%T %s rendered in namespace %q, want %q", o, o.GetName(), o.GetNamespace(), k.Namespace)
		}
	}
	cm := lookup[*corev1.ConfigMap](t, objs, "gateway-rolesanywhere")
	for _, key := range []string{"TRUST_ANCHOR_ARN", "PROFILE_ARN", "ROLE_ARN"} {
		if cm.Data[key] == "" {
			t.Errorf("ConfigMap gateway-rolesanywhere has no %s", key)
		}
	}
	pod := lookup[*appsv1.Deployment](t, objs, "gateway").Spec.Template.Spec
	for _, p := range restrictedPodProblems(pod) {
		t.Error(p)
	}

	i := slices.IndexFunc(pod.InitContainers, func(c corev1.Container) bool { return c.Name == "aws-signing-helper" })
	if i < 0 {
		t.Fatalf("no aws-signing-helper init container; got %d", len(pod.InitContainers))
	}
	helper := pod.InitContainers[i]
	if helper.RestartPolicy == nil || *helper.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Error("aws-signing-helper is not a native sidecar (restartPolicy: Always): it would block the pod's start")
	}
	if !strings.HasPrefix(helper.Image, "public.ecr.aws/rolesanywhere/credential-helper:") {
		t.Errorf("helper image %q, want AWS's public.ecr.aws/rolesanywhere/credential-helper", helper.Image)
	}
	if len(helper.Args) == 0 || helper.Args[0] != "serve" {
		t.Errorf("helper args %q, want serve ...", helper.Args)
	}
	flags := map[string]string{}
	for j := 1; j+1 < len(helper.Args); j += 2 {
		flags[helper.Args[j]] = helper.Args[j+1]
	}
	want := map[string]string{
		"--certificate":      "/etc/rolesanywhere/tls.crt",
		"--private-key":      "/etc/rolesanywhere/tls.key",
		"--trust-anchor-arn": "$(TRUST_ANCHOR_ARN)",
		"--profile-arn":      "$(PROFILE_ARN)",
		"--role-arn":         "$(ROLE_ARN)",
		"--port":             signingHelperPort,
	}
	for f, v := range want {
		if flags[f] != v {
			t.Errorf("helper %s %q, want %q", f, flags[f], v)
		}
	}
	if !slices.ContainsFunc(helper.EnvFrom, func(e corev1.EnvFromSource) bool {
		return e.ConfigMapRef != nil && e.ConfigMapRef.Name == cm.Name
	}) {
		t.Errorf("helper does not take its ARNs from ConfigMap %s", cm.Name)
	}
	mounted := false
	for _, m := range helper.VolumeMounts {
		if m.MountPath == "/etc/rolesanywhere" && m.ReadOnly {
			mounted = true
			v := pod.Volumes[slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })]
			if v.Secret == nil || v.Secret.SecretName != "gateway-rolesanywhere-cert" {
				t.Errorf("volume %s is %+v, want the Secret gateway-rolesanywhere-cert", v.Name, v.VolumeSource)
			} else if v.Secret.DefaultMode == nil || *v.Secret.DefaultMode&0o007 != 0 {
				t.Errorf("certificate files are readable by every uid (mode %o)", *v.Secret.DefaultMode)
			}
		}
	}
	if !mounted {
		t.Error("the certificate is not mounted read-only at /etc/rolesanywhere")
	}
	if pod.SecurityContext == nil || pod.SecurityContext.FSGroup == nil || *pod.SecurityContext.FSGroup != nonRootUID {
		t.Errorf("pod fsGroup is not %d: the helper cannot read its 0440 certificate files", nonRootUID)
	}

	gw := pod.Containers[slices.IndexFunc(pod.Containers, func(c corev1.Container) bool { return c.Name == "gateway" })]
	endpoint := ""
	for _, e := range gw.Env {
		if e.Name == "AWS_EC2_METADATA_SERVICE_ENDPOINT" {
			endpoint = e.Value
		}
	}
	if endpoint != "http://127.0.0.1:"+signingHelperPort+"/" {
		t.Errorf("gateway AWS_EC2_METADATA_SERVICE_ENDPOINT=%q, want the sidecar at http://127.0.0.1:%s/", endpoint, signingHelperPort)
	}
	for _, e := range gw.EnvFrom {
		if e.SecretRef != nil {
			t.Errorf("gateway still reads Secret %s: static keys would win over the metadata endpoint", e.SecretRef.Name)
		}
	}
	for _, e := range gw.Env {
		if e.Name == "AWS_ACCESS_KEY_ID" || e.Name == "AWS_SECRET_ACCESS_KEY" || e.Name == "AWS_EC2_METADATA_DISABLED" {
			t.Errorf("gateway sets %s; the metadata endpoint must be its credentials", e.Name)
		}
	}
	if !slices.ContainsFunc(gw.EnvFrom, func(e corev1.EnvFromSource) bool {
		return e.ConfigMapRef != nil && e.ConfigMapRef.Name == "gateway-config"
	}) {
		t.Error("gateway lost its settings (ConfigMap gateway-config)")
	}
	if gw.ReadinessProbe == nil || gw.Lifecycle == nil || gw.Lifecycle.PreStop == nil {
		t.Error("the patch dropped the base gateway's probes or preStop")
	}
}
