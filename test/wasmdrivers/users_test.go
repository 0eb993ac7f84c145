// Package wasmdrivers runs the built-in drivers' user and key operations
// (ABI 1.1) as the operator does: the .wasm modules of bin/drivers loaded by
// core/wasmhost, their HTTP going through the host's policy, against real
// servers (MinIO, and versitygw's IAM API paired with its S3 gateway). The
// drivers' own tests cover the semantics natively; this proves the same
// code works inside the sandbox and measures what it costs there.
package wasmdrivers

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/core/hosthttp"
	"github.com/pail-dev/pail/core/wasmhost"
	miniodriver "github.com/pail-dev/pail/plugins/minio/driver"
	"github.com/pail-dev/pail/sdk/abi"
	sdkdriver "github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/drivertest"
	"github.com/pail-dev/pail/sdk/s3compat/s3compattest"
	"github.com/pail-dev/pail/test/env"
)

// EnvMinIONoFIPS names a minio.wasm built without -tags fips; when set, the
// MinIO test also runs it, to compare madmin's argon2id with PBKDF2.
const EnvMinIONoFIPS = "PAIL_MINIO_WASM_NOFIPS"

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", ".."))
}

// module returns bin/drivers/<name>.wasm (or $PAIL_DRIVER_DIR's), building
// it as the Makefile does when it is missing.
func module(t *testing.T, name string) []byte {
	t.Helper()
	dir := os.Getenv("PAIL_DRIVER_DIR")
	if dir == "" {
		dir = filepath.Join(repoRoot(), "bin", "drivers")
	}
	out := filepath.Join(dir, name+".wasm")
	if _, err := os.Stat(out); err != nil {
		args := []string{"build", "-trimpath", "-buildmode=c-shared"}
		if name == "minio" {
			args = append(args, "-tags", "fips")
		}
		cmd := exec.Command("go", append(args, "-o", out, "./plugins/"+name)...)
		cmd.Dir = repoRoot()
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, "build %s: %s", name, b)
	}
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	return b
}

type userDriver interface {
	sdkdriver.Driver
	sdkdriver.UserDriver
}

func load(t *testing.T, name string, wasm []byte) userDriver {
	t.Helper()
	cache := filepath.Join(os.TempDir(), "pail-wasmdrivers-cache")
	if base, err := os.UserCacheDir(); err == nil {
		cache = filepath.Join(base, "pail", "wasm-test")
	}
	h, err := wasmhost.New(wasmhost.NewConfig().WithCacheDir(cache).WithPoolSize(1))
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	start := time.Now()
	d, err := h.Load(context.Background(), name, wasm)
	require.NoError(t, err)
	t.Logf("%s.wasm (%.1f MB) loaded in %v", name, float64(len(wasm))/1e6, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

// opCtx is one driver operation under a policy allowing only endpoints.
func opCtx(t *testing.T, endpoints ...string) func() context.Context {
	t.Helper()
	p, err := hosthttp.NewPolicy(endpoints, hosthttp.TLSOptions{})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return func() context.Context { return hosthttp.WithOp(t.Context(), p.NewOp(nil)) }
}

// rssMB is the process's resident set in MB, 0 where /proc is missing.
func rssMB() float64 {
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb float64
			_, _ = fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kb)
			return kb / 1024
		}
	}
	return 0
}

// cost is the mean wall time and the mean CPU time of this process (where
// the wasm guest and the native driver run; the servers are other
// processes) of one call. CPU time is the fairer figure on a shared machine.
type cost struct{ wall, cpu time.Duration }

