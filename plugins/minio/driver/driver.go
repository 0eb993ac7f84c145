// Package driver is Pail's MinIO driver: it maps the ABI v1 bucket operations
// onto minio-go. The same code runs inside the wasm module (with
// guest.Transport) and natively (with any http.RoundTripper).
package driver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/minio/madmin-go/v3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/pail-dev/pail/sdk/abi"
	sdkdriver "github.com/pail-dev/pail/sdk/driver"
	"github.com/pail-dev/pail/sdk/driverkit"
)

// Name and Version identify the driver in its abi.DriverInfo.
const (
	Name    = "minio"
	Version = "0.1.0"
)

// Driver implements sdk/driver.Driver for MinIO and other S3-compatible
// servers that minio-go speaks to.
type Driver struct {
	rt http.RoundTripper

	clients driverkit.Clients[*minio.Client]
	admins  driverkit.Clients[*madmin.AdminClient]
}

var _ sdkdriver.Driver = (*Driver)(nil)

// New returns a driver whose every request goes through rt: the host's
// transport in a wasm module, a plain http.Transport natively.
func New(rt http.RoundTripper) *Driver {
	// The check transport proves, for CheckProvider only, that a 200 to
	// ListBuckets really is S3's answer: minio-go decodes any XML root.
	return &Driver{rt: driverkit.CheckTransport(rt)}
}

// client returns the cached minio-go client for p, building it on first use.
func (d *Driver) client(p abi.ProviderConfig) (*minio.Client, error) {
	return d.clients.Get(p, func() (*minio.Client, error) { return d.newClient(p) })
}

