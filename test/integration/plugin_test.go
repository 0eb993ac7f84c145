package integration

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/plugin"
)

// moduleFile resolves a built driver module and its sha256.
func moduleFile(t *testing.T, name string) (string, string) {
	t.Helper()
	path, err := filepath.EvalSymlinks(filepath.Join(suite.driverDir, name+".wasm"))
	require.NoError(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return path, hex.EncodeToString(sum[:])
}

func pluginConfigMap(name, version, sha, path string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: pluginNamespace, Name: "plugin-" + name, Labels: map[string]string{plugin.Label: "true"}},
		Data:       map[string]string{"name": name, "version": version, "sha256": sha, "path": path, "limits.yaml": "poolSize: 2\ncallTimeout: 20s\n"},
	}
}

// TestPluginHotReload: a driver installed from a ConfigMap serves Buckets; a
// module with the wrong sha256 is refused and nothing changes; a new
// version is swapped in under live Buckets, none of which goes un-Ready,
// and serves; removing the ConfigMap leaves its Providers with a clear
// condition.
func TestPluginHotReload(t *testing.T) {
	ctx := context.Background()
	if err := suite.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: pluginNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	v1Path, v1Sum := moduleFile(t, "minio")
	v2Path, v2Sum := moduleFile(t, "aws") // another module that also speaks S3 to MinIO
	cm := pluginConfigMap("custom", "1.0.0", v1Sum, v1Path)
	require.NoError(t, suite.k8s.Create(ctx, cm))
	assertEvent(t, pluginNamespace, cm.Name, plugin.ReasonLoaded, "custom 1.0.0")

	ns := namespace(t)
	sec := credentialsSecret(ns, "creds", suite.minio.AccessKey, suite.minio.SecretKey)
	require.NoError(t, suite.k8s.Create(ctx, sec))
	p := newProvider(ns, "custom", "custom", suite.minio.Endpoint, sec.Name)
	require.NoError(t, suite.k8s.Create(ctx, p))
	var buckets []*pailv1.Bucket
	for _, n := range []string{"one", "two", "three"} {
		b := newBucket(ns, n, p.Name, uniqueBucket("plug-"+n), "")
		require.NoError(t, suite.k8s.Create(ctx, b))
		buckets = append(buckets, b)
	}
	for _, b := range buckets {
		waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	}
	serving := func() string {
		d, err := suite.op.Registry.Get("custom")
		if err != nil {
			return err.Error()
		}
		return d.Describe().Name
	}
	assert.Equal(t, "minio", serving())

	// A module whose digest is not the manifest's is refused; v1 serves on.
	bad := cm.DeepCopy()
	require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(cm), bad))
	bad.Data["version"], bad.Data["path"] = "2.0.0", v2Path // v1's digest, v2's module
	require.NoError(t, suite.k8s.Update(ctx, bad))
	assertEvent(t, pluginNamespace, cm.Name, plugin.ReasonRefused, "sha256")
	assert.Equal(t, "minio", serving(), "a refused module changes nothing")

	// Swap in v2 under the live Buckets, watching that none goes un-Ready.
	var mu sync.Mutex
	var unready []string
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			for _, b := range buckets {
				var got pailv1.Bucket
				if err := suite.k8s.Get(ctx, client.ObjectKeyFromObject(b), &got); err == nil {
					if c := condition(got.Status.Conditions, pailv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
						mu.Lock()
						unready = append(unready, b.Name+": "+describeConds(got.Status.Conditions))
						mu.Unlock()
					}
				}
			}
		}
	}()
	require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(cm), bad))
	bad.Data["version"], bad.Data["sha256"], bad.Data["path"] = "2.0.0", v2Sum, v2Path
	require.NoError(t, suite.k8s.Update(ctx, bad))
	assertEvent(t, pluginNamespace, cm.Name, plugin.ReasonLoaded, "custom 2.0.0")
	waitFor(t, 30*time.Second, "v2 to serve", func() (bool, string) { s := serving(); return s == "aws", s })
	// Three resyncs of every Bucket on the new version.
	time.Sleep(3 * resyncPeriod)
	close(stop)
	<-watched
	assert.Empty(t, unready, "no Bucket went un-Ready during the swap")
	st, ok := suite.op.Registry.PluginStatus("custom")
	require.True(t, ok)
	assert.Equal(t, "2.0.0", st.ServingVersion)
	// New work runs on v2.
	four := newBucket(ns, "four", p.Name, uniqueBucket("plug-four"), "")
	require.NoError(t, suite.k8s.Create(ctx, four))
	waitBucket(t, client.ObjectKeyFromObject(four), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	assert.True(t, bucketExists(t, four.Spec.BucketName))

	// The ConfigMap goes: the Provider says its driver is missing.
	require.NoError(t, suite.k8s.Delete(ctx, cm))
	waitFor(t, 30*time.Second, "the Provider to report the missing driver", func() (bool, string) {
		var got pailv1.Provider
		if err := suite.k8s.Get(ctx, client.ObjectKeyFromObject(p), &got); err != nil {
			return false, err.Error()
		}
		c := condition(got.Status.Conditions, pailv1.ConditionReady)
		return c != nil && c.Reason == pailv1.ReasonDriverNotFound, describeConds(got.Status.Conditions)
	})
}

