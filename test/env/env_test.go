package env_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pail-dev/pail/test/env"
)

func TestFreePort(t *testing.T) {
	port, err := env.FreePort()
	require.NoError(t, err)
	require.Positive(t, port)
	require.True(t, env.PortFree(port))
}

func TestMinIORestartKeepsBuckets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	m := env.MinIOForTest(t, env.MinIOOptions{Log: testLog{t}})
	require.True(t, strings.HasPrefix(m.Endpoint, "http://127.0.0.1:"), m.Endpoint)
	require.Equal(t, "pail-test-admin", m.AccessKey)
	require.DirExists(t, m.Dir)

	mc, err := m.Client()
	require.NoError(t, err)
	require.NoError(t, mc.MakeBucket(ctx, "env-test-bucket", minio.MakeBucketOptions{}))
	ok, err := mc.BucketExists(ctx, "env-test-bucket")
	require.NoError(t, err)
	require.True(t, ok)

	endpoint := m.Endpoint
	require.NoError(t, m.Restart(ctx))
	require.Equal(t, endpoint, m.Endpoint, "restart must keep the port")

	ok, err = mc.BucketExists(ctx, "env-test-bucket")
	require.NoError(t, err)
	require.True(t, ok, "bucket lost across restart")

	// Kill leaves it down until Restart brings it back on the same port.
	require.NoError(t, m.Kill())
	requireNotListening(t, m.Host)
	require.NoError(t, m.Restart(ctx))
	ok, err = mc.BucketExists(ctx, "env-test-bucket")
	require.NoError(t, err)
	require.True(t, ok)

	dir := m.Dir
	require.NoError(t, m.Stop())
	require.NoError(t, m.Stop(), "Stop must be idempotent")
	require.NoDirExists(t, dir, "temp data dir must be removed")
	requireNotListening(t, m.Host)
}

func requireNotListening(t *testing.T, hostport string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", hostport, time.Second)
	if err == nil {
		conn.Close()
		t.Fatalf("something still listening on %s", hostport)
	}
}

func TestMinIOFixedDirAndPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	port, err := env.FreePort()
	require.NoError(t, err)
	dir := t.TempDir()

	m, err := env.StartMinIO(ctx, env.MinIOOptions{Port: port, Dir: dir, AccessKey: "k-admin", SecretKey: "k-admin-secret"})
	require.NoError(t, err)
	defer m.Stop()
	require.Equal(t, port, m.Port)
	mc, err := m.Client()
	require.NoError(t, err)
	_, err = mc.ListBuckets(ctx)
	require.NoError(t, err)

	// A second server on the same port must fail rather than share it
	// (MinIO listens with SO_REUSEPORT).
	_, err = env.StartMinIO(ctx, env.MinIOOptions{Port: port, Dir: t.TempDir()})
	require.Error(t, err)
	require.Contains(t, err.Error(), "already in use")

	require.NoError(t, m.Stop())
	require.DirExists(t, dir, "a caller-provided dir must survive Stop")
}

const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.env-test.pail.dev
spec:
  group: env-test.pail.dev
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`

func TestKubeMissingCRDDir(t *testing.T) {
	_, err := env.StartKube(context.Background(), env.KubeOptions{CRDDirs: []string{filepath.Join(t.TempDir(), "nope")}})
	require.Error(t, err)
}

func TestKube(t *testing.T) {
	crds := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(crds, "widget.yaml"), []byte(widgetCRD), 0o644))
	k := env.KubeForTest(t, env.KubeOptions{CRDDirs: []string{crds}})
	require.True(t, strings.HasPrefix(k.Config.Host, "https://127.0.0.1:"), k.Config.Host)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	c, err := client.New(k.Config, client.Options{})
	require.NoError(t, err)
	var nss corev1.NamespaceList
	require.NoError(t, c.List(ctx, &nss))
	names := map[string]bool{}
	for _, ns := range nss.Items {
		names[ns.Name] = true
	}
	require.True(t, names["default"], "namespaces: %v", names)

	// The kubeconfig file works on its own.
	cfg, err := clientcmd.BuildConfigFromFlags("", k.Kubeconfig)
	require.NoError(t, err)
	c2, err := client.New(cfg, client.Options{})
	require.NoError(t, err)
	require.NoError(t, c2.Get(ctx, client.ObjectKey{Name: "kube-system"}, &corev1.Namespace{}))

	// The CRD from CRDDirs is installed and served.
	var widgets unstructured.UnstructuredList
	widgets.SetGroupVersionKind(schema.GroupVersionKind{Group: "env-test.pail.dev", Version: "v1", Kind: "WidgetList"})
	require.NoError(t, c.List(ctx, &widgets, client.InNamespace("default")))
}

type testLog struct{ t testing.TB }

func (l testLog) Write(b []byte) (int, error) {
	if testing.Verbose() {
		l.t.Logf("minio: %s", strings.TrimRight(string(b), "\n"))
	}
	return len(b), nil
}

// TestDNS: the server answers its names through its Resolver, in both
// families, and refuses the others.
func TestDNS(t *testing.T) {
	d, err := env.StartDNS(map[string][]netip.Addr{
		"metadata.pail.test": {netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254")},
	})
	require.NoError(t, err)
	t.Cleanup(d.Stop)
	ips, err := d.Resolver().LookupNetIP(context.Background(), "ip", "Metadata.Pail.Test")
	require.NoError(t, err)
	assert.ElementsMatch(t, []netip.Addr{netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254")}, ips)
	_, err = d.Resolver().LookupNetIP(context.Background(), "ip", "other.pail.test")
	var dnsErr *net.DNSError
	require.ErrorAs(t, err, &dnsErr)
	assert.True(t, dnsErr.IsNotFound, "an unknown name is NXDOMAIN: %v", err)
	assert.Positive(t, d.Queries())
}
