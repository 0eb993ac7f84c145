package s3compattest

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/drivertest"
)

// Objects is the conformance suite's independent object client
// (drivertest.Objects) on aws-sdk-go-v2: the suite lives in the sdk module,
// which carries no cloud SDK, so the caller brings the client.
type Objects struct{}

var _ drivertest.Objects = Objects{}

// PutObject writes body at key in bucket with a plain client for p.
func (Objects) PutObject(ctx context.Context, p abi.ProviderConfig, bucket, key, body string) error {
	_, err := Client(p).PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key),
		Body: strings.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	return nil
}

// DeleteObject deletes key in bucket with a plain DELETE: in a versioned
// bucket, a delete marker.
func (Objects) DeleteObject(ctx context.Context, p abi.ProviderConfig, bucket, key string) error {
	_, err := Client(p).DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("delete %s/%s: %w", bucket, key, err)
	}
	return nil
}

// EmptyBucket deletes every object version and delete marker of bucket,
// then every object a plain listing still shows: a server that cannot list
// versions still has its unversioned objects removed.
func (Objects) EmptyBucket(ctx context.Context, p abi.ProviderConfig, bucket string) error {
	c := Client(p)
	var errs []error
	del := func(key, version *string) {
		_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: key, VersionId: version})
		if err != nil {
			errs = append(errs, fmt.Errorf("delete %s/%s: %w", bucket, aws.ToString(key), err))
		}
	}
	if vs, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)}); err == nil {
		for _, v := range vs.Versions {
			del(v.Key, v.VersionId)
		}
		for _, m := range vs.DeleteMarkers {
			del(m.Key, m.VersionId)
		}
	}
	objs, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list objects of %s: %w", bucket, err))...)
	}
	for _, o := range objs.Contents {
		del(o.Key, nil)
	}
	return errors.Join(errs...)
}
