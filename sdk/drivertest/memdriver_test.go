package drivertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driver"
)

// memS3 is an in-memory S3 endpoint for the suite's self-test: the buckets a
// driver writes and the objects the suite's independent client writes,
// behind one endpoint and one pair of credentials. The sdk module carries no
// cloud SDK and no server, so the suite is proven on this instead; the
// real drivers run it against real servers in their own modules.
type memS3 struct {
	endpoint string
	creds    abi.Credentials
	// caps are what the driver built on it declares.
	caps []string

	mu      sync.Mutex
	buckets map[string]*memBucket
}

// memBucket holds each written sub-resource as its JSON, keyed by its
// name: abi.BucketConfig's JSON names are the sub-resource names, so the
// driver below needs no table of its own, and a read never aliases a write.
type memBucket struct {
	config  map[string]json.RawMessage
	objects map[string]string
}

func newMemS3(caps ...string) *memS3 {
	return &memS3{
		endpoint: "http://s3.memory.invalid",
		creds:    abi.Credentials{AccessKeyID: "PAILMEMORYKEY0000000", SecretAccessKey: "memory-secret"},
		caps:     caps,
		buckets:  map[string]*memBucket{},
	}
}

func (m *memS3) provider() abi.ProviderConfig {
	return abi.ProviderConfig{Name: "memory", Endpoint: m.endpoint, Region: "us-east-1", PathStyle: true, Credentials: m.creds}
}

// driver is a conformant driver on m, built from driver.Funcs.
func (m *memS3) driver() driver.Funcs {
	return driver.Funcs{
		Info: abi.DriverInfo{
			Name: "selftest", Version: "0.0.0", ABI: abi.Version,
			Capabilities: append([]string{abi.CapBuckets}, m.caps...),
			Operations:   []string{abi.OpCheckProvider, abi.OpObserveBucket, abi.OpApplyBucket, abi.OpDeleteBucket},
		},
		CheckFn:   m.auth,
		ObserveFn: m.observe,
		ApplyFn:   m.apply,
		DeleteFn:  m.delete,
	}
}

func (m *memS3) declares(c string) bool {
	return slices.Contains(m.caps, c)
}

// auth answers as a server would: another endpoint does not answer, other
// credentials are refused. Neither message carries the secret.
func (m *memS3) auth(_ context.Context, p abi.ProviderConfig) error {
	if p.Endpoint != m.endpoint {
		return abi.Errorf(abi.CodeUnavailable, "dial %s: connection refused", p.Endpoint)
	}
	if p.Credentials.AccessKeyID != m.creds.AccessKeyID {
		return &abi.Error{Code: abi.CodeAccessDenied, Message: "the access key does not exist", ProviderCode: "InvalidAccessKeyId", HTTPStatus: 403}
	}
	if p.Credentials.SecretAccessKey != m.creds.SecretAccessKey {
		return &abi.Error{Code: abi.CodeAccessDenied, Message: "the request signature does not match", ProviderCode: "SignatureDoesNotMatch", HTTPStatus: 403}
	}
	return nil
}

