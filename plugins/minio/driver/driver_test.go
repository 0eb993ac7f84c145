package driver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	sdkdriver "github.com/pail-dev/pail/sdk/driver"
)

const (
	rootUser     = "pail-test-root"
	rootPassword = "pail-test-root-secret"
	// kmsKeyID names the server's built-in KMS key (MINIO_KMS_SECRET_KEY).
	kmsKeyID = "my-minio-key"
)

// Integration tests against a real MinIO server, run natively with a plain
// http.Transport. The server binary comes from, in order: $PAIL_MINIO_BIN,
// the cache of test/tools (`go run ./cmd/pail-tools path minio`, built by
// `pail-tools ensure minio`), or /tmp/warm/bin/minio. Without one the test
// is skipped.
// minioForTest skips t in -short mode, or starts a MinIO for t and returns
// the Provider (called name) that reaches it as root.
func minioForTest(t *testing.T, name string) abi.ProviderConfig {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped in -short mode")
	}
	return abi.ProviderConfig{
		Name:        name,
		Endpoint:    startMinio(t, minioBinary(t)),
		Region:      "us-east-1",
		PathStyle:   true,
		Credentials: abi.Credentials{AccessKeyID: rootUser, SecretAccessKey: rootPassword},
	}
}

func TestIntegration(t *testing.T) {
	good := minioForTest(t, "it")
	endpoint := good.Endpoint
	d := New(http.DefaultTransport.(*http.Transport).Clone())

	t.Run("CheckProvider", func(t *testing.T) {
		wrongSecret := good
		wrongSecret.Credentials.SecretAccessKey = "not-the-secret"
		unknownKey := good
		unknownKey.Credentials.AccessKeyID = "nobody"
		closed := good
		closed.Endpoint = "http://" + closedAddr(t)
		tests := []struct {
			name         string
			p            abi.ProviderConfig
			want         abi.Code
			providerCode string
			msgContains  []string
		}{
			{name: "ok", p: good},
			{
				name: "wrong secret", p: wrongSecret, want: abi.CodeAccessDenied, providerCode: "SignatureDoesNotMatch",
				msgContains: []string{"the provider refused the credentials: SignatureDoesNotMatch: "},
			},
			{
				name: "unknown access key", p: unknownKey, want: abi.CodeAccessDenied, providerCode: "InvalidAccessKeyId",
				msgContains: []string{"the provider refused the credentials: InvalidAccessKeyId: "},
			},
			{
				name: "closed port", p: closed, want: abi.CodeUnavailable,
				msgContains: []string{"the endpoint could not be reached", "connection refused"},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				start := time.Now()
				err := d.CheckProvider(t.Context(), tt.p)
				if tt.want == "" {
					require.NoError(t, err)
					return
				}
				// One attempt only: the host owns retries.
				assert.Less(t, time.Since(start), 5*time.Second, "failed slowly; is minio-go retrying?")
				var ae *abi.Error
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, tt.want, ae.Code, ae.Message)
				assert.Equal(t, tt.providerCode, ae.ProviderCode)
				switch tt.want {
				case abi.CodeAccessDenied:
					assert.Equal(t, http.StatusForbidden, ae.HTTPStatus)
					assert.False(t, ae.Retryable)
				case abi.CodeUnavailable:
					assert.True(t, ae.Retryable)
				}
				for _, s := range tt.msgContains {
					assert.Contains(t, ae.Message, s)
				}
				assert.NotContains(t, ae.Message, rootPassword)
			})
		}
	})

	t.Run("CheckProviderAccount", func(t *testing.T) {
		res, err := d.CheckProviderAccount(t.Context(), good)
		require.NoError(t, err)
		assert.NotEmpty(t, res.Account, "root credentials read the deployment ID")
		again, err := d.CheckProviderAccount(t.Context(), good)
		require.NoError(t, err)
		assert.Equal(t, res.Account, again.Account, "the account is stable")
		wrong := good
		wrong.Credentials.SecretAccessKey = "not-the-secret"
		_, err = d.CheckProviderAccount(t.Context(), wrong)
		assert.Equal(t, abi.CodeAccessDenied, abi.CodeOf(err), "the check still fails first")
		var _ sdkdriver.AccountReporter = d
	})

	t.Run("bucket lifecycle", func(t *testing.T) {
		ctx := t.Context()
		b := abi.BucketArgs{Name: "pail-lifecycle"}
		create := b
		create.Create = true
		steps := []struct {
			name string
			run  func() error
			want abi.Code
		}{
			{"observe absent", observeIs(ctx, d, good, b, false), ""},
			{"delete absent", func() error { return d.DeleteBucket(ctx, good, b) }, abi.CodeNotFound},
			{"apply without create writes nothing", func() error { return d.ApplyBucket(ctx, good, b) }, ""},
			{"still absent", observeIs(ctx, d, good, b, false), ""},
			{"apply creates", func() error { return d.ApplyBucket(ctx, good, create) }, ""},
			{"observe present", observeIs(ctx, d, good, b, true), ""},
			{"apply again is a no-op", func() error { return d.ApplyBucket(ctx, good, create) }, ""},
			{"delete empty", func() error { return d.DeleteBucket(ctx, good, b) }, ""},
			{"observe gone", observeIs(ctx, d, good, b, false), ""},
			{"delete gone", func() error { return d.DeleteBucket(ctx, good, b) }, abi.CodeNotFound},
		}
		for _, s := range steps {
			err := s.run()
			if s.want == "" {
				require.NoError(t, err, s.name)
			} else {
				require.Equal(t, s.want, abi.CodeOf(err), "%s: %v", s.name, err)
			}
		}
	})

	t.Run("apply honours the bucket region", func(t *testing.T) {
		ctx := t.Context()
		b := abi.BucketArgs{Name: "pail-region", Region: "us-east-1", Create: true}
		require.NoError(t, d.ApplyBucket(ctx, good, b))
		t.Cleanup(func() { _ = d.DeleteBucket(context.Background(), good, b) })
		loc, err := plainClient(t, endpoint).GetBucketLocation(ctx, b.Name)
		require.NoError(t, err)
		assert.Equal(t, "us-east-1", loc)
	})

	t.Run("wrong credentials on bucket operations", func(t *testing.T) {
		bad := good
		bad.Credentials.SecretAccessKey = "not-the-secret"
		ctx := t.Context()
		b := abi.BucketArgs{Name: "pail-denied", Create: true}
		_, err := d.ObserveBucket(ctx, bad, b)
		assert.Equal(t, abi.CodeAccessDenied, abi.CodeOf(err), "observe: %v", err)
		assert.Equal(t, abi.CodeAccessDenied, abi.CodeOf(d.ApplyBucket(ctx, bad, b)))
		assert.Equal(t, abi.CodeAccessDenied, abi.CodeOf(d.DeleteBucket(ctx, bad, b)))
	})

	t.Run("delete of a non-empty bucket", func(t *testing.T) {
		ctx := t.Context()
		plain := plainClient(t, endpoint)
		b := abi.BucketArgs{Name: "pail-non-empty", Create: true}
		require.NoError(t, d.ApplyBucket(ctx, good, b))
		_, err := plain.PutObject(ctx, b.Name, "dir/object.txt", strings.NewReader("hello"), 5, minio.PutObjectOptions{})
		require.NoError(t, err)

		assertNotEmpty(t, d.DeleteBucket(ctx, good, b), b.Name)
		exists, err := d.ObserveBucket(ctx, good, b)
		require.NoError(t, err)
		assert.True(t, exists.Exists, "a refused delete leaves the bucket in place")

		require.NoError(t, plain.RemoveObject(ctx, b.Name, "dir/object.txt", minio.RemoveObjectOptions{}))
		require.NoError(t, d.DeleteBucket(ctx, good, b))
	})

	t.Run("delete of a bucket holding only old versions", func(t *testing.T) {
		ctx := t.Context()
		plain := plainClient(t, endpoint)
		b := abi.BucketArgs{Name: "pail-versions", Create: true}
		require.NoError(t, d.ApplyBucket(ctx, good, b))
		if err := plain.EnableVersioning(ctx, b.Name); err != nil {
			t.Skipf("this MinIO cannot version buckets: %v", err)
		}
		_, err := plain.PutObject(ctx, b.Name, "object.txt", strings.NewReader("v1"), 2, minio.PutObjectOptions{})
		require.NoError(t, err)
		// Leaves a delete marker on top of the version: a plain listing is empty.
		require.NoError(t, plain.RemoveObject(ctx, b.Name, "object.txt", minio.RemoveObjectOptions{}))
		for obj := range plain.ListObjectsIter(ctx, b.Name, minio.ListObjectsOptions{Recursive: true}) {
			t.Fatalf("a plain listing still shows %q (err %v)", obj.Key, obj.Err)
		}

		assertNotEmpty(t, d.DeleteBucket(ctx, good, b), b.Name)

		for obj := range plain.ListObjectsIter(ctx, b.Name, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
			require.NoError(t, obj.Err)
			require.NoError(t, plain.RemoveObject(ctx, b.Name, obj.Key, minio.RemoveObjectOptions{VersionID: obj.VersionID}))
		}
		require.NoError(t, d.DeleteBucket(ctx, good, b))
	})

	t.Run("through the dispatch envelope", func(t *testing.T) {
		ctx := t.Context()
		args, err := json.Marshal(abi.BucketArgs{Name: "pail-dispatch", Create: true})
		require.NoError(t, err)
		call := func(op string) abi.Response {
			return sdkdriver.Dispatch(ctx, d, abi.Request{Op: op, ID: "it", Provider: good, Args: args})
		}
		require.Nil(t, call(abi.OpCheckProvider).Error)
		require.Nil(t, call(abi.OpApplyBucket).Error)
		resp := call(abi.OpObserveBucket)
		require.Nil(t, resp.Error)
		assert.JSONEq(t, `{"exists":true}`, string(resp.Result))
		require.Nil(t, call(abi.OpDeleteBucket).Error)
		resp = call(abi.OpDeleteBucket)
		require.NotNil(t, resp.Error)
		assert.Equal(t, abi.CodeNotFound, resp.Error.Code)
	})

	t.Run("sub-resources", func(t *testing.T) { testSubResources(t, d, good, endpoint) })

	t.Run("clients are cached per provider", func(t *testing.T) {
		// good, wrong secret, unknown key and the closed port: four providers.
		assert.Equal(t, 4, d.clients.Len())
	})
}

