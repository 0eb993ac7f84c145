package s3compat

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pail-dev/pail/sdk/abi"
)

// maxDeleteBatch is the most keys one DeleteObjects request may name.
const maxDeleteBatch = 1000

// DeleteBucket deletes the bucket. Without b.Force it refuses, with
// Conflict, a bucket holding any object version or delete marker, before
// asking the server to delete it. With b.Force it first deletes every object
// version and delete marker (and aborts multipart uploads).
func (d *Driver) DeleteBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
	c, err := d.prepare(p, b)
	if err != nil {
		return err
	}
	if b.Force {
		if !d.caps[abi.CapForceDelete] {
			return abi.Errorf(abi.CodeUnimplemented, "the %s driver cannot force-delete a bucket", d.opts.Name)
		}
		if err := d.empty(ctx, c, b.Name); err != nil {
			return err
		}
	} else {
		nonEmpty, err := d.hasContent(ctx, c, b.Name)
		if err != nil {
			return err
		}
		if nonEmpty {
			return &abi.Error{
				Code:         abi.CodeConflict,
				ProviderCode: "BucketNotEmpty",
				Message:      fmt.Sprintf("bucket %s is not empty: it holds at least one object, object version or delete marker", b.Name),
			}
		}
	}
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &b.Name})
	return wrap(err, "delete bucket")
}

// hasContent reports whether the bucket holds an object version or delete
// marker; on a server without versions, whether it holds an object.
func (d *Driver) hasContent(ctx context.Context, c *s3.Client, bucket string) (bool, error) {
	out, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &bucket, MaxKeys: aws.Int32(1)})
	if err == nil {
		return len(out.Versions)+len(out.DeleteMarkers) > 0, nil
	}
	if _, ok := d.unsupported(err); !ok {
		return false, wrap(err, "list object versions")
	}
	objs, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, MaxKeys: aws.Int32(1)})
	if err != nil {
		return false, wrap(err, "list objects")
	}
	return len(objs.Contents) > 0, nil
}

// empty deletes every object version, delete marker and multipart upload.
// BypassGovernanceRetention stays unset (false): objects under retention
// make the delete fail rather than silently losing their protection.
func (d *Driver) empty(ctx context.Context, c *s3.Client, bucket string) error {
	in := &s3.ListObjectVersionsInput{Bucket: &bucket}
	for {
		out, err := c.ListObjectVersions(ctx, in)
		if err != nil {
			if _, ok := d.unsupported(err); ok {
				if err := d.emptyUnversioned(ctx, c, bucket); err != nil {
					return err
				}
				break
			}
			return wrap(err, "force delete: list object versions")
		}
		ids := make([]types.ObjectIdentifier, 0, len(out.Versions)+len(out.DeleteMarkers))
		for _, v := range out.Versions {
			ids = append(ids, types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range out.DeleteMarkers {
			ids = append(ids, types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if err := deleteObjects(ctx, c, bucket, ids); err != nil {
			return err
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
	return d.abortUploads(ctx, c, bucket)
}

// emptyUnversioned deletes every object of a server that lists no versions.
func (d *Driver) emptyUnversioned(ctx context.Context, c *s3.Client, bucket string) error {
	in := &s3.ListObjectsV2Input{Bucket: &bucket}
	for {
		out, err := c.ListObjectsV2(ctx, in)
		if err != nil {
			return wrap(err, "force delete: list objects")
		}
		ids := make([]types.ObjectIdentifier, 0, len(out.Contents))
		for _, o := range out.Contents {
			ids = append(ids, types.ObjectIdentifier{Key: o.Key})
		}
		if err := deleteObjects(ctx, c, bucket, ids); err != nil {
			return err
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			return nil
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}

// deleteObjects deletes ids in batches of at most maxDeleteBatch and fails
// on the first key the server could not delete.
func deleteObjects(ctx context.Context, c *s3.Client, bucket string, ids []types.ObjectIdentifier) error {
	for len(ids) > 0 {
		n := min(len(ids), maxDeleteBatch)
		out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &bucket,
			Delete: &types.Delete{Objects: ids[:n], Quiet: aws.Bool(true)},
		})
		if err != nil {
			return wrap(err, "force delete: delete objects")
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			ae := s3Answers.answer(aws.ToString(e.Code), aws.ToString(e.Message), 0)
			ae.Message = fmt.Sprintf("force delete: %d of %d objects could not be deleted; first %q (version %q): %s",
				len(out.Errors), n, aws.ToString(e.Key), aws.ToString(e.VersionId), ae.Message)
			return ae
		}
		ids = ids[n:]
	}
	return nil
}

// abortUploads aborts the bucket's multipart uploads, which would otherwise
// keep it from being deleted on some servers. A server without multipart
// listing is left alone.
func (d *Driver) abortUploads(ctx context.Context, c *s3.Client, bucket string) error {
	in := &s3.ListMultipartUploadsInput{Bucket: &bucket}
	for {
		out, err := c.ListMultipartUploads(ctx, in)
		if err != nil {
			if _, ok := d.unsupported(err); ok {
				return nil
			}
			return wrap(err, "force delete: list multipart uploads")
		}
		for _, u := range out.Uploads {
			_, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key, UploadId: u.UploadId})
			if err != nil && !hasCode(err, "NoSuchUpload") {
				return wrap(err, fmt.Sprintf("force delete: abort upload of %q", aws.ToString(u.Key)))
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}
