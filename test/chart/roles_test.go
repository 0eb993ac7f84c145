package chart

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/pail-dev/pail/test/env"
)

// chartWithRole copies the chart and replaces files/role.yaml, as the next
// `make manifests` would after someone adds a kind or a marker.
func chartWithRole(t *testing.T, role string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pail")
	out, err := exec.Command("cp", "-r", chartDir(), dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "files", "role.yaml"), []byte(role), 0o600))
	return dir
}

// chartWith copies the chart with files/role.yaml replaced and extra files
// (relative path to content) added.
func chartWith(t *testing.T, role string, extra map[string]string) string {
	t.Helper()
	dir := chartWithRole(t, role)
	for name, content := range extra {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	return dir
}

// clusterScopedCRD is a pail.dev kind of the admin's, as ClusterProviders
// and guardrails are.
const clusterScopedCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: guardrails.pail.dev
spec:
  group: pail.dev
  names:
    kind: Guardrail
    listKind: GuardrailList
    plural: guardrails
    singular: guardrail
  scope: Cluster
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
`

// TestRenderTenantKinds: the user roles grant rbac.tenantResources, and
// only kinds the operator manages that are namespaced; a kind the operator
// gains (make manifests) reaches tenants only once listed.
func TestRenderTenantKinds(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join(chartDir(), "files", "role.yaml"))
	require.NoError(t, err)
	guardrails := "- apiGroups:\n  - pail.dev\n  resources:\n  - guardrails\n  verbs:\n  - get\n  - list\n  - watch\n"
	dir := chartWith(t, string(orig)+guardrails, map[string]string{"crds/pail.dev_guardrails.yaml": clusterScopedCRD})
	tmpl := func(args ...string) (string, error) {
		return env.HelmTemplate(t.Context(), helm(t), append([]string{releaseName, dir, "--namespace", releaseNS}, args...)...)
	}

	out, err := tmpl()
	require.NoError(t, err)
	objs := objects(t, out)
	op := typed[rbacv1.ClusterRole](t, find(objs, "ClusterRole", "pail-operator"))
	assert.Contains(t, pailResources(op.Rules), "guardrails", "the operator gets the new kind")
	for _, role := range []string{"pail-view", "pail-edit", "pail-admin"} {
		cr := typed[rbacv1.ClusterRole](t, find(objs, "ClusterRole", role))
		assert.Equal(t, tenantResources(t), cr.Rules[0].Resources, "%s: the tenant kinds, not the new one", role)
	}

	tests := []struct {
		name, set, wantErr string
	}{
		{"a cluster-scoped kind is never a tenant kind", "rbac.tenantResources={buckets,guardrails}", "guardrails is not a namespaced kind"},
		{"a kind the operator does not manage is refused", "rbac.tenantResources={buckets,widgets}", "widgets is not a pail.dev resource the operator manages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tmpl("--set", tt.set)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
	t.Run("an admin may make Providers a tenant kind on purpose", func(t *testing.T) {
		out, err := tmpl("--set", "rbac.tenantResources={buckets,providers}")
		require.NoError(t, err)
		edit := typed[rbacv1.ClusterRole](t, find(objects(t, out), "ClusterRole", "pail-edit"))
		assert.Equal(t, []string{"buckets", "providers"}, edit.Rules[0].Resources)
	})
}

func TestRenderRolesFollowFilesRoleYAML(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join(chartDir(), "files", "role.yaml"))
	require.NoError(t, err)
	accessKeys := `- apiGroups:
  - pail.dev
  resources:
  - accesskeys
  verbs:
  - get
  - list
  - watch
- apiGroups:
  - pail.dev
  resources:
  - accesskeys/status
  verbs:
  - patch
`
	tests := []struct {
		name    string
		role    string
		wantErr string
		check   func(t *testing.T, dir string)
	}{
		{
			// A new kind reaches the operator without a chart edit, and the
			// user roles when it is a tenant kind (accesskeys is one).
			name: "a kind added by make manifests is granted",
			role: string(orig) + accessKeys,
			check: func(t *testing.T, dir string) {
				out, err := exec.Command(helm(t), "template", releaseName, dir, "--namespace", releaseNS).CombinedOutput()
				require.NoError(t, err, "%s", out)
				objs := objects(t, string(out))
				op := typed[rbacv1.ClusterRole](t, find(objs, "ClusterRole", "pail-operator"))
				var seen bool
				for _, r := range op.Rules {
					seen = seen || (len(r.Resources) == 1 && r.Resources[0] == "accesskeys/status")
				}
				assert.True(t, seen, "operator ClusterRole carries the new rule")
				view := typed[rbacv1.ClusterRole](t, find(objs, "ClusterRole", "pail-view"))
				assert.Contains(t, view.Rules[0].Resources, "accesskeys")
				assert.NotContains(t, view.Rules[0].Resources, "accesskeys/status")
			},
		},
		{
			name:    "a namespaced Role is refused, not dropped",
			role:    string(orig) + "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: pail-operator\n  namespace: x\nrules: []\n",
			wantErr: "files/role.yaml now holds a namespaced Role",
		},
		{
			name:    "no rules at all is refused",
			role:    "",
			wantErr: "files/role.yaml holds no ClusterRole rules",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := chartWithRole(t, tt.role)
			if tt.wantErr != "" {
				out, err := exec.Command(helm(t), "template", releaseName, dir, "--namespace", releaseNS).CombinedOutput()
				require.Error(t, err)
				assert.Contains(t, string(out), tt.wantErr)
				return
			}
			tt.check(t, dir)
		})
	}
}