func (d *Driver) newClient(p abi.ProviderConfig) (*minio.Client, error) {
	u, err := url.Parse(p.Endpoint)
	if err != nil {
		return nil, abi.Errorf(abi.CodeInvalidArgument, "provider endpoint %s is not a URL", driverkit.Endpoint(p.Endpoint))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, abi.Errorf(abi.CodeInvalidArgument, "provider endpoint %s must be an http:// or https:// URL with a host", driverkit.Endpoint(p.Endpoint))
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, abi.Errorf(abi.CodeInvalidArgument, "provider endpoint %s must not carry a path, query or user info", driverkit.Endpoint(p.Endpoint))
	}
	lookup := minio.BucketLookupAuto
	if p.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(u.Host, &minio.Options{
		// Static credentials only: never an env or default provider chain.
		Creds:        credentials.NewStaticV4(p.Credentials.AccessKeyID, p.Credentials.SecretAccessKey, p.Credentials.SessionToken),
		Secure:       u.Scheme == "https",
		Transport:    d.rt,
		Region:       p.Region,
		BucketLookup: lookup,
		// The host owns retries; one attempt makes a closed port fail fast.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, abi.Errorf(abi.CodeInvalidArgument, "provider endpoint %s: %v", driverkit.Endpoint(p.Endpoint), err)
	}
	return c, nil
}

func checkBucketName(name string) error {
	if err := s3utils.CheckValidBucketName(name); err != nil {
		return abi.Errorf(abi.CodeInvalidArgument, "invalid bucket name %q: %v", name, err)
	}
	return nil
}

// Describe implements driver.Driver. CORS is not declared: MinIO answers
// PutBucketCors with NotImplemented. Neither is publicAccessBlock (MinIO has
// no such API) nor mfaDelete (MinIO ignores MfaDelete). Users and keys go
// through the admin API (users.go): accessKeys and inlinePolicy, but no
// userTags or keyLastUsed, which MinIO does not have.
func (d *Driver) Describe() abi.DriverInfo {
	return abi.DriverInfo{
		Name:         Name,
		Version:      Version,
		ABI:          abi.Version,
		Capabilities: slices.Concat(capabilities, userCapabilities),
		Operations:   abi.OperationsOf(abi.CapBuckets, abi.CapAccessKeys),
	}
}

// CheckProvider lists buckets, which needs both a reachable endpoint and
// accepted credentials; the answer must be a ListAllMyBucketsResult, or any
// server answering 200 with XML would pass.
func (d *Driver) CheckProvider(ctx context.Context, p abi.ProviderConfig) error {
	ctx = driverkit.WithS3Check(ctx)
	c, err := d.client(p)
	if err != nil {
		return err
	}
	_, err = c.ListBuckets(ctx)
	return mapError(err)
}

// CheckProviderAccount is CheckProvider, and reports MinIO's deployment ID
// as the account: buckets and users belong to a deployment, and a wiped and
// re-created one gets a new ID even at the same address. Credentials
// without admin rights cannot read it; the check still passes, naming no
// account (the host then compares endpoints only).
func (d *Driver) CheckProviderAccount(ctx context.Context, p abi.ProviderConfig) (abi.ProviderCheck, error) {
	if err := d.CheckProvider(ctx, p); err != nil {
		return abi.ProviderCheck{}, err
	}
	adm, err := d.adminClient(p)
	if err != nil {
		return abi.ProviderCheck{}, nil //nolint:nilerr // no admin client: the check passes, naming no account
	}
	info, err := adm.ServerInfo(ctx)
	if err != nil {
		return abi.ProviderCheck{}, nil //nolint:nilerr // no admin rights: the check passes, naming no account
	}
	return abi.ProviderCheck{Account: info.DeploymentID}, nil
}

// ObserveBucket reports whether the bucket exists and, when it does, reads
// each sub-resource named in b.Observe into the observation's Config. A
// sub-resource MinIO has no API for is reported in Unsupported, without a
// request.
func (d *Driver) ObserveBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error) {
	if err := checkBucketName(b.Name); err != nil {
		return abi.BucketObservation{}, err
	}
	c, err := d.client(p)
	if err != nil {
		return abi.BucketObservation{}, err
	}
	obs := abi.BucketObservation{Exists: true}
	var reads []string
	for _, sub := range b.Observe {
		if _, ok := readers[sub]; !ok {
			setUnsupported(&obs, sub, unsupportedReason(sub))
			continue
		}
		reads = append(reads, sub)
	}
	// MinIO answers NoSuchBucket for a missing bucket on these reads, but
	// NoSuchTagSet / no object-lock config on the others; one of these must go
	// first for the existence check to ride on it.
	if i := slices.IndexFunc(reads, func(s string) bool { return revealsMissingBucket[s] }); i > 0 {
		reads[0], reads[i] = reads[i], reads[0]
	}
	if len(reads) == 0 || !revealsMissingBucket[reads[0]] {
		ok, err := c.BucketExists(ctx, b.Name)
		if err != nil {
			return abi.BucketObservation{}, mapError(err)
		}
		obs.Exists = ok
		if !ok || len(reads) == 0 {
			return obs, nil
		}
	}
	// Reading a sub-resource of a missing bucket answers NoSuchBucket, so the
	// existence check rides on the first read: one request per managed
	// sub-resource, none extra.
	for i, sub := range reads {
		if err := observe(ctx, c, b.Name, sub, &obs); err != nil {
			if i == 0 && revealsMissingBucket[sub] && abi.CodeOf(err) == abi.CodeNotFound {
				return abi.BucketObservation{Exists: false, Unsupported: obs.Unsupported}, nil
			}
			return abi.BucketObservation{}, err
		}
	}
	return obs, nil
}

var revealsMissingBucket = map[string]bool{
	abi.SubVersioning: true, abi.SubEncryption: true, abi.SubLifecycle: true, abi.SubPolicy: true,
}

// ApplyBucket creates the bucket when b.Create is set (one the caller already
// owns is success), with object lock when b.ObjectLock enables it, and then
// writes exactly the non-nil sub-resources of b.Config, in abi.SubResources
// order. A field MinIO cannot keep is refused before the first request.
func (d *Driver) ApplyBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
	if err := checkBucketName(b.Name); err != nil {
		return err
	}
	writes, err := planWrites(b)
	if err != nil {
		return err
	}
	var lock *retention
	if b.Create {
		if lock, err = checkObjectLock(b.ObjectLock); err != nil {
			return err
		}
	}
	c, err := d.client(p)
	if err != nil {
		return err
	}
	if b.Create {
		if err := d.create(ctx, c, p, b, lock); err != nil {
			return err
		}
	}
	var tagErr error
	for _, w := range writes {
		if err := w.do(ctx, c, b.Name); err != nil {
			err = subError(w.sub, err)
			if w.sub == abi.SubTagging && abi.CodeOf(err) == abi.CodeInvalidArgument {
				tagErr = err // reported after the rest is written
				continue
			}
			return err
		}
	}
	return driverkit.DeferredTagError(tagErr)
}

