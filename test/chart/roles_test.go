package chart

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
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
			// A new kind reaches the operator and the user roles without a chart edit.
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