func (m *memS3) observe(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) (abi.BucketObservation, error) {
	if err := m.auth(ctx, p); err != nil {
		return abi.BucketObservation{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	bk, ok := m.buckets[b.Name]
	if !ok {
		return abi.BucketObservation{}, nil
	}
	read := map[string]json.RawMessage{}
	for _, name := range b.Observe {
		if v, ok := bk.config[name]; ok && m.declares(name) {
			read[name] = v
		}
	}
	obs := abi.BucketObservation{Exists: true}
	return obs, remarshal(read, &obs.Config)
}

func (m *memS3) apply(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
	if err := m.auth(ctx, p); err != nil {
		return err
	}
	written := map[string]json.RawMessage{}
	if err := remarshal(b.Config, &written); err != nil {
		return err
	}
	writes := len(written) > 0
	if b.Create && b.ObjectLock != nil {
		written[abi.SubObjectLock] = nil // checked as declared below
	}
	for name := range written {
		if !m.declares(name) {
			return abi.Errorf(abi.CodeUnimplemented, "%s is not declared by driver selftest", name)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	bk, ok := m.buckets[b.Name]
	switch {
	case !ok && b.Create:
		bk = m.create(b.ObjectLock)
		m.buckets[b.Name] = bk
	case !ok && writes:
		return &abi.Error{Code: abi.CodeNotFound, Message: "bucket " + b.Name + " does not exist", ProviderCode: "NoSuchBucket", HTTPStatus: 404}
	case !ok:
		return nil // nothing to create, nothing to write
	}
	if err := lockRule(bk, b.Config.ObjectLock); err != nil {
		return err
	}
	if b.Create {
		delete(written, abi.SubObjectLock) // the create set it
	}
	maps.Copy(bk.config, written)
	return nil
}

// create is a new bucket whose declared sub-resources read as S3 reads a
// new bucket's: none set, and versioning on with object lock.
func (m *memS3) create(lock *abi.ObjectLock) *memBucket {
	cfg := abi.BucketConfig{
		Versioning: &abi.Versioning{}, CORS: &abi.CORS{}, Tagging: &abi.Tagging{}, Policy: &abi.Policy{},
		ObjectLock: &abi.ObjectLock{},
	}
	if lock != nil {
		cfg.ObjectLock = lock
		cfg.Versioning = &abi.Versioning{Status: "Enabled"}
	}
	bk := &memBucket{config: map[string]json.RawMessage{}, objects: map[string]string{}}
	_ = remarshal(cfg, &bk.config) // abi types always marshal
	return bk
}

func (m *memS3) delete(ctx context.Context, p abi.ProviderConfig, b abi.BucketArgs) error {
	if err := m.auth(ctx, p); err != nil {
		return err
	}
	if b.Force && !m.declares(abi.CapForceDelete) {
		return abi.Errorf(abi.CodeUnimplemented, "%s is not declared by driver selftest", abi.CapForceDelete)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	bk, ok := m.buckets[b.Name]
	switch {
	case !ok:
		return &abi.Error{Code: abi.CodeNotFound, Message: "bucket " + b.Name + " does not exist", ProviderCode: "NoSuchBucket", HTTPStatus: 404}
	case len(bk.objects) > 0 && !b.Force:
		return &abi.Error{Code: abi.CodeConflict, Message: "bucket " + b.Name + " is not empty", ProviderCode: "BucketNotEmpty", HTTPStatus: 409}
	}
	delete(m.buckets, b.Name)
	return nil
}

// PutObject, DeleteObject and EmptyBucket make m the suite's independent
// object client (drivertest.Objects): they reach the store without the
// driver's code. In a versioned bucket every write is kept, as a version or
// a delete marker, under its own entry.
func (m *memS3) PutObject(ctx context.Context, p abi.ProviderConfig, bucket, key, body string) error {
	return m.objects(ctx, p, bucket, func(bk *memBucket) { bk.objects[bk.entry(key)] = body })
}

func (m *memS3) DeleteObject(ctx context.Context, p abi.ProviderConfig, bucket, key string) error {
	return m.objects(ctx, p, bucket, func(bk *memBucket) {
		if e := bk.entry(key); e != key {
			bk.objects[e] = "" // a delete marker
			return
		}
		delete(bk.objects, key)
	})
}

// entry is where a write of key goes: key itself, or a new version of it
// when versioning is enabled.
func (bk *memBucket) entry(key string) string {
	var v abi.Versioning
	if err := json.Unmarshal(bk.config[abi.SubVersioning], &v); err != nil || v.Status != "Enabled" {
		return key
	}
	return fmt.Sprintf("%s?versionId=%d", key, len(bk.objects))
}

func (m *memS3) EmptyBucket(ctx context.Context, p abi.ProviderConfig, bucket string) error {
	return m.objects(ctx, p, bucket, func(bk *memBucket) { clear(bk.objects) })
}

func (m *memS3) objects(ctx context.Context, p abi.ProviderConfig, bucket string, change func(*memBucket)) error {
	if err := m.auth(ctx, p); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	bk, ok := m.buckets[bucket]
	if !ok {
		return fmt.Errorf("no bucket %s", bucket)
	}
	change(bk)
	return nil
}

// remarshal copies in into out through JSON.
func remarshal(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

// lockRule is abi.SubResources' object-lock rule: the default retention may
// be written to a bucket with object lock, nothing enables it after the
// create, and nothing turns it off.
func lockRule(bk *memBucket, want *abi.ObjectLock) error {
	if want == nil {
		return nil
	}
	var have abi.ObjectLock
	if err := json.Unmarshal(bk.config[abi.SubObjectLock], &have); err != nil {
		return err
	}
	switch {
	case have.Enabled && !want.Enabled:
		return abi.Errorf(abi.CodeInvalidArgument, "object lock cannot be turned off")
	case !have.Enabled && want.Enabled:
		return abi.Errorf(abi.CodeConflict, "object lock can only be enabled when the bucket is created")
	}
	return nil
}
