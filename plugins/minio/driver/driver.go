// Package driver is Pail's MinIO driver: it maps the ABI v1 bucket operations
// onto minio-go. The same code runs inside the wasm module (with
// guest.Transport) and natively (with any http.RoundTripper).
package driver

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/pail-dev/pail/sdk/abi"
	sdkdriver "github.com/pail-dev/pail/sdk/driver"
)

// Name and Version identify the driver in its abi.DriverInfo.
const (
	Name    = "minio"
	Version = "0.1.0"
)

// maxCachedClients bounds the client cache. Rotated credentials leave stale
// entries behind; past this size the cache is simply emptied and rebuilt.
const maxCachedClients = 64

// Driver implements sdk/driver.Driver for MinIO and other S3-compatible
// servers that minio-go speaks to.
type Driver struct {
	rt http.RoundTripper

	mu      sync.Mutex
	clients map[clientKey]*minio.Client
}

var _ sdkdriver.Driver = (*Driver)(nil)

// New returns a driver whose every request goes through rt: the host's
// transport in a wasm module, a plain http.Transport natively.
func New(rt http.RoundTripper) *Driver {
	return &Driver{rt: rt, clients: map[clientKey]*minio.Client{}}
}

// clientKey identifies a cached client. The secret is kept only as a hash.
type clientKey struct {
	endpoint  string
	region    string
	pathStyle bool
	accessKey string
	secret    [sha256.Size]byte
}

func keyOf(p abi.ProviderConfig) clientKey {
	h := sha256.New()
	h.Write([]byte(p.Credentials.SecretAccessKey))
	h.Write([]byte{0})
	h.Write([]byte(p.Credentials.SessionToken))
	k := clientKey{
		endpoint:  p.Endpoint,
		region:    p.Region,
		pathStyle: p.PathStyle,
		accessKey: p.Credentials.AccessKeyID,
	}
	h.Sum(k.secret[:0])
	return k
}

// client returns the cached minio-go client for p, building it on first use.
func (d *Driver) client(p abi.ProviderConfig) (*minio.Client, error) {
	k := keyOf(p)
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.clients[k]; ok {
		return c, nil
	}
	u, err := url.Parse(p.Endpoint)
	if err != nil {
		return nil, abi.Errorf(abi.CodeInvalidArgument, "provider endpoint %q is not a URL: %v", p.Endpoint, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, abi.Errorf(abi.CodeInvalidArgument, "provider endpoint %q must be an http:// or https:// URL with a host", p.Endpoint)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, abi.Errorf(abi.CodeInvalidArgument, "provider endpoint %q must not carry a path, query or user info", p.Endpoint)
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
		return nil, abi.Errorf(abi.CodeInvalidArgument, "provider endpoint %q: %v", p.Endpoint, err)
	}
	if len(d.clients) >= maxCachedClients {
		clear(d.clients)
	}
	d.clients[k] = c
	return c, nil
}

func checkBucketName(name string) error {
	if err := s3utils.CheckValidBucketName(name); err != nil {
		return abi.Errorf(abi.CodeInvalidArgument, "invalid bucket name %q: %v", name, err)
	}
	return nil
}

// Describe implements driver.Driver.
func (d *Driver) Describe() abi.DriverInfo {
	return abi.DriverInfo{
		Name:         Name,
		Version:      Version,
		ABI:          abi.Version,
		Capabilities: []string{abi.CapBuckets},
		Operations:   []string{abi.OpCheckProvider, abi.OpObserveBucket, abi.OpApplyBucket, abi.OpDeleteBucket},
	}
}

// CheckProvider lists buckets, which needs both a reachable endpoint and
// accepted credentials.
func (d *Driver) CheckProvider(ctx context.Context, p abi.ProviderConfig) error {
	c, err := d.client(p)
	if err != nil {
		return err
	}
	_, err = c.ListBuckets(ctx)
	return mapError(err)
}

// ObserveBucket reports whether the bucket exists.
func (d *Driver) ObserveBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error) {
	if err := checkBucketName(b.Name); err != nil {
		return abi.BucketObservation{}, err
	}
	c, err := d.client(p)
	if err != nil {
		return abi.BucketObservation{}, err
	}
	ok, err := c.BucketExists(ctx, b.Name)
	if err != nil {
		return abi.BucketObservation{}, mapError(err)
	}
	return abi.BucketObservation{Exists: ok}, nil
}

// ApplyBucket creates the bucket; one the caller already owns is success.
func (d *Driver) ApplyBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
	if err := checkBucketName(b.Name); err != nil {
		return err
	}
	c, err := d.client(p)
	if err != nil {
		return err
	}
	region := b.Region
	if region == "" {
		region = p.Region
	}
	err = c.MakeBucket(ctx, b.Name, minio.MakeBucketOptions{Region: region})
	if minio.ToErrorResponse(err).Code == minio.BucketAlreadyOwnedByYou {
		return nil
	}
	return mapError(err)
}

// DeleteBucket removes an empty bucket. It refuses, with Conflict, a bucket
// that holds any object or object version, before asking the server.
func (d *Driver) DeleteBucket(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
	if err := checkBucketName(b.Name); err != nil {
		return err
	}
	c, err := d.client(p)
	if err != nil {
		return err
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