// withCustomSection appends a custom section to a module: the same code
// under a digest the compilation cache has never seen, so it compiles cold.
func withCustomSection(wasm []byte, name string, payload []byte) []byte {
	leb := func(n int) []byte {
		var out []byte
		for {
			b := byte(n & 0x7f)
			n >>= 7
			if n != 0 {
				out = append(out, b|0x80)
				continue
			}
			return append(out, b)
		}
	}
	body := append(leb(len(name)), name...)
	body = append(body, payload...)
	out := append([]byte{}, wasm...)
	out = append(out, 0)
	out = append(out, leb(len(body))...)
	return append(out, body...)
}

// TestColdCompileDoesNotBlockOtherDrivers installs a plugin that must
// compile cold (seconds even for the 6 MB test driver; the nonce keeps the
// cache from growing by a 19 MB driver on every run) and shows a Bucket of
// another driver becoming Ready while that compile still runs.
func TestColdCompileDoesNotBlockOtherDrivers(t *testing.T) {
	ctx := context.Background()
	if err := suite.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: pluginNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	src, _ := moduleFile(t, "rogue")
	wasm, err := os.ReadFile(src)
	require.NoError(t, err)
	wasm = withCustomSection(wasm, "pail.test.nonce", []byte(time.Now().String()))
	path := filepath.Join(t.TempDir(), "cold.wasm")
	require.NoError(t, os.WriteFile(path, wasm, 0o600))
	sum := sha256.Sum256(wasm)
	cm := pluginConfigMap("cold", "1.0.0", hex.EncodeToString(sum[:]), path)
	require.NoError(t, suite.k8s.Create(ctx, cm))
	t.Cleanup(func() { _ = suite.k8s.Delete(context.Background(), cm) })
	waitFor(t, 10*time.Second, "the cold compile to start", func() (bool, string) {
		st, ok := suite.op.Registry.PluginStatus("cold")
		return ok && st.PendingSHA256 != "", "not installed yet"
	})

	ns := namespace(t)
	p := minioProvider(t, ns, "minio")
	waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionReady, metav1.ConditionTrue, 30*time.Second)
	b := newBucket(ns, "meanwhile", p.Name, uniqueBucket("meanwhile"), "")
	require.NoError(t, suite.k8s.Create(ctx, b))
	waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 15*time.Second)
	st, _ := suite.op.Registry.PluginStatus("cold")
	assert.NotEmpty(t, st.PendingSHA256, "the Bucket became Ready while the plugin was still compiling")

	// The compile finishes in the background and the plugin serves.
	waitFor(t, 3*time.Minute, "the plugin to serve", func() (bool, string) {
		st, _ := suite.op.Registry.PluginStatus("cold")
		return st.ServingVersion == "1.0.0", fmt.Sprintf("%+v", st)
	})
	assertEvent(t, pluginNamespace, cm.Name, plugin.ReasonLoaded, "cold 1.0.0")
}

// TestPluginInlineModule: a module small enough to sit gzip'd in the
// ConfigMap's binaryData goes through the same path as one on a volume: it
// is unpacked, checked against its sha256 and handed to the loader, which
// here refuses it (an empty module exports no ABI) with a PluginFailed
// event that says why, while a wrong digest is refused before that.
func TestPluginInlineModule(t *testing.T) {
	ctx := context.Background()
	if err := suite.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: pluginNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	module := []byte("\x00asm\x01\x00\x00\x00") // a valid, empty wasm module
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, err := w.Write(module)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	sum := sha256.Sum256(module)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: pluginNamespace, Name: "plugin-inline", Labels: map[string]string{plugin.Label: "true"}},
		Data:       map[string]string{"name": "inline", "version": "0.0.1", "sha256": strings.Repeat("0", 64)},
		BinaryData: map[string][]byte{plugin.KeyModuleGzip: gz.Bytes()},
	}
	require.NoError(t, suite.k8s.Create(ctx, cm))
	t.Cleanup(func() { _ = suite.k8s.Delete(context.Background(), cm) })
	assertEvent(t, pluginNamespace, cm.Name, plugin.ReasonRefused, "sha256")

	require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(cm), cm))
	cm.Data["sha256"] = hex.EncodeToString(sum[:])
	require.NoError(t, suite.k8s.Update(ctx, cm))
	assertEvent(t, pluginNamespace, cm.Name, plugin.ReasonFailed, "pail_abi_v1")
	_, ok := suite.op.Registry.PluginStatus("inline")
	assert.True(t, ok, "the manifest is installed; only its module was refused")
}
