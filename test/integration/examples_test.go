package integration

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestExamplesAreAcceptedByTheAPIServer keeps examples/ true: every manifest
// passes the CRDs' validation on a real apiserver (server-side dry run).
// The namespaces the manifests name (pail-system, a tenant's) are created
// for real first: a dry run does not create one for the next manifest.
func TestExamplesAreAcceptedByTheAPIServer(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(), "examples", "*", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		rel, _ := filepath.Rel(repoRoot(), f)
		t.Run(rel, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			require.NoError(t, err)
			dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
			n := 0
			for {
				var u unstructured.Unstructured
				if err := dec.Decode(&u.Object); err != nil {
					if errors.Is(err, io.EOF) {
						break
					}
					require.NoError(t, err)
				}
				if len(u.Object) == 0 {
					continue
				}
				n++
				ensureExampleNamespace(t, u.GetNamespace())
				err := suite.k8s.Create(context.Background(), &u, client.DryRunAll)
				if u.GetKind() == "Namespace" && apierrors.IsAlreadyExists(err) {
					err = nil // made for an earlier manifest, or by another test
				}
				require.NoError(t, err, "%s %s", u.GetKind(), u.GetName())
			}
			require.Positive(t, n, "no manifest in %s", rel)
		})
	}
}

// ensureExampleNamespace creates namespace ns unless it is "" or exists.
func ensureExampleNamespace(t *testing.T, ns string) {
	t.Helper()
	if ns == "" {
		return
	}
	err := suite.k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", ns, err)
	}
}
