package operator

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func TestClusterIdentity(t *testing.T) {
	scheme := runtime.NewScheme()
	require.NoError(t, corev1.AddToScheme(scheme))
	kubeSystem := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: "b5a1d7e0-0f7e-4a4c-9d0c-2f6c7e1d9a31"}}
	c := fake.NewClientBuilder().WithScheme(scheme).Build()

	ids, err := newClusterIdentity(c, "")
	require.NoError(t, err, "nothing is read at start")
	_, err = ids.ID(t.Context())
	require.ErrorContains(t, err, "kube-system", "no Namespace yet (or no RBAC): an error to retry")

	require.NoError(t, c.Create(t.Context(), kubeSystem))
	id, err := ids.ID(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "b5a1d7e0-0f7e-4a4c-9d0c-2f6c7e1d9a31", id, "the kube-system Namespace's UID, once it can be read")
	require.NoError(t, c.Delete(t.Context(), kubeSystem))
	id, err = ids.ID(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "b5a1d7e0-0f7e-4a4c-9d0c-2f6c7e1d9a31", id, "read once")

	ids, err = newClusterIdentity(c, "second-cluster")
	require.NoError(t, err)
	id, err = ids.ID(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "second-cluster", id, "the override, without reading the API")

	_, err = newClusterIdentity(c, "a/b")
	require.ErrorContains(t, err, "cluster id", "a bad override stops the start")
}
