package chart

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/pail-dev/pail/core/controllers/plugin"
	"github.com/pail-dev/pail/core/registry"
)

// operatorRules are the rules controller-gen wrote from the kubebuilder
// markers: the chart must grant exactly these, whatever kinds exist today.
func operatorRules(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir(), "files", "role.yaml"))
	require.NoError(t, err)
	var rules []rbacv1.PolicyRule
	for doc := range strings.SplitSeq(string(b), "\n---") {
		var cr rbacv1.ClusterRole
		require.NoError(t, yaml.UnmarshalStrict([]byte(doc), &cr))
		if cr.Kind == "ClusterRole" {
			rules = append(rules, cr.Rules...)
		}
	}
	require.NotEmpty(t, rules)
	return rules
}

// pailResources are the pail.dev resources (no subresources) in those rules.
func pailResources(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		if !slices.Contains(r.APIGroups, "pail.dev") {
			continue
		}
		for _, res := range r.Resources {
			if !strings.Contains(res, "/") && !slices.Contains(out, res) {
				out = append(out, res)
			}
		}
	}
	slices.Sort(out)
	return out
}

// tenantResources is rbac.tenantResources of the chart's values.yaml, the
// one place that names the tenant kinds.
func tenantResources(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir(), "values.yaml"))
	require.NoError(t, err)
	var v struct {
		RBAC struct {
			TenantResources []string `json:"tenantResources"`
		} `json:"rbac"`
	}
	require.NoError(t, yaml.Unmarshal(b, &v))
	require.NotEmpty(t, v.RBAC.TenantResources)
	return slices.Sorted(slices.Values(v.RBAC.TenantResources))
}

// assertSecureEndpoint checks a ServiceMonitor endpoint scrapes the secure
// metrics as kubebuilder's scaffold does: https with the scraper's
// ServiceAccount token, verified against caSecret's ca.crt when there is
// one, else without verification (the certificate is self-signed).
func assertSecureEndpoint(t *testing.T, ep map[string]any, caSecret string) {
	t.Helper()
	assert.Equal(t, "https", ep["scheme"])
	assert.Equal(t, "/var/run/secrets/kubernetes.io/serviceaccount/token", ep["bearerTokenFile"])
	tls, _ := ep["tlsConfig"].(map[string]any)
	require.NotNil(t, tls, "tlsConfig")
	if caSecret == "" {
		assert.Equal(t, true, tls["insecureSkipVerify"])
		return
	}
	assert.NotContains(t, tls, "insecureSkipVerify")
	assert.Equal(t, "pail-metrics."+releaseNS+".svc", tls["serverName"])
	name, _, _ := unstructured.NestedString(tls, "ca", "secret", "name")
	key, _, _ := unstructured.NestedString(tls, "ca", "secret", "key")
	assert.Equal(t, caSecret, name)
	assert.Equal(t, "ca.crt", key)
}

func deployment(t *testing.T, objs []*unstructured.Unstructured) (*appsv1.Deployment, corev1.Container) {
	t.Helper()
	d := typed[appsv1.Deployment](t, find(objs, "Deployment", "pail"))
	require.Len(t, d.Spec.Template.Spec.Containers, 1)
	return d, d.Spec.Template.Spec.Containers[0]
}

