package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/operator"
)

// warningRecorder collects the Warning headers the apiserver returns, which
// carry the webhook's admission warnings.
type warningRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

// warningClient returns a client whose requests record their warnings.
func warningClient(t *testing.T) (client.Client, *warningRecorder) {
	t.Helper()
	rec := &warningRecorder{}
	cfg := rest.CopyConfig(suite.kube.Config)
	cfg.WarningHandler = rec
	scheme, err := operator.Scheme()
	require.NoError(t, err)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	require.NoError(t, err)
	return c, rec
}

// dryRunCreate runs a server-side dry-run create of obj and returns the
// admission warnings and the error.
func dryRunCreate(t *testing.T, obj client.Object) ([]string, error) {
	t.Helper()
	c, rec := warningClient(t)
	err := c.Create(context.Background(), obj.DeepCopyObject().(client.Object), client.DryRunAll)
	return rec.msgs, err
}

// createWithWarnings creates obj and returns the admission warnings.
func createWithWarnings(t *testing.T, obj client.Object) []string {
	t.Helper()
	c, rec := warningClient(t)
	require.NoError(t, c.Create(context.Background(), obj))
	return rec.msgs
}

// TestKubectlDryRunShowsPolicyErrors is the user's view of the webhook:
// `kubectl apply --dry-run=server` prints the packs' messages, stores
// nothing, and a valid policy passes.
func TestKubectlDryRunShowsPolicyErrors(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl is needed for this test: %v", err)
	}
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	b := readyPublicBucket(t, ns, p.Name, "dry")
	write := func(name, mode, doc string) string {
		y := "apiVersion: pail.dev/v1alpha1\nkind: BucketPolicy\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
			"\nspec:\n  bucketRef:\n    name: " + b.Name + "\n  enforcementMode: " + mode + "\n  policy: " + strings.ReplaceAll(doc, "\n", "") + "\n"
		f := filepath.Join(t.TempDir(), name+".yaml")
		require.NoError(t, os.WriteFile(f, []byte(y), 0o600))
		return f
	}
	apply := func(f string) (string, error) {
		out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", suite.kube.Kubeconfig, "apply", "--dry-run=server", "-f", f).CombinedOutput()
		return string(out), err
	}

	tests := []struct {
		name, mode, doc string
		wantErr         bool
		want            []string
	}{
		{name: "denied", mode: "Enforce", doc: publicWritePolicy(b.Spec.BucketName), wantErr: true,
			want: []string{"is invalid", "spec.policy: Forbidden", "[security]", "PublicWrite"}},
		{name: "warned", mode: "Warn", doc: publicWritePolicy(b.Spec.BucketName),
			want: []string{"Warning:", "PublicWrite", "(server dry run)"}},
		{name: "valid", mode: "Enforce", doc: goodPolicy(b.Spec.BucketName),
			want: []string{"created (server dry run)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := apply(write(tc.name, tc.mode, tc.doc))
			if tc.wantErr {
				require.Error(t, err, out)
			} else {
				require.NoError(t, err, out)
			}
			for _, w := range tc.want {
				assert.Contains(t, out, w)
			}
			var got pailv1.BucketPolicy
			err = suite.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: tc.name}, &got)
			assert.True(t, client.IgnoreNotFound(err) == nil && err != nil, "a dry run stores nothing")
		})
	}

	// An update into a denied document is refused too, and the stored
	// object keeps its valid policy.
	bp := newBucketPolicy(ns, "kept", b.Name, goodPolicy(b.Spec.BucketName))
	require.NoError(t, suite.k8s.Create(ctx, bp))
	waitPolicy(t, client.ObjectKeyFromObject(bp), pailv1.ConditionReady, metav1.ConditionTrue, "")
	out, err := apply(write("kept", "Enforce", publicWritePolicy(b.Spec.BucketName)))
	require.Error(t, err, out)
	assert.Contains(t, out, "PublicWrite")
	require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(bp), bp))
	assert.NotContains(t, string(bp.Spec.Policy.Raw), "PublicWrite")
}
