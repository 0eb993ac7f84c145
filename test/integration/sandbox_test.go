package integration

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// TestDriverCannotReachOtherHosts runs the rogue wasm driver, which asks the
// host for a URL that is not its Provider's endpoint, and proves the host
// refuses it before any packet leaves: the other server sees no request.
func TestDriverCannotReachOtherHosts(t *testing.T) {
	var hits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer other.Close()

	ns := namespace(t)
	ctx := context.Background()
	sec := credentialsSecret(ns, "creds", suite.minio.AccessKey, suite.minio.SecretKey)
	require.NoError(t, suite.k8s.Create(ctx, sec))
	// The rogue driver fetches the URL in spec.region instead of its endpoint.
	p := newProvider(ns, "rogue", "rogue", suite.minio.Endpoint, sec.Name)
	p.Spec.Region = other.URL + "/steal"
	require.NoError(t, suite.k8s.Create(ctx, p))

	got := waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionEndpointReachable, metav1.ConditionFalse, 120*time.Second)
	msg := condition(got.Status.Conditions, pailv1.ConditionEndpointReachable).Message
	assert.Contains(t, msg, "host not allowed")
	assert.Contains(t, msg, other.Listener.Addr().String())
	assert.Zero(t, hits.Load(), "the host refused the request before sending it")
	assert.Equal(t, metav1.ConditionFalse, condition(got.Status.Conditions, pailv1.ConditionReady).Status)
}