// flag returns the value of --name=value in args, and whether it is there.
func flag(args []string, name string) (string, bool) {
	for _, a := range args {
		if a == "--"+name {
			return "", true
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func mountPath(c corev1.Container, volume string) string {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m.MountPath
		}
	}
	return ""
}

func volume(d *appsv1.Deployment, name string) *corev1.Volume {
	for i := range d.Spec.Template.Spec.Volumes {
		if d.Spec.Template.Spec.Volumes[i].Name == name {
			return &d.Spec.Template.Spec.Volumes[i]
		}
	}
	return nil
}

func kindNames(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	slices.Sort(out)
	return out
}

func TestRenderDefaults(t *testing.T) {
	objs := renderObjects(t)

	// Default values render exactly these objects: no ServiceMonitor or
	// PrometheusRule (they need the prometheus-operator CRDs), no PDB for one
	// replica, no plugin ConfigMaps.
	assert.Equal(t, []string{
		"ClusterRole/pail-admin", "ClusterRole/pail-edit", "ClusterRole/pail-metrics-reader", "ClusterRole/pail-operator",
		"ClusterRole/pail-provider-editor", "ClusterRole/pail-view",
		"ClusterRoleBinding/pail-operator",
		"Deployment/pail",
		"Role/pail-leader-election", "RoleBinding/pail-leader-election",
		"Secret/pail-webhook-tls",
		"Service/pail-metrics", "Service/pail-webhook",
		"ServiceAccount/pail",
		"ValidatingWebhookConfiguration/pail",
	}, kindNames(objs))
	for _, o := range objs {
		if o.GetKind() != "ClusterRole" && o.GetKind() != "ClusterRoleBinding" && o.GetKind() != "ValidatingWebhookConfiguration" {
			assert.Equal(t, releaseNS, o.GetNamespace(), "%s/%s is in the release namespace", o.GetKind(), o.GetName())
		}
	}

	t.Run("deployment is locked down", func(t *testing.T) {
		d, c := deployment(t, objs)
		pod := d.Spec.Template.Spec
		assert.Equal(t, "pail", pod.ServiceAccountName)
		require.NotNil(t, pod.SecurityContext)
		assert.True(t, *pod.SecurityContext.RunAsNonRoot)
		assert.Equal(t, int64(65532), *pod.SecurityContext.RunAsUser)
		assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, pod.SecurityContext.SeccompProfile.Type)
		sc := c.SecurityContext
		require.NotNil(t, sc)
		assert.True(t, *sc.RunAsNonRoot)
		assert.True(t, *sc.ReadOnlyRootFilesystem)
		assert.False(t, *sc.AllowPrivilegeEscalation)
		assert.False(t, *sc.Privileged)
		assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
		assert.Empty(t, sc.Capabilities.Add)
		assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, sc.SeccompProfile.Type)
		assert.False(t, c.Resources.Requests.Memory().IsZero(), "memory request")
		assert.False(t, c.Resources.Limits.Memory().IsZero(), "memory limit")
		assert.False(t, c.Resources.Requests.Cpu().IsZero(), "cpu request")
	})

	t.Run("probes and ports match the operator's flags", func(t *testing.T) {
		_, c := deployment(t, objs)
		ports := map[string]int32{}
		for _, p := range c.Ports {
			ports[p.Name] = p.ContainerPort
		}
		assert.Equal(t, map[string]int32{"metrics": 8080, "probes": 8081, "webhook": 9443}, ports)
		v, _ := flag(c.Args, "health-probe-bind-address")
		assert.Equal(t, ":8081", v)
		v, _ = flag(c.Args, "metrics-bind-address")
		assert.Equal(t, ":8080", v)
		require.NotNil(t, c.LivenessProbe)
		require.NotNil(t, c.ReadinessProbe)
		assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
		assert.Equal(t, "probes", c.LivenessProbe.HTTPGet.Port.StrVal)
		assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
		assert.Equal(t, "probes", c.ReadinessProbe.HTTPGet.Port.StrVal)
		_, le := flag(c.Args, "leader-elect")
		assert.False(t, le, "one replica needs no leader election by default")
	})

	t.Run("compile cache is a private emptyDir passed as --cache-dir", func(t *testing.T) {
		d, c := deployment(t, objs)
		dir, ok := flag(c.Args, "cache-dir")
		require.True(t, ok)
		assert.Equal(t, dir, mountPath(c, "compile-cache"))
		v := volume(d, "compile-cache")
		require.NotNil(t, v)
		require.NotNil(t, v.EmptyDir, "an emptyDir: never shared with another pod")
		seed, ok := flag(c.Args, "cache-seed-dir")
		require.True(t, ok)
		assert.NotEqual(t, dir, seed, "the image's warmed cache is not hidden under the emptyDir")
	})

	t.Run("operator ClusterRole is files/role.yaml", func(t *testing.T) {
		cr := typed[rbacv1.ClusterRole](t, find(objs, "ClusterRole", "pail-operator"))
		assert.Equal(t, operatorRules(t), cr.Rules)
		crb := typed[rbacv1.ClusterRoleBinding](t, find(objs, "ClusterRoleBinding", "pail-operator"))
		assert.Equal(t, rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "pail-operator"}, crb.RoleRef)
		assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "pail", Namespace: releaseNS}}, crb.Subjects)
	})

	t.Run("leader election Role is namespaced and covers leases and events", func(t *testing.T) {
		r := typed[rbacv1.Role](t, find(objs, "Role", "pail-leader-election"))
		assert.Equal(t, releaseNS, r.Namespace)
		grants := map[string][]string{}
		for _, rule := range r.Rules {
			for _, g := range rule.APIGroups {
				for _, res := range rule.Resources {
					grants[g+"/"+res] = rule.Verbs
				}
			}
		}
		assert.Subset(t, grants["coordination.k8s.io/leases"], []string{"get", "create", "update"})
		assert.Subset(t, grants["/events"], []string{"create", "patch"})
		assert.Subset(t, grants["events.k8s.io/events"], []string{"create", "patch"})
		rb := typed[rbacv1.RoleBinding](t, find(objs, "RoleBinding", "pail-leader-election"))
		assert.Equal(t, "pail-leader-election", rb.RoleRef.Name)
		assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "pail", Namespace: releaseNS}}, rb.Subjects)
	})

	t.Run("user roles aggregate into view, edit and admin over the tenant kinds only", func(t *testing.T) {
		kinds := tenantResources(t)
		require.Contains(t, kinds, "buckets")
		// Every tenant kind is one the operator manages; Providers and the
		// cluster-scoped kinds are the admin's.
		assert.Subset(t, pailResources(operatorRules(t)), kinds)
		for _, admins := range []string{"providers", "clusterproviders", "guardrails"} {
			assert.NotContains(t, kinds, admins)
		}
		tests := []struct {
			role      string
			aggregate []string
			verbs     []string
		}{
			{"pail-view", []string{"view", "edit", "admin"}, []string{"get", "list", "watch"}},
			{"pail-edit", []string{"edit", "admin"}, []string{"create", "update", "patch", "delete"}},
			{"pail-admin", []string{"admin"}, []string{"deletecollection"}},
		}
		for _, tt := range tests {
			cr := typed[rbacv1.ClusterRole](t, find(objs, "ClusterRole", tt.role))
			for _, a := range tt.aggregate {
				assert.Equal(t, "true", cr.Labels["rbac.authorization.k8s.io/aggregate-to-"+a], "%s aggregates to %s", tt.role, a)
			}
			require.Len(t, cr.Rules, 1)
			assert.Equal(t, []string{"pail.dev"}, cr.Rules[0].APIGroups)
			assert.Equal(t, kinds, cr.Rules[0].Resources, "%s: tenant kinds only, no status or finalizers", tt.role)
			assert.Equal(t, tt.verbs, cr.Rules[0].Verbs)
		}
	})

	t.Run("provider-editor is opt-in: not aggregated, Providers only", func(t *testing.T) {
		cr := typed[rbacv1.ClusterRole](t, find(objs, "ClusterRole", "pail-provider-editor"))
		for k := range cr.Labels {
			assert.NotContains(t, k, "aggregate-to", "an admin binds it; no built-in role carries it")
		}
		assert.Nil(t, cr.AggregationRule)
		require.Len(t, cr.Rules, 1)
		assert.Equal(t, []string{"pail.dev"}, cr.Rules[0].APIGroups)
		assert.Equal(t, []string{"providers"}, cr.Rules[0].Resources)
		assert.Subset(t, cr.Rules[0].Verbs, []string{"get", "list", "watch", "create", "update", "patch", "delete"})
	})

	t.Run("metrics are secure: the operator may review tokens and access, a reader role exists", func(t *testing.T) {
		_, c := deployment(t, objs)
		v, ok := flag(c.Args, "metrics-secure")
		require.True(t, ok)
		assert.Equal(t, "true", v)
		_, ok = flag(c.Args, "metrics-cert-dir")
		assert.False(t, ok, "no certSecret: the operator signs its own certificate")
		op := typed[rbacv1.ClusterRole](t, find(objs, "ClusterRole", "pail-operator"))
		assert.Contains(t, op.Rules, rbacv1.PolicyRule{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}})
		assert.Contains(t, op.Rules, rbacv1.PolicyRule{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}})
		reader := typed[rbacv1.ClusterRole](t, find(objs, "ClusterRole", "pail-metrics-reader"))
		assert.Equal(t, []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}, reader.Rules)
		svc := typed[corev1.Service](t, find(objs, "Service", "pail-metrics"))
		require.NotNil(t, svc.Spec.Ports[0].AppProtocol)
		assert.Equal(t, "https", *svc.Spec.Ports[0].AppProtocol)
	})

	t.Run("metrics Service selects the operator pods", func(t *testing.T) {
		d, _ := deployment(t, objs)
		svc := typed[corev1.Service](t, find(objs, "Service", "pail-metrics"))
		require.Len(t, svc.Spec.Ports, 1)
		assert.Equal(t, int32(8080), svc.Spec.Ports[0].Port)
		assert.Equal(t, "metrics", svc.Spec.Ports[0].TargetPort.StrVal)
		for k, v := range svc.Spec.Selector {
			assert.Equal(t, v, d.Spec.Template.Labels[k])
		}
	})

	t.Run("webhook: certificate, Service and configuration fit together", func(t *testing.T) {
		d, c := deployment(t, objs)
		sec := typed[corev1.Secret](t, find(objs, "Secret", "pail-webhook-tls"))
		assert.Equal(t, corev1.SecretTypeTLS, sec.Type)
		vwc := typed[admissionv1.ValidatingWebhookConfiguration](t, find(objs, "ValidatingWebhookConfiguration", "pail"))
		// The webhooks of files/manifests.yaml (the kubebuilder markers): one
		// policy or grant check per validated kind and one Guardrail check per
		// kind, all on the one Service and CA.
		want := map[string]string{
			"bucketpolicies": "/validate-pail-dev-v1alpha1-bucketpolicy",
			"buckets":        "/validate-pail-dev-v1alpha1-bucket",
			"accesskeys":     "/validate-pail-dev-v1alpha1-accesskey",
		}
		for _, kind := range []struct{ resource, path string }{
			{"providers", "provider"}, {"buckets", "bucket"}, {"accesskeys", "accesskey"}, {"bucketpolicies", "bucketpolicy"},
		} {
			want["guardrail "+kind.resource] = "/guardrail-pail-dev-v1alpha1-" + kind.path
		}
		got := map[string]string{}
		require.NotEmpty(t, vwc.Webhooks)
		w := vwc.Webhooks[0]
		ref := w.ClientConfig.Service
		require.NotNil(t, ref)
		for _, h := range vwc.Webhooks {
			assert.Equal(t, admissionv1.Ignore, *h.FailurePolicy, "the controller validates again, so the webhook never blocks")
			assert.Equal(t, admissionv1.SideEffectClassNone, *h.SideEffects)
			assert.Equal(t, []string{"v1"}, h.AdmissionReviewVersions)
			require.Len(t, h.Rules, 1)
			assert.Equal(t, []admissionv1.OperationType{admissionv1.Create, admissionv1.Update}, h.Rules[0].Operations)
			assert.Equal(t, []string{"pail.dev"}, h.Rules[0].APIGroups)
			assert.Equal(t, []string{"v1alpha1"}, h.Rules[0].APIVersions)
			require.Len(t, h.Rules[0].Resources, 1)
			require.NotNil(t, h.ClientConfig.Service)
			what := h.Rules[0].Resources[0]
			if strings.HasSuffix(h.Name, ".guardrail.pail.dev") {
				what = "guardrail " + what
			}
			got[what] = *h.ClientConfig.Service.Path
			assert.Equal(t, releaseNS, h.ClientConfig.Service.Namespace)
			assert.Equal(t, ref.Name, h.ClientConfig.Service.Name)
			assert.Equal(t, *ref.Port, *h.ClientConfig.Service.Port)
			assert.Equal(t, w.ClientConfig.CABundle, h.ClientConfig.CABundle)
		}
		assert.Equal(t, want, got)
		svc := typed[corev1.Service](t, find(objs, "Service", ref.Name))
		require.Len(t, svc.Spec.Ports, 1)
		assert.Equal(t, *ref.Port, svc.Spec.Ports[0].Port)
		assert.Equal(t, "webhook", svc.Spec.Ports[0].TargetPort.StrVal)
		port, _ := flag(c.Args, "webhook-port")
		assert.Equal(t, "9443", port)

		// The caBundle is the Secret's CA, and the serving certificate in the
		// Secret verifies against it for the name the apiserver dials.
		assert.Equal(t, sec.Data["ca.crt"], w.ClientConfig.CABundle)
		pool := x509.NewCertPool()
		require.True(t, pool.AppendCertsFromPEM(w.ClientConfig.CABundle))
		block, _ := pem.Decode(sec.Data["tls.crt"])
		require.NotNil(t, block)
		cert, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err)
		_, err = cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: ref.Name + "." + ref.Namespace + ".svc", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		require.NoError(t, err)
		keyBlock, _ := pem.Decode(sec.Data["tls.key"])
		require.NotNil(t, keyBlock, "tls.key is PEM")

		// The Secret is mounted where --webhook-cert-dir points.
		dir, _ := flag(c.Args, "webhook-cert-dir")
		assert.Equal(t, "/tmp/k8s-webhook-server/serving-certs", dir)
		assert.Equal(t, dir, mountPath(c, "webhook-tls"))
		v := volume(d, "webhook-tls")
		require.NotNil(t, v)
		assert.Equal(t, sec.Name, v.Secret.SecretName)
		// The pod restarts when the certificate changes.
		assert.NotEmpty(t, d.Spec.Template.Annotations["checksum/webhook-tls"])
	})
}

