package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/test/env"
)

// Names the suite's DNS server answers for the operator (Options.Resolver).
const (
	metadataName = "metadata.pail.test" // resolves to 169.254.169.254
	trapName     = "trap.pail.test"     // resolves to 127.0.0.1, where the trap listens
)

// dialGuard holds what TestMain gives the operator for TestDialGuard: a
// DNS server, and a trap, a listener on 127.0.0.1 that counts the
// connections it accepts and that the operator is told never to call
// (Options.DeniedAddresses). A refused dial leaves its count at zero.
var dialGuard struct {
	dns   *env.DNS
	trap  net.Listener
	conns atomic.Int64
}

// startDialGuard starts the DNS server and the trap; stop closes both.
func startDialGuard() (stop func(), err error) {
	trap, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	dns, err := env.StartDNS(map[string][]netip.Addr{
		metadataName: {netip.MustParseAddr("169.254.169.254")},
		trapName:     {netip.MustParseAddr("127.0.0.1")},
	})
	if err != nil {
		_ = trap.Close()
		return nil, err
	}
	dialGuard.dns, dialGuard.trap = dns, trap
	go func() {
		for {
			c, err := trap.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err == nil {
				dialGuard.conns.Add(1)
				_ = c.Close()
			}
		}
	}()
	return func() { _ = trap.Close(); dns.Stop() }, nil
}

// TestDialGuard: a Provider aimed at the metadata address, at the API
// server, at a name that resolves to the metadata address, or at a name
// that resolves to an address the operator denies, is not Ready with
// EndpointForbidden, a message naming the address, and no hot retry; the
// host connected to none of them.
func TestDialGuard(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	api, err := url.Parse(suite.kube.Config.Host)
	require.NoError(t, err)
	trapPort := strconv.Itoa(dialGuard.trap.Addr().(*net.TCPAddr).Port)
	sec := credentialsSecret(ns, "creds", suite.minio.AccessKey, suite.minio.SecretKey)
	require.NoError(t, suite.k8s.Create(ctx, sec))
	cases := []struct {
		name, endpoint string
		want           []string // in the message
	}{
		{"metadata", "http://169.254.169.254:80", []string{"the host refused to connect to 169.254.169.254:80", "169.254.0.0/16 is IPv4 link-local"}},
		{"apiserver", "https://" + api.Host, []string{"the host refused to connect to " + api.Host, "it is the Kubernetes API server"}},
		{"metadata-name", "http://" + metadataName + ":80", []string{"the host refused to connect to " + metadataName + ", which resolved to 169.254.169.254:80", "169.254.0.0/16 is IPv4 link-local"}},
		{"trap-name", "http://" + net.JoinHostPort(trapName, trapPort), []string{"which resolved to 127.0.0.1:" + trapPort, "it is an address the operator is configured never to call"}},
	}
	for _, tc := range cases {
		require.NoError(t, suite.k8s.Create(ctx, newProvider(ns, tc.name, "minio", tc.endpoint, sec.Name)))
	}
	for _, tc := range cases {
		key := client.ObjectKey{Namespace: ns, Name: tc.name}
		got := waitProviderCondition(t, key, pailv1.ConditionReady, metav1.ConditionFalse, 60*time.Second)
		ready := condition(got.Status.Conditions, pailv1.ConditionReady)
		assert.Equal(t, pailv1.ReasonEndpointForbidden, ready.Reason, "%s: %s", tc.name, describeConds(got.Status.Conditions))
		reach := condition(got.Status.Conditions, pailv1.ConditionEndpointReachable)
		require.NotNil(t, reach, tc.name)
		assert.Equal(t, metav1.ConditionFalse, reach.Status, tc.name)
		assert.Equal(t, pailv1.ReasonEndpointForbidden, reach.Reason, tc.name)
		for _, w := range tc.want {
			assert.Contains(t, reach.Message, w, tc.name)
			assert.Contains(t, ready.Message, w, tc.name)
		}
		assert.Equal(t, metav1.ConditionUnknown, condition(got.Status.Conditions, pailv1.ConditionAuthValid).Status, tc.name)
	}
	// A spec error is not retried with backoff (1s in this suite), only
	// checked again on an event (in-use protection marking the Secret is
	// one): once settled, the counts stay put over several backoff periods.
	failures := func() map[string]int32 {
		out := map[string]int32{}
		for _, tc := range cases {
			var p pailv1.Provider
			require.NoError(t, suite.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: tc.name}, &p))
			out[tc.name] = p.Status.ConsecutiveFailures
			assert.Contains(t, condition(p.Status.Conditions, pailv1.ConditionReady).Message, "next check in 1h0m0s", tc.name)
		}
		return out
	}
	time.Sleep(2 * time.Second)
	settled := failures()
	time.Sleep(5 * time.Second)
	assert.Equal(t, settled, failures(), "no Provider is retried hot")
	assert.Zero(t, dialGuard.conns.Load(), "the host never connected to the denied address")
	// The trap counts: a connection of the test's own is seen.
	c, err := net.Dial("tcp", dialGuard.trap.Addr().String())
	require.NoError(t, err)
	_ = c.Close()
	waitFor(t, 5*time.Second, "the trap to count a connection", func() (bool, string) {
		n := dialGuard.conns.Load()
		return n == 1, fmt.Sprintf("%d connections", n)
	})
	dialGuard.conns.Store(0)
}
