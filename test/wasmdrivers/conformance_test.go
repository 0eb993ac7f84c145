package wasmdrivers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/core/hosthttp"
	miniodriver "github.com/pail-dev/pail/plugins/minio/driver"
	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/drivertest"
	"github.com/pail-dev/pail/sdk/s3compat/s3compattest"
	"github.com/pail-dev/pail/test/env"
)

// TestConformanceThroughWasm runs the driver conformance suite
// (sdk/drivertest) on the built modules of bin/drivers, loaded by
// core/wasmhost (which checks their pail.driver metadata section against
// the handshake), with every request going through the host's HTTP policy:
// minio.wasm against MinIO, aws.wasm against versitygw.
func TestConformanceThroughWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: skipped in -short mode")
	}
	t.Run("minio", func(t *testing.T) {
		key := make([]byte, 32)
		_, err := rand.Read(key)
		require.NoError(t, err)
		const kmsKey = "pail-conformance-key"
		m := env.MinIOForTest(t, env.MinIOOptions{Env: []string{"MINIO_KMS_SECRET_KEY=" + kmsKey + ":" + base64.StdEncoding.EncodeToString(key)}})
		d := load(t, "minio", module(t, "minio"))
		drivertest.Run(t, policed{d}, drivertest.Target{
			Server: "minio",
			Provider: abi.ProviderConfig{
				Name: "wasm", Endpoint: m.Endpoint, Region: "us-east-1", PathStyle: true,
				Credentials: abi.Credentials{AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey},
			},
			Objects:          s3compattest.Objects{},
			KMSKeyID:         kmsKey,
			UnsupportedParts: miniodriver.UnsupportedParts,
		})
	})
	t.Run("aws", func(t *testing.T) {
		tgt := s3compattest.TargetForTest(t)
		iam := s3compattest.IAMTargetForTest(t)
		d := load(t, "aws", module(t, "aws"))
		drivertest.Run(t, policed{d}, drivertest.Target{
			Server: tgt.Server, Provider: tgt.Provider, Unsupported: tgt.Unsupported,
			Objects: s3compattest.Objects{},
			Users:   &iam.Provider, UsersUnsupported: iam.Unsupported,
			Propagation: iam.Propagation, LastUsedAtOnce: iam.LastUsedAtOnce,
		})
	})
}

// policed runs every call of a wasm driver as the operator does: inside one
// host HTTP operation whose policy allows exactly the endpoints of the
// call's Provider (S3, and IAM when set). The suite's calls with a closed
// port or wrong credentials are therefore allowed to reach that port, and
// fail as the driver maps it, not as a policy refusal.
type policed struct{ d userDriver }

func (w policed) run(ctx context.Context, p abi.ProviderConfig, fn func(context.Context) error) error {
	endpoints := []string{p.Endpoint}
	if p.IAMEndpoint != "" {
		endpoints = append(endpoints, p.IAMEndpoint)
	}
	pol, err := hosthttp.NewPolicy(endpoints, hosthttp.TLSOptions{})
	if err != nil {
		return err
	}
	defer pol.Close()
	return fn(hosthttp.WithOp(ctx, pol.NewOp(nil)))
}

func (w policed) Describe() abi.DriverInfo { return w.d.Describe() }

func (w policed) CheckProvider(ctx context.Context, p abi.ProviderConfig) error {
	return w.run(ctx, p, func(ctx context.Context) error { return w.d.CheckProvider(ctx, p) })
}

func (w policed) ObserveBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) (obs abi.BucketObservation, err error) {
	err = w.run(ctx, p, func(ctx context.Context) (err error) { obs, err = w.d.ObserveBucket(ctx, p, b); return err })
	return obs, err
}

func (w policed) ApplyBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
	return w.run(ctx, p, func(ctx context.Context) error { return w.d.ApplyBucket(ctx, p, b) })
}

func (w policed) DeleteBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
	return w.run(ctx, p, func(ctx context.Context) error { return w.d.DeleteBucket(ctx, p, b) })
}

func (w policed) ObserveUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) (obs abi.UserObservation, err error) {
	err = w.run(ctx, p, func(ctx context.Context) (err error) { obs, err = w.d.ObserveUser(ctx, p, u); return err })
	return obs, err
}

func (w policed) ApplyUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) error {
	return w.run(ctx, p, func(ctx context.Context) error { return w.d.ApplyUser(ctx, p, u) })
}

func (w policed) DeleteUser(ctx context.Context, p abi.ProviderConfig, u abi.UserArgs) error {
	return w.run(ctx, p, func(ctx context.Context) error { return w.d.DeleteUser(ctx, p, u) })
}

func (w policed) CreateAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) (key abi.NewAccessKey, err error) {
	err = w.run(ctx, p, func(ctx context.Context) (err error) { key, err = w.d.CreateAccessKey(ctx, p, k); return err })
	return key, err
}

func (w policed) UpdateAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) error {
	return w.run(ctx, p, func(ctx context.Context) error { return w.d.UpdateAccessKey(ctx, p, k) })
}

func (w policed) DeleteAccessKey(ctx context.Context, p abi.ProviderConfig, k abi.AccessKeyArgs) error {
	return w.run(ctx, p, func(ctx context.Context) error { return w.d.DeleteAccessKey(ctx, p, k) })
}