func observeIs(ctx context.Context, d *Driver, p abi.ProviderConfig, b abi.BucketArgs, want bool) func() error {
	return func() error {
		obs, err := d.ObserveBucket(ctx, p, b)
		if err != nil {
			return err
		}
		if obs.Exists != want {
			return fmt.Errorf("observed exists=%v, want %v", obs.Exists, want)
		}
		return nil
	}
}

func assertNotEmpty(t *testing.T, err error, bucket string) {
	t.Helper()
	var ae *abi.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, abi.CodeConflict, ae.Code)
	assert.Equal(t, "BucketNotEmpty", ae.ProviderCode)
	assert.Equal(t, "bucket "+bucket+" is not empty: it holds at least one object or object version", ae.Message)
}

// plainClient is a minio-go client for setting up fixtures behind the driver's back.
func plainClient(t *testing.T, endpoint string) *minio.Client {
	t.Helper()
	c, err := minio.New(strings.TrimPrefix(endpoint, "http://"), &minio.Options{
		Creds:      credentials.NewStaticV4(rootUser, rootPassword, ""),
		Region:     "us-east-1",
		MaxRetries: 1,
	})
	require.NoError(t, err)
	return c
}

// minioBinary finds a MinIO server binary or skips the test.
func minioBinary(t *testing.T) string {
	t.Helper()
	var candidates []string
	if p := os.Getenv("PAIL_MINIO_BIN"); p != "" {
		candidates = append(candidates, p)
	}
	if p, err := toolsPath("minio"); err == nil {
		candidates = append(candidates, p)
	} else {
		t.Logf("asking test/tools for the MinIO path: %v", err)
	}
	candidates = append(candidates, "/tmp/warm/bin/minio")
	for _, p := range candidates {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Skipf("no MinIO server binary (looked at %s); build one with `cd test/tools && go run ./cmd/pail-tools ensure minio` or set PAIL_MINIO_BIN",
		strings.Join(candidates, ", "))
	return ""
}

// toolsPath asks test/tools, found by walking up from the package directory,
// where it caches the named server.
func toolsPath(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		tools := filepath.Join(dir, "test", "tools")
		if _, err := os.Stat(filepath.Join(tools, "go.mod")); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "go", "run", "./cmd/pail-tools", "path", name)
			cmd.Dir = tools
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
			}
			return strings.TrimSpace(string(out)), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("test/tools not found above the working directory")
		}
		dir = parent
	}
}