func (c cost) String() string {
	return fmt.Sprintf("%v (CPU %v)", c.wall.Round(time.Millisecond), c.cpu.Round(time.Millisecond))
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// timed runs f n times and returns the mean cost of one run.
func timed(n int, f func() error) (cost, error) {
	start, cpu := time.Now(), cpuTime()
	for range n {
		if err := f(); err != nil {
			return cost{}, err
		}
	}
	return cost{wall: time.Since(start) / time.Duration(n), cpu: (cpuTime() - cpu) / time.Duration(n)}, nil
}

// minioCycle runs the user and key operations of d against MinIO and
// reports the mean time of the encrypted admin calls.
func minioCycle(t *testing.T, d userDriver, ctx func() context.Context, m *env.MinIO, user string) {
	p := abi.ProviderConfig{Name: "wasm", Endpoint: m.Endpoint, Region: "us-east-1", PathStyle: true,
		Credentials: abi.Credentials{AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}}
	pol := &abi.UserPolicyDoc{Name: user + "-inline", Document: drivertest.ListOnlyPolicy}
	require.NoError(t, d.ApplyUser(ctx(), p, abi.UserArgs{Name: user, Create: true, Policy: pol}))

	var keys []abi.NewAccessKey
	create, err := timed(3, func() error {
		k, err := d.CreateAccessKey(ctx(), p, abi.AccessKeyArgs{User: user})
		keys = append(keys, k)
		return err
	})
	require.NoError(t, err)
	observe, err := timed(5, func() error {
		obs, err := d.ObserveUser(ctx(), p, abi.UserArgs{Name: user, Observe: []string{abi.UserKeys, abi.UserPolicy}, Policy: &abi.UserPolicyDoc{Name: pol.Name}})
		if err == nil && len(obs.Keys) != len(keys) {
			err = fmt.Errorf("observed %d keys, created %d", len(obs.Keys), len(keys))
		}
		return err
	})
	require.NoError(t, err)
	update, err := timed(2, func() error {
		return d.UpdateAccessKey(ctx(), p, abi.AccessKeyArgs{User: user, ID: keys[0].ID, Status: abi.KeyInactive})
	})
	require.NoError(t, err)
	t.Logf("mean per call: CreateAccessKey %v, ObserveUser(keys, policy) %v, UpdateAccessKey %v", create, observe, update)

	// The key made inside the sandbox signs S3 calls within its policy.
	c, err := minio.New(m.Host, &minio.Options{Creds: credentials.NewStaticV4(keys[1].ID, keys[1].Secret.Reveal(), ""), Region: "us-east-1", MaxRetries: 1})
	require.NoError(t, err)
	_, err = c.ListBuckets(t.Context())
	require.NoError(t, err, "allowed by the inline policy")
	err = c.MakeBucket(t.Context(), "pail-wasm-denied", minio.MakeBucketOptions{})
	assert.Equal(t, "AccessDenied", minio.ToErrorResponse(err).Code, "denied: %v", err)

	err = d.DeleteUser(ctx(), p, abi.UserArgs{Name: user, Policy: pol})
	require.Equal(t, abi.CodeConflict, abi.CodeOf(err), "%v", err)
	for _, k := range keys {
		require.NoError(t, d.DeleteAccessKey(ctx(), p, abi.AccessKeyArgs{User: user, ID: k.ID}))
	}
	require.NoError(t, d.DeleteUser(ctx(), p, abi.UserArgs{Name: user, Policy: pol}))
	obs, err := d.ObserveUser(ctx(), p, abi.UserArgs{Name: user})
	require.NoError(t, err)
	assert.False(t, obs.Exists)

	err = d.ApplyUser(ctx(), p, abi.UserArgs{Name: user, Tags: &abi.Tagging{}})
	assert.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err))
}

func TestMinIOUsersThroughWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: skipped in -short mode")
	}
	m, err := env.StartMinIO(t.Context(), env.MinIOOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Stop() })
	ctx := opCtx(t, m.Endpoint)

	t.Run("wasm fips", func(t *testing.T) {
		d := load(t, "minio", module(t, "minio"))
		info := d.Describe()
		// The instance exists after a first call.
		_, err := d.ObserveUser(ctx(), abi.ProviderConfig{Endpoint: m.Endpoint, Credentials: abi.Credentials{AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}}, abi.UserArgs{Name: "pail-nobody"})
		require.NoError(t, err)
		loaded := rssMB()
		assert.True(t, info.Supports(abi.CapAccessKeys))
		assert.False(t, info.Supports(abi.CapUserTags))
		minioCycle(t, d, ctx, m, "pail-wasm-fips")
		// One instance (pool size 1): argon2id needs 64 MiB of guest memory
		// to decrypt each of MinIO's encrypted answers.
		t.Logf("process RSS: %.0f MB with one instance, %.0f MB after its user ops", loaded, rssMB())
	})
	if path := os.Getenv(EnvMinIONoFIPS); path != "" {
		t.Run("wasm argon2id", func(t *testing.T) {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			minioCycle(t, load(t, "minio-nofips", b), ctx, m, "pail-wasm-argon")
		})
	}
	t.Run("native", func(t *testing.T) {
		minioCycle(t, miniodriver.New(hosthttp.Transport{}), ctx, m, "pail-native")
	})
}

func TestAWSUsersThroughWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: skipped in -short mode")
	}
	tgt := s3compattest.StartVersityIAM(t, s3compattest.VersityGWBinary(t))
	p := tgt.Provider
	ctx := opCtx(t, p.Endpoint, p.IAMEndpoint)
	d := load(t, "aws", module(t, "aws"))
	assert.Equal(t, "https://iam.amazonaws.com", d.Describe().DefaultIAMEndpoint)

	const user = "pail-wasm-aws"
	pol := &abi.UserPolicyDoc{Name: "pail", Document: drivertest.ListOnlyPolicy}
	require.NoError(t, d.ApplyUser(ctx(), p, abi.UserArgs{Name: user, Create: true, Policy: pol,
		Tags: &abi.Tagging{Tags: map[string]string{"via": "wasm"}}}))
	key, err := d.CreateAccessKey(ctx(), p, abi.AccessKeyArgs{User: user})
	require.NoError(t, err)
	observe, err := timed(5, func() error {
		_, err := d.ObserveUser(ctx(), p, abi.UserArgs{Name: user, Observe: []string{abi.UserKeys, abi.UserTags, abi.UserPolicy}, Policy: &abi.UserPolicyDoc{Name: "pail"}})
		return err
	})
	require.NoError(t, err)
	t.Logf("mean ObserveUser(keys, tags, policy) through wasm: %v", observe)

	s3 := s3compattest.Client(abi.ProviderConfig{Endpoint: p.Endpoint, Region: "us-east-1", PathStyle: true,
		Credentials: abi.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret.Reveal()}})
	_, err = s3.ListBuckets(t.Context(), nil)
	require.NoError(t, err, "a key created through the wasm driver signs S3 calls")

	obs, err := d.ObserveUser(ctx(), p, abi.UserArgs{Name: user, Observe: []string{abi.UserLastUsed, abi.UserTags}})
	require.NoError(t, err)
	require.Len(t, obs.Keys, 1)
	assert.Equal(t, key.ID, obs.Keys[0].ID)
	assert.False(t, obs.Keys[0].LastUsed.IsZero(), "versitygw records the S3 call")
	assert.Equal(t, &abi.Tagging{Tags: map[string]string{"via": "wasm"}}, obs.Tags)

	// The IAM endpoint must be allowed like any other: a policy that only
	// knows the S3 endpoint refuses it, and retrying cannot help.
	s3only := opCtx(t, p.Endpoint)
	_, err = d.ObserveUser(s3only(), p, abi.UserArgs{Name: user})
	var ae *abi.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, abi.CodeUnavailable, ae.Code)
	assert.False(t, ae.Retryable, "%s", ae.Message)
	assert.Contains(t, ae.Message, strings.TrimPrefix(p.IAMEndpoint, "http://"), ae.Message)

	require.NoError(t, d.DeleteAccessKey(ctx(), p, abi.AccessKeyArgs{User: user, ID: key.ID}))
	require.NoError(t, d.DeleteUser(ctx(), p, abi.UserArgs{Name: user}))
}