func TestRenderOptions(t *testing.T) {
	allFeatures := filepath.Join(chartDir(), "ci", "all-features-values.yaml")
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, objs []*unstructured.Unstructured)
	}{
		{
			name: "every optional feature on",
			args: []string{"-f", allFeatures},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				d, c := deployment(t, objs)
				assert.Equal(t, int32(2), *d.Spec.Replicas)
				assert.Equal(t, "ghcr.io/pail-dev/pail@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", c.Image)
				_, le := flag(c.Args, "leader-elect")
				assert.True(t, le)
				ns, _ := flag(c.Args, "leader-election-namespace")
				assert.Equal(t, releaseNS, ns, "the Lease lives where the leader-election Role grants it")
				pre, _ := flag(c.Args, "preload")
				assert.Equal(t, "minio,aws", pre)
				assert.Equal(t, "--max-concurrent-reconciles=32", c.Args[len(c.Args)-1], "extraArgs come last, so they override")
				assert.Equal(t, []corev1.EnvVar{{Name: "GOMEMLIMIT", Value: "450MiB"}}, c.Env)

				pdb := find(objs, "PodDisruptionBudget", "pail")
				require.NotNil(t, pdb, "two replicas get a PodDisruptionBudget")

				sm := find(objs, "ServiceMonitor", "pail")
				require.NotNil(t, sm)
				assert.Equal(t, "prometheus", sm.GetLabels()["release"])
				sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
				svc := find(objs, "Service", "pail-metrics")
				for k, v := range sel {
					assert.Equal(t, v, svc.GetLabels()[k], "the ServiceMonitor selects the metrics Service (%s)", k)
				}
				eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
				require.Len(t, eps, 1)
				assert.Equal(t, "metrics", eps[0].(map[string]any)["port"])
				assertSecureEndpoint(t, eps[0].(map[string]any), "")

				alerts := alertNames(t, objs)
				assert.Equal(t, []string{"PailBucketDriftLoop", "PailDriverTraps", "PailKeyRotationFailing", "PailProviderDown"}, alerts)

				cms := ofKind(objs, "ConfigMap")
				require.Len(t, cms, 3, "two plugin ConfigMaps and the Grafana dashboard")
				ceph := typed[corev1.ConfigMap](t, find(objs, "ConfigMap", "pail-plugin-ceph"))
				assert.Equal(t, "true", ceph.Labels["pail.dev/plugin"])
				assert.Equal(t, map[string]string{
					"name":         "ceph",
					"version":      "1.2.0",
					"sha256":       "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
					"path":         "/plugins/ceph.wasm",
					"limits.yaml":  "callTimeout: 20s\nmaxCallsPerInstance: 5000\nmaxHTTPCallsPerOp: 16\nmemoryLimitPages: 2048\npoolSize: 2\n",
					"allowedHosts": "https://sts.ceph.example",
				}, ceph.Data)
				// The operator reads exactly what the chart renders.
				p, err := plugin.Parse(ceph)
				require.NoError(t, err)
				assert.Equal(t, registry.Limits{MemoryLimitPages: 2048, PoolSize: 2, CallTimeout: 20 * time.Second, MaxCallsPerInstance: 5000, MaxHTTPCallsPerOp: 16}, p.Limits)
				assert.Equal(t, []string{"https://sts.ceph.example"}, p.AllowedHosts)
				_, err = plugin.Parse(typed[corev1.ConfigMap](t, find(objs, "ConfigMap", "pail-plugin-garage")))
				require.NoError(t, err)
				garage := typed[corev1.ConfigMap](t, find(objs, "ConfigMap", "pail-plugin-garage"))
				assert.NotContains(t, garage.Data, "limits.yaml", "no limits given, none rendered")

				vwc := typed[admissionv1.ValidatingWebhookConfiguration](t, find(objs, "ValidatingWebhookConfiguration", "pail"))
				assert.Equal(t, admissionv1.Fail, *vwc.Webhooks[0].FailurePolicy)
			},
		},
		{
			// The production example in the docs must keep rendering.
			name: "examples/values-production.yaml",
			args: []string{"-f", filepath.Join(repoRoot(), "examples", "values-production.yaml")},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				d, c := deployment(t, objs)
				assert.Equal(t, int32(2), *d.Spec.Replicas)
				_, le := flag(c.Args, "leader-elect")
				assert.True(t, le)
				assert.Equal(t, "ghcr.io/pail-dev/pail:0.1.0", c.Image)
				assert.NotNil(t, find(objs, "PodDisruptionBudget", "pail"))
				assert.NotNil(t, find(objs, "ServiceMonitor", "pail"))
				assert.Len(t, alertNames(t, objs), 4)
			},
		},
		{
			name: "two replicas turn leader election on by themselves",
			args: []string{"--set", "replicaCount=2"},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				_, c := deployment(t, objs)
				_, le := flag(c.Args, "leader-elect")
				assert.True(t, le)
			},
		},
		{
			name: "leader election by value with one replica",
			args: []string{"--set", "leaderElection.enabled=true"},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				_, c := deployment(t, objs)
				_, le := flag(c.Args, "leader-elect")
				assert.True(t, le)
				assert.Nil(t, find(objs, "PodDisruptionBudget", "pail"), "one replica: a PDB would block node drains")
			},
		},
		{
			name: "metrics with a certificate Secret: mounted, and the ServiceMonitor verifies it",
			args: []string{"--set", "metrics.certSecret=pail-metrics-tls,metrics.serviceMonitor.enabled=true"},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				d, c := deployment(t, objs)
				dir, ok := flag(c.Args, "metrics-cert-dir")
				require.True(t, ok)
				assert.Equal(t, dir, mountPath(c, "metrics-tls"))
				v := volume(d, "metrics-tls")
				require.NotNil(t, v)
				assert.Equal(t, "pail-metrics-tls", v.Secret.SecretName)
				var keys []string
				for _, it := range v.Secret.Items {
					keys = append(keys, it.Key)
				}
				assert.Equal(t, []string{"tls.crt", "tls.key"}, keys, "the files controller-runtime reads")
				eps, _, _ := unstructured.NestedSlice(find(objs, "ServiceMonitor", "pail").Object, "spec", "endpoints")
				require.Len(t, eps, 1)
				assertSecureEndpoint(t, eps[0].(map[string]any), "pail-metrics-tls")
			},
		},
		{
			name: "metrics.secure=false: plain HTTP, as before",
			args: []string{"--set", "metrics.secure=false,metrics.certSecret=ignored,metrics.serviceMonitor.enabled=true"},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				d, c := deployment(t, objs)
				v, _ := flag(c.Args, "metrics-secure")
				assert.Equal(t, "false", v)
				_, ok := flag(c.Args, "metrics-cert-dir")
				assert.False(t, ok)
				assert.Nil(t, volume(d, "metrics-tls"))
				eps, _, _ := unstructured.NestedSlice(find(objs, "ServiceMonitor", "pail").Object, "spec", "endpoints")
				require.Len(t, eps, 1)
				for _, k := range []string{"scheme", "bearerTokenFile", "tlsConfig"} {
					assert.NotContains(t, eps[0].(map[string]any), k)
				}
				svc := typed[corev1.Service](t, find(objs, "Service", "pail-metrics"))
				assert.Equal(t, "http", *svc.Spec.Ports[0].AppProtocol)
			},
		},
		{
			name: "webhook disabled",
			args: []string{"--set", "webhook.enabled=false"},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				d, c := deployment(t, objs)
				assert.Empty(t, ofKind(objs, "ValidatingWebhookConfiguration"))
				assert.Empty(t, ofKind(objs, "Secret"))
				assert.Nil(t, find(objs, "Service", "pail-webhook"))
				port, _ := flag(c.Args, "webhook-port")
				assert.Equal(t, "0", port, "the operator is told not to serve it")
				assert.Nil(t, volume(d, "webhook-tls"))
				assert.Empty(t, mountPath(c, "webhook-tls"))
			},
		},
		{
			name: "no RBAC, existing ServiceAccount",
			args: []string{"--set", "rbac.create=false,rbac.aggregateToUserRoles=false,serviceAccount.create=false,serviceAccount.name=platform-sa"},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				for _, k := range []string{"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount"} {
					assert.Empty(t, ofKind(objs, k), k)
				}
				d, _ := deployment(t, objs)
				assert.Equal(t, "platform-sa", d.Spec.Template.Spec.ServiceAccountName)
			},
		},
		{
			name: "another release name prefixes every name",
			args: []string{"--set", "fullnameOverride=storage-operator"},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				require.NotNil(t, find(objs, "Deployment", "storage-operator"))
				require.NotNil(t, find(objs, "ClusterRole", "storage-operator-view"))
				vwc := typed[admissionv1.ValidatingWebhookConfiguration](t, find(objs, "ValidatingWebhookConfiguration", "storage-operator"))
				assert.Equal(t, "storage-operator-webhook", vwc.Webhooks[0].ClientConfig.Service.Name)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, renderObjects(t, tt.args...))
		})
	}
}

