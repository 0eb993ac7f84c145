package env_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/s3compat"
	"github.com/pail-dev/pail/test/env"
)

func TestVersityGW(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	g := env.VersityGWForTest(t, env.VersityGWOptions{Versioning: true, Log: testLog{t}})
	require.True(t, strings.HasPrefix(g.Endpoint, "http://127.0.0.1:"), g.Endpoint)
	require.Equal(t, env.DefaultVersityGWAccessKey, g.AccessKey)
	require.DirExists(t, g.Dir)
	require.DirExists(t, g.VersioningDir)
	require.False(t, strings.HasPrefix(g.VersioningDir, g.Dir+string(filepath.Separator)), "versions must not live among the buckets")

	c, err := g.Client()
	require.NoError(t, err)
	require.NoError(t, c.MakeBucket(ctx, "env-vgw-bucket", minio.MakeBucketOptions{}))
	require.NoError(t, c.EnableVersioning(ctx, "env-vgw-bucket"), "--versioning-dir enables bucket versioning")
	vc, err := c.GetBucketVersioning(ctx, "env-vgw-bucket")
	require.NoError(t, err)
	assert.Equal(t, "Enabled", vc.Status)
	buckets, err := c.ListBuckets(ctx)
	require.NoError(t, err)
	require.Len(t, buckets, 1, "only the bucket just made: state lives outside Dir")

	// With the IAM store an unknown key gets S3's answer.
	stranger, err := minio.New(g.Host, &minio.Options{Creds: credentials.NewStaticV4("nobody", "nobody-secret", ""), Region: "us-east-1"})
	require.NoError(t, err)
	_, err = stranger.ListBuckets(ctx)
	assert.Equal(t, "InvalidAccessKeyId", minio.ToErrorResponse(err).Code, "%v", err)

	endpoint := g.Endpoint
	require.NoError(t, g.Restart(ctx))
	require.Equal(t, endpoint, g.Endpoint, "restart must keep the port")
	ok, err := c.BucketExists(ctx, "env-vgw-bucket")
	require.NoError(t, err)
	require.True(t, ok, "bucket lost across restart")

	require.NoError(t, g.Kill())
	requireNotListening(t, g.Host)
	require.NoError(t, g.Restart(ctx))
	ok, err = c.BucketExists(ctx, "env-vgw-bucket")
	require.NoError(t, err)
	require.True(t, ok)
	assert.NotEmpty(t, g.LogTail())

	dir, versions := g.Dir, g.VersioningDir
	require.NoError(t, g.Stop())
	require.NoError(t, g.Stop(), "Stop must be idempotent")
	require.NoDirExists(t, dir, "temp data dir must be removed")
	require.NoDirExists(t, versions, "state dir must be removed")
	requireNotListening(t, g.Host)
	require.Error(t, g.Restart(ctx), "no restart after Stop")
}

func TestVersityGWFixedDirAndPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	port, err := env.FreePort()
	require.NoError(t, err)
	dir := t.TempDir()

	g, err := env.StartVersityGW(ctx, env.VersityGWOptions{Port: port, Dir: dir, AccessKey: "k-vgw", SecretKey: "k-vgw-secret"})
	require.NoError(t, err)
	defer g.Stop()
	require.Equal(t, port, g.Port)
	require.Empty(t, g.VersioningDir)
	c, err := g.Client()
	require.NoError(t, err)
	require.NoError(t, c.MakeBucket(ctx, "fixed", minio.MakeBucketOptions{}))
	require.DirExists(t, filepath.Join(dir, "fixed"), "buckets are directories of Dir")

	_, err = env.StartVersityGW(ctx, env.VersityGWOptions{Port: port, Dir: t.TempDir()})
	require.Error(t, err)
	require.Contains(t, err.Error(), "already in use")

	require.NoError(t, g.Stop())
	require.DirExists(t, dir, "a caller-provided dir must survive Stop")
}

func TestVersityIAM(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := env.StartVersityIAM(ctx, env.VersityIAMOptions{Log: testLog{t}})
	require.NoError(t, err)
	defer s.Stop()
	require.True(t, strings.HasPrefix(s.Endpoint, "http://127.0.0.1:"), s.Endpoint)
	entries, err := os.ReadDir(s.Dir)
	require.NoError(t, err)
	require.NotEmpty(t, entries, "the IAM store is initialised in Dir")

	require.NoError(t, s.Restart(ctx))
	require.NoError(t, s.Kill())
	requireNotListening(t, s.Host)

	dir := s.Dir
	require.NoError(t, s.Stop())
	require.NoDirExists(t, dir)
}

// A key created through the standalone IAM API signs S3 calls on a gateway
// paired with it over the private socket, and keeps working across a
// restart of the IAM server.
func TestVersityIAMPairedGateway(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := env.StartVersityIAM(ctx, env.VersityIAMOptions{PrivateSocket: true, Log: testLog{t}})
	require.NoError(t, err)
	defer s.Stop()
	require.NotEmpty(t, s.PrivateSocket)
	g := env.VersityGWForTest(t, env.VersityGWOptions{IAMStandaloneEndpoint: s.PrivateSocket, Log: testLog{t}})

	d := s3compat.New(nil, s3compat.Options{Name: "t", Capabilities: []string{abi.CapAccessKeys}})
	p := abi.ProviderConfig{IAMEndpoint: s.Endpoint, Credentials: abi.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}}
	require.NoError(t, d.ApplyUser(ctx, p, abi.UserArgs{Name: "paired", Create: true}))
	key, err := d.CreateAccessKey(ctx, p, abi.AccessKeyArgs{User: "paired"})
	require.NoError(t, err)

	c, err := minio.New(g.Host, &minio.Options{Creds: credentials.NewStaticV4(key.ID, key.Secret.Reveal(), ""), Region: "us-east-1", MaxRetries: 1})
	require.NoError(t, err)
	// The user has no policy: authenticated, and denied by default.
	_, err = c.ListBuckets(ctx)
	assert.Equal(t, "AccessDenied", minio.ToErrorResponse(err).Code, "%v", err)
	stranger, err := minio.New(g.Host, &minio.Options{Creds: credentials.NewStaticV4("AKIAPAILSTRANGER0000", "nope-nope-nope", ""), Region: "us-east-1", MaxRetries: 1})
	require.NoError(t, err)
	_, err = stranger.ListBuckets(ctx)
	assert.Equal(t, "InvalidAccessKeyId", minio.ToErrorResponse(err).Code, "%v", err)

	require.NoError(t, s.Restart(ctx))
	_, err = c.ListBuckets(ctx)
	assert.Equal(t, "AccessDenied", minio.ToErrorResponse(err).Code, "the gateway finds the key again after the IAM server restarts: %v", err)
}