// startMinio runs a single-drive MinIO on free loopback ports until the test ends.
func startMinio(t *testing.T, bin string) string {
	t.Helper()
	addr, console := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "server", t.TempDir(), "--address", addr, "--console-address", console)
	cmd.Env = append(os.Environ(),
		// A built-in KMS key: enables SSE-S3, and SSE-KMS with key id kmsKeyID.
		"MINIO_KMS_SECRET_KEY="+kmsKeyID+":"+base64.StdEncoding.EncodeToString(randomBytes(t, 32)),
		"MINIO_ROOT_USER="+rootUser,
		"MINIO_ROOT_PASSWORD="+rootPassword,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("minio output:\n%s", out.String())
		}
	})

	endpoint := "http://" + addr
	// live answers as soon as the HTTP server is up, and even ready says 200
	// before the object layer exists; until then S3 calls get a 503
	// XMinioServerNotInitialized. So wait for live, then for a signed
	// ListBuckets to succeed.
	waitFor(t, "/minio/health/live", exited, out, func() error {
		resp, err := http.Get(endpoint + "/minio/health/live")
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	})
	plain := plainClient(t, endpoint)
	waitFor(t, "ListBuckets", exited, out, func() error {
		_, err := plain.ListBuckets(t.Context())
		return err
	})
	// IAM comes up after the object layer: before, unknown keys get a 503
	// XMinioIAMNotInitialized instead of InvalidAccessKeyId.
	stranger, err := minio.New(strings.TrimPrefix(endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4("pail-probe-unknown", "pail-probe-unknown", ""), Region: "us-east-1", MaxRetries: 1,
	})
	require.NoError(t, err)
	waitFor(t, "IAM", exited, out, func() error {
		_, err := stranger.ListBuckets(t.Context())
		if code := minio.ToErrorResponse(err).Code; code != "InvalidAccessKeyId" {
			return fmt.Errorf("unknown key answered %q (%w)", code, err)
		}
		return nil
	})
	return endpoint
}

// waitFor polls probe for up to a minute, failing early if minio exits.
func waitFor(t *testing.T, what string, exited chan error, out *lockedBuffer, probe func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("minio exited before it was ready: %v\n%s", err, out.String())
		default:
		}
		err := probe()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio: %s still failing after 60s: %v\n%s", what, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeAddr reserves an ephemeral loopback port and releases it for the server.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string { return freeAddr(t) }

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
