package driver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/drivertest"
)

// TestConformance runs the driver conformance suite (sdk/drivertest),
// natively, against a real MinIO (buckets, and users through madmin).
func TestConformance(t *testing.T) {
	drivertest.Run(t, New(http.DefaultTransport.(*http.Transport).Clone()), drivertest.Target{
		Server:           "minio",
		Provider:         minioForTest(t, "conformance"),
		Objects:          minioObjects{},
		KMSKeyID:         kmsKeyID,
		UnsupportedParts: UnsupportedParts,
	})
}

// minioObjects is the suite's independent object client
// (drivertest.Objects) on minio-go, which this module already has: the
// suite itself imports no S3 client.
type minioObjects struct{}

func (minioObjects) client(p abi.ProviderConfig) (*minio.Client, error) {
	u, err := url.Parse(p.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", p.Endpoint, err)
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:      credentials.NewStaticV4(p.Credentials.AccessKeyID, p.Credentials.SecretAccessKey, p.Credentials.SessionToken),
		Secure:     u.Scheme == "https",
		Region:     p.Region,
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("minio client for %s: %w", p.Endpoint, err)
	}
	return c, nil
}

func (o minioObjects) PutObject(ctx context.Context, p abi.ProviderConfig, bucket, key, body string) error {
	c, err := o.client(p)
	if err != nil {
		return err
	}
	if _, err := c.PutObject(ctx, bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	return nil
}

func (o minioObjects) DeleteObject(ctx context.Context, p abi.ProviderConfig, bucket, key string) error {
	c, err := o.client(p)
	if err != nil {
		return err
	}
	if err := c.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("remove %s/%s: %w", bucket, key, err)
	}
	return nil
}

// EmptyBucket removes every object version and delete marker (a plain
// object is the version "null" of an unversioned bucket).
func (o minioObjects) EmptyBucket(ctx context.Context, p abi.ProviderConfig, bucket string) error {
	c, err := o.client(p)
	if err != nil {
		return err
	}
	var errs []error
	for obj := range c.ListObjectsIter(ctx, bucket, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
		if obj.Err != nil {
			return errors.Join(append(errs, fmt.Errorf("list %s: %w", bucket, obj.Err))...)
		}
		if err := c.RemoveObject(ctx, bucket, obj.Key, minio.RemoveObjectOptions{VersionID: obj.VersionID}); err != nil {
			errs = append(errs, fmt.Errorf("remove %s/%s: %w", bucket, obj.Key, err))
		}
	}
	return errors.Join(errs...)
}
