package metrics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// listReader is a client.Reader that answers List with fixed Providers and
// ClusterProviders (or an error), which is all the collector uses.
type listReader struct {
	client.Reader
	items   []pailv1.Provider
	cluster []pailv1.ClusterProvider
	err     error
}

func (r listReader) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	if r.err != nil {
		return r.err
	}
	switch l := list.(type) {
	case *pailv1.ProviderList:
		l.Items = r.items
	case *pailv1.ClusterProviderList:
		l.Items = r.cluster
	default:
		return fmt.Errorf("unexpected list %T", list)
	}
	return nil
}

func provider(name string, cond *metav1.Condition, failures int32) pailv1.Provider {
	p := pailv1.Provider{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Spec: pailv1.ProviderSpec{Driver: "minio"}}
	if cond != nil {
		p.Status.Conditions = []metav1.Condition{*cond}
	}
	p.Status.ConsecutiveFailures = failures
	return p
}

func TestStateCollector(t *testing.T) {
	tests := []struct {
		name   string
		reader listReader
		want   string
	}{
		{
			name: "ready, not ready and never checked Providers, and a ClusterProvider",
			reader: listReader{items: []pailv1.Provider{
				provider("up", &metav1.Condition{Type: pailv1.ConditionReady, Status: metav1.ConditionTrue, Reason: pailv1.ReasonAvailable}, 0),
				provider("down", &metav1.Condition{Type: pailv1.ConditionReady, Status: metav1.ConditionFalse, Reason: pailv1.ReasonUnreachable}, 3),
				provider("new", nil, 0),
			}, cluster: []pailv1.ClusterProvider{{
				ObjectMeta: metav1.ObjectMeta{Name: "shared"},
				Spec:       pailv1.ClusterProviderSpec{ProviderSpec: pailv1.ProviderSpec{Driver: "aws"}},
				Status:     pailv1.ProviderStatus{ConsecutiveFailures: 2},
			}}},
			want: `
# HELP pail_provider_consecutive_failures Failed connectivity/auth checks of the Provider since its last success (status.consecutiveFailures).
# TYPE pail_provider_consecutive_failures gauge
pail_provider_consecutive_failures{driver="minio",namespace="ns",provider="down"} 3
pail_provider_consecutive_failures{driver="minio",namespace="ns",provider="new"} 0
pail_provider_consecutive_failures{driver="minio",namespace="ns",provider="up"} 0
pail_provider_consecutive_failures{driver="aws",namespace="",provider="shared"} 2
# HELP pail_provider_ready 1 when the Provider's Ready condition is True, else 0 (False, Unknown or not yet checked).
# TYPE pail_provider_ready gauge
pail_provider_ready{driver="minio",namespace="ns",provider="down"} 0
pail_provider_ready{driver="minio",namespace="ns",provider="new"} 0
pail_provider_ready{driver="minio",namespace="ns",provider="up"} 1
pail_provider_ready{driver="aws",namespace="",provider="shared"} 0
`,
		},
		{
			// A cache that cannot answer must not report every Provider as down.
			name:   "list error reports nothing",
			reader: listReader{err: errors.New("cache not started")},
			want:   "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			require.NoError(t, RegisterState(reg, NewStateCollector(tt.reader)))
			require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(tt.want), ProviderReadyName, "pail_provider_consecutive_failures"))
		})
	}
}

// A second manager in the same process replaces the first collector instead
// of failing to start.
func TestRegisterStateReplaces(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, RegisterState(reg, NewStateCollector(listReader{})))
	second := listReader{items: []pailv1.Provider{provider("p", nil, 1)}}
	require.NoError(t, RegisterState(reg, NewStateCollector(second)))
	n, err := testutil.GatherAndCount(reg, ProviderReadyName)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the second collector's Provider is reported")
}

func TestDriftCorrections(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := New(reg)
	require.NoError(t, err)
	m.ObserveDriftCorrected("ns", "b")
	m.ObserveDriftCorrected("ns", "b")
	require.InDelta(t, 2.0, testutil.ToFloat64(m.DriftCorrections.WithLabelValues("ns", "b")), 0)
	var none *Metrics
	none.ObserveDriftCorrected("ns", "b") // nil Metrics records nothing and does not panic
}