// create makes the bucket, then sets the default retention if one is given.
func (d *Driver) create(ctx context.Context, c *minio.Client, p abi.ProviderConfig, b abi.BucketArgs, lock *retention) error {
	region := b.Region
	if region == "" {
		region = p.Region
	}
	locking := b.ObjectLock != nil && b.ObjectLock.Enabled
	err := c.MakeBucket(ctx, b.Name, minio.MakeBucketOptions{Region: region, ObjectLocking: locking})
	switch {
	case minio.ToErrorResponse(err).Code == minio.BucketAlreadyOwnedByYou:
		// A retry after a partial failure, or a bucket made by someone else
		// with these credentials: object lock cannot be added afterwards.
		if locking {
			ol, err := readObjectLock(ctx, c, b.Name)
			if err != nil {
				return subError(abi.SubObjectLock, err)
			}
			if !ol.Enabled {
				return &abi.Error{Code: abi.CodeConflict, ProviderCode: minio.BucketAlreadyOwnedByYou,
					Message: fmt.Sprintf("objectLock: bucket %s already exists without object lock, which can only be enabled when a bucket is created", b.Name)}
			}
		}
	case err != nil:
		return mapError(err)
	}
	if lock != nil {
		err := c.SetObjectLockConfig(ctx, b.Name, &lock.mode, &lock.validity, &lock.unit)
		return subError(abi.SubObjectLock, err)
	}
	return nil
}

// DeleteBucket removes the bucket. Without b.Force it refuses, with Conflict,
// a bucket that holds any object or object version, before asking the server.
// With b.Force it first deletes every object version and delete marker.
func (d *Driver) DeleteBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
	if err := checkBucketName(b.Name); err != nil {
		return err
	}
	c, err := d.client(p)
	if err != nil {
		return err
	}
	if b.Force {
		if err := emptyBucket(ctx, c, b.Name); err != nil {
			return err
		}
		return mapError(c.RemoveBucket(ctx, b.Name))
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The iterator form of ListObjects: no goroutine, and break stops it.
	for obj := range c.ListObjectsIter(lctx, b.Name, minio.ListObjectsOptions{WithVersions: true, MaxKeys: 1, Recursive: true}) {
		if obj.Err != nil {
			return mapError(obj.Err)
		}
		return &abi.Error{
			Code:         abi.CodeConflict,
			ProviderCode: minio.BucketNotEmpty,
			Message:      fmt.Sprintf("bucket %s is not empty: it holds at least one object or object version", b.Name),
		}
	}
	return mapError(c.RemoveBucket(ctx, b.Name))
}

// emptyBucket deletes every object version and delete marker of a bucket,
// listing them and removing them in multi-object deletes of up to 1000.
//
// It does not use MinIO's force-delete header (RemoveBucketWithOptions with
// ForceDelete). That does remove every version, but it answers success for a
// bucket that does not exist, is refused (MethodNotAllowed) on an
// object-lock bucket, and needs the extra s3:ForceDeleteBucket permission.
// Versions under object-lock retention are not bypassed: they fail the
// delete with Conflict.
func emptyBucket(ctx context.Context, c *minio.Client, bucket string) error {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var listErr error
	versions := func(yield func(minio.ObjectInfo) bool) {
		for obj := range c.ListObjectsIter(lctx, bucket, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
			if obj.Err != nil {
				listErr = obj.Err
				return
			}
			if !yield(obj) {
				return
			}
		}
	}
	results, err := c.RemoveObjectsWithIter(lctx, bucket, versions, minio.RemoveObjectsOptions{})
	if err != nil {
		return mapError(err)
	}
	for r := range results {
		if r.Err != nil {
			return removeError(bucket, r) // stops the listing as well
		}
	}
	return mapError(listErr)
}

// removeError describes an object version the force delete could not remove.
// A refusal the error table does not know (MinIO's "Object is WORM protected"
// is InvalidRequest) means the bucket cannot be emptied as it is: Conflict.
func removeError(bucket string, r minio.RemoveObjectResult) error {
	var ae *abi.Error
	if !errors.As(mapError(r.Err), &ae) {
		return r.Err
	}
	out := *ae
	if out.Code == abi.CodeInternal && !out.Retryable {
		out.Code = abi.CodeConflict
	}
	what := r.ObjectName
	if r.ObjectVersionID != "" {
		what += " (version " + r.ObjectVersionID + ")"
	}
	out.Message = fmt.Sprintf("bucket %s: cannot delete object %s: %s", bucket, what, ae.Message)
	return &out
}
