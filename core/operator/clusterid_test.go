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

func TestResolveClusterID(t *testing.T) {
	scheme := runtime.NewScheme()
	require.NoError(t, corev1.AddToScheme(scheme))
	withKubeSystem := fake.NewClientBuilder().WithScheme(scheme).
		WithObjects(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", UID: "b5a1d7e0-0f7e-4a4c-9d0c-2f6c7e1d9a31"}}).Build()
	empty := fake.NewClientBuilder().WithScheme(scheme).Build()

	id, err := resolveClusterID(t.Context(), withKubeSystem, "")
	require.NoError(t, err)
	assert.Equal(t, "b5a1d7e0-0f7e-4a4c-9d0c-2f6c7e1d9a31", id, "the kube-system Namespace's UID")

	id, err = resolveClusterID(t.Context(), empty, "second-cluster")
	require.NoError(t, err)
	assert.Equal(t, "second-cluster", id, "the override, without reading the API")

	_, err = resolveClusterID(t.Context(), empty, "")
	require.ErrorContains(t, err, "kube-system", "no cluster id, no start")
	_, err = resolveClusterID(t.Context(), empty, "a/b")
	require.ErrorContains(t, err, "cluster id")
}