// A ServiceMonitor without the Service it selects would scrape nothing.
func TestRenderRefusesServiceMonitorWithoutService(t *testing.T) {
	_, err := render(t, "--set", "metrics.serviceMonitor.enabled=true,metrics.service.enabled=false")
	require.ErrorContains(t, err, "metrics.serviceMonitor.enabled needs metrics.service.enabled")
}

func TestSchemaRejectsBadValues(t *testing.T) {
	tests := []struct {
		name string
		set  string
		want string // the path helm reports
	}{
		{"unknown top-level key", "replicas=2", "additional properties 'replicas' not allowed"},
		{"misspelt nested key", "webhook.enable=false", "additional properties 'enable' not allowed"},
		{"failurePolicy outside the enum", "webhook.failurePolicy=Sometimes", "/webhook/failurePolicy"},
		{"log level outside the enum", "operator.logLevel=loud", "/operator/logLevel"},
		{"duration that Go cannot parse", "operator.driverCallTimeout=30 seconds", "/operator/driverCallTimeout"},
		{"negative replicas", "replicaCount=-1", "/replicaCount"},
		{"port out of range", "metrics.port=70000", "/metrics/port"},
		{"plugin without sha256", "plugins[0].name=ceph,plugins[0].version=1,plugins[0].path=/p/ceph.wasm", "sha256"},
		{"plugin sha256 not hex", "plugins[0].name=ceph,plugins[0].version=1,plugins[0].path=/p/ceph.wasm,plugins[0].sha256=xyz", "/plugins/0/sha256"},
		{"plugin unknown limit", "plugins[0].name=ceph,plugins[0].version=1,plugins[0].path=/p/ceph.wasm,plugins[0].sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08,plugins[0].limits.memory=1", "additional properties 'memory' not allowed"},
		{"image digest without algorithm", "image.digest=0123", "/image/digest"},
		{"tenant resource that is no resource name", "rbac.tenantResources[0]=Buckets", "/rbac/tenantResources/0"},
		{"metrics cert Secret that is no Secret name", "metrics.certSecret=My_Secret", "/metrics/certSecret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := render(t, "--set", tt.set)
			require.Error(t, err, "rendered:\n%s", out)
			assert.Contains(t, err.Error(), "values don't meet the specifications of the schema")
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// The secret's data must be base64 in the manifest; a plain-text cert would
// be rejected by the apiserver only at install time.
func TestRenderWebhookSecretIsBase64(t *testing.T) {
	objs := renderObjects(t)
	sec := find(objs, "Secret", "pail-webhook-tls")
	data, _, _ := unstructured.NestedStringMap(sec.Object, "data")
	for _, k := range []string{"ca.crt", "tls.crt", "tls.key"} {
		b, err := base64.StdEncoding.DecodeString(data[k])
		require.NoError(t, err, k)
		assert.True(t, strings.HasPrefix(string(b), "-----BEGIN "), "%s is a PEM block", k)
	}
}
