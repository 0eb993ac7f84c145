package s3compat

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
)

// Unit tests against a recording httptest server that answers with the XML
// AWS documents, for what no local server implements (public access block,
// SSE-KMS) and for the exact shape of requests.

const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

// request is one request the fake server received.
type request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// sub returns the request's sub-resource: its query keys without the
// SDK's x-id, sorted and joined, e.g. "publicAccessBlock".
func (r request) sub() string {
	var keys []string
	for k := range r.Query {
		if k != "x-id" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return strings.Join(keys, "&")
}

// op is "METHOD /path?sub" for compact assertions.
func (r request) op() string {
	if s := r.sub(); s != "" {
		return r.Method + " " + r.Path + "?" + s
	}
	return r.Method + " " + r.Path
}

type fakeS3 struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []request
	handle func(w http.ResponseWriter, r request) // nil: answer 200 with no body
}

func newFake(t *testing.T, handle func(w http.ResponseWriter, r request)) *fakeS3 {
	f := &fakeS3{t: t, handle: handle}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		body, _ := io.ReadAll(hr.Body)
		r := request{Method: hr.Method, Path: hr.URL.Path, Query: hr.URL.Query(), Header: hr.Header.Clone(), Body: body}
		f.mu.Lock()
		f.reqs = append(f.reqs, r)
		f.mu.Unlock()
		if f.handle != nil {
			f.handle(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeS3) provider() abi.ProviderConfig {
	return abi.ProviderConfig{
		Name: "fake", Endpoint: f.srv.URL, Region: "us-east-1", PathStyle: true,
		Credentials: abi.Credentials{AccessKeyID: "AKIDFAKE", SecretAccessKey: "fake-secret"},
	}
}

// requests returns what was received so far and forgets it.
func (f *fakeS3) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.reqs
	f.reqs = nil
	return out
}

func ops(reqs []request) []string {
	out := make([]string, 0, len(reqs))
	for _, r := range reqs {
		out = append(out, r.op())
	}
	return out
}

func writeXML(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+body)
}

func writeS3Error(w http.ResponseWriter, status int, code, msg string) {
	var esc strings.Builder
	_ = xml.EscapeText(&esc, []byte(msg))
	writeXML(w, status, fmt.Sprintf(`<Error><Code>%s</Code><Message>%s</Message><RequestId>4442587FB7D0A2F9</RequestId><HostId>fake</HostId></Error>`, code, esc.String()))
}

// assertSigned checks the request carries a SigV4 signature and a
// Content-MD5 that matches its body.
func assertSigned(t *testing.T, r request) {
	t.Helper()
	assert.True(t, strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDFAKE/"), "SigV4 signed: %q", r.Header.Get("Authorization"))
	assert.NotContains(t, r.Header.Get("Authorization"), "fake-secret")
	if len(r.Body) > 0 {
		sum := md5.Sum(r.Body)
		assert.Equal(t, base64.StdEncoding.EncodeToString(sum[:]), r.Header.Get("Content-MD5"), "Content-MD5 of %s", r.op())
		assert.Contains(t, r.Header.Get("Authorization"), "content-md5", "Content-MD5 is signed")
	}
}

// headOK answers HeadBucket with 200 and everything else with handle.
func headOK(handle func(w http.ResponseWriter, r request)) func(w http.ResponseWriter, r request) {
	return func(w http.ResponseWriter, r request) {
		if r.Method == http.MethodHead {
			w.WriteHeader(http.StatusOK)
			return
		}
		handle(w, r)
	}
}

// allCaps are every bucket capability: each sub-resource's and its extras.
var allCaps = abi.BucketCapabilities()

func testDriver(caps ...string) *Driver {
	if caps == nil {
		caps = allCaps
	}
	return New(nil, Options{Name: "test", Version: "0.0.1", Capabilities: caps})
}

func TestPublicAccessBlockWire(t *testing.T) {
	var getStatus int
	f := newFake(t, headOK(func(w http.ResponseWriter, r request) {
		switch {
		case r.Method == http.MethodGet && r.sub() == "publicAccessBlock" && getStatus == http.StatusOK:
			writeXML(w, 200, `<PublicAccessBlockConfiguration xmlns="`+s3NS+`">
   <BlockPublicAcls>true</BlockPublicAcls>
   <IgnorePublicAcls>false</IgnorePublicAcls>
   <BlockPublicPolicy>true</BlockPublicPolicy>
   <RestrictPublicBuckets>false</RestrictPublicBuckets>
</PublicAccessBlockConfiguration>`)
		case r.Method == http.MethodGet && r.sub() == "publicAccessBlock":
			writeS3Error(w, 404, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	d, p, ctx := testDriver(), f.provider(), t.Context()

	t.Run("put", func(t *testing.T) {
		want := abi.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: true}
		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", Config: abi.BucketConfig{PublicAccessBlock: &want}}))
		reqs := f.requests()
		require.Equal(t, []string{"PUT /bkt?publicAccessBlock"}, ops(reqs))
		r := reqs[0]
		assertSigned(t, r)
		var got struct {
			XMLName               xml.Name
			BlockPublicAcls       *bool
			IgnorePublicAcls      *bool
			BlockPublicPolicy     *bool
			RestrictPublicBuckets *bool
		}
		require.NoError(t, xml.Unmarshal(r.Body, &got), string(r.Body)) //nolint:musttag // field names are the XML element names
		assert.Equal(t, xml.Name{Space: s3NS, Local: "PublicAccessBlockConfiguration"}, got.XMLName)
		// All four are sent, false ones too: an absent flag is not "false".
		require.NotNil(t, got.BlockPublicAcls)
		require.NotNil(t, got.IgnorePublicAcls)
		require.NotNil(t, got.BlockPublicPolicy)
		require.NotNil(t, got.RestrictPublicBuckets)
		assert.Equal(t, want, abi.PublicAccessBlock{
			BlockPublicAcls: *got.BlockPublicAcls, IgnorePublicAcls: *got.IgnorePublicAcls,
			BlockPublicPolicy: *got.BlockPublicPolicy, RestrictPublicBuckets: *got.RestrictPublicBuckets,
		})
	})

	t.Run("all false deletes", func(t *testing.T) {
		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", Config: abi.BucketConfig{PublicAccessBlock: &abi.PublicAccessBlock{}}}))
		reqs := f.requests()
		require.Equal(t, []string{"DELETE /bkt?publicAccessBlock"}, ops(reqs))
		assertSigned(t, reqs[0])
	})

	t.Run("get", func(t *testing.T) {
		getStatus = http.StatusOK
		obs, err := d.ObserveBucket(ctx, p, abi.BucketArgs{Name: "bkt", Observe: []string{abi.SubPublicAccessBlock}})
		require.NoError(t, err)
		assert.Equal(t, abi.BucketObservation{Exists: true, Config: abi.BucketConfig{
			PublicAccessBlock: &abi.PublicAccessBlock{BlockPublicAcls: true, BlockPublicPolicy: true},
		}}, obs)
		assert.Equal(t, []string{"HEAD /bkt", "GET /bkt?publicAccessBlock"}, ops(f.requests()))
	})

	t.Run("get none", func(t *testing.T) {
		getStatus = http.StatusNotFound
		obs, err := d.ObserveBucket(ctx, p, abi.BucketArgs{Name: "bkt", Observe: []string{abi.SubPublicAccessBlock}})
		require.NoError(t, err)
		assert.Equal(t, &abi.PublicAccessBlock{}, obs.Config.PublicAccessBlock, "NoSuchPublicAccessBlockConfiguration reads as all false")
		assert.Empty(t, obs.Unsupported)
		f.requests()
	})
}

func TestEncryptionWire(t *testing.T) {
	const key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	var getConfigured bool
	f := newFake(t, headOK(func(w http.ResponseWriter, r request) {
		switch {
		case r.Method == http.MethodGet && r.sub() == "encryption" && getConfigured:
			writeXML(w, 200, `<ServerSideEncryptionConfiguration xmlns="`+s3NS+`">
  <Rule>
    <ApplyServerSideEncryptionByDefault>
      <SSEAlgorithm>aws:kms</SSEAlgorithm>
      <KMSMasterKeyID>`+key+`</KMSMasterKeyID>
    </ApplyServerSideEncryptionByDefault>
    <BucketKeyEnabled>true</BucketKeyEnabled>
  </Rule>
</ServerSideEncryptionConfiguration>`)
		case r.Method == http.MethodGet && r.sub() == "encryption":
			writeS3Error(w, 404, "ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found")
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	d, p, ctx := testDriver(), f.provider(), t.Context()
	want := abi.Encryption{Algorithm: "aws:kms", KMSKeyID: key, BucketKeyEnabled: true}

	t.Run("put aws:kms", func(t *testing.T) {
		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", Config: abi.BucketConfig{Encryption: &want}}))
		reqs := f.requests()
		require.Equal(t, []string{"PUT /bkt?encryption"}, ops(reqs))
		r := reqs[0]
		assertSigned(t, r)
		var got struct {
			XMLName xml.Name
			Rules   []struct {
				Default struct {
					SSEAlgorithm   string
					KMSMasterKeyID string
				} `xml:"ApplyServerSideEncryptionByDefault"`
				BucketKeyEnabled *bool
			} `xml:"Rule"`
		}
		require.NoError(t, xml.Unmarshal(r.Body, &got), string(r.Body)) //nolint:musttag // field names are the XML element names
		assert.Equal(t, xml.Name{Space: s3NS, Local: "ServerSideEncryptionConfiguration"}, got.XMLName)
		require.Len(t, got.Rules, 1)
		assert.Equal(t, "aws:kms", got.Rules[0].Default.SSEAlgorithm)
		assert.Equal(t, key, got.Rules[0].Default.KMSMasterKeyID)
		require.NotNil(t, got.Rules[0].BucketKeyEnabled)
		assert.True(t, *got.Rules[0].BucketKeyEnabled)
	})

	t.Run("put AES256", func(t *testing.T) {
		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", Config: abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "AES256"}}}))
		reqs := f.requests()
		require.Len(t, reqs, 1)
		body := string(reqs[0].Body)
		assert.Contains(t, body, "<SSEAlgorithm>AES256</SSEAlgorithm>")
		assert.NotContains(t, body, "KMSMasterKeyID")
		assert.NotContains(t, body, "BucketKeyEnabled")
	})

	t.Run("none deletes", func(t *testing.T) {
		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", Config: abi.BucketConfig{Encryption: &abi.Encryption{}}}))
		assert.Equal(t, []string{"DELETE /bkt?encryption"}, ops(f.requests()))
	})

	t.Run("get aws:kms", func(t *testing.T) {
		getConfigured = true
		obs, err := d.ObserveBucket(ctx, p, abi.BucketArgs{Name: "bkt", Observe: []string{abi.SubEncryption}})
		require.NoError(t, err)
		assert.Equal(t, &want, obs.Config.Encryption)
		assert.Equal(t, []string{"HEAD /bkt", "GET /bkt?encryption"}, ops(f.requests()))
	})

	t.Run("get none", func(t *testing.T) {
		getConfigured = false
		obs, err := d.ObserveBucket(ctx, p, abi.BucketArgs{Name: "bkt", Observe: []string{abi.SubEncryption}})
		require.NoError(t, err)
		assert.Equal(t, &abi.Encryption{}, obs.Config.Encryption)
		f.requests()
	})

	t.Run("aws:kms needs sseKms", func(t *testing.T) {
		noKMS := testDriver(abi.SubEncryption)
		err := noKMS.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", Config: abi.BucketConfig{Encryption: &want}})
		assert.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err), "%v", err)
		assert.Empty(t, f.requests(), "refused without a request")
	})
}

// lifecycleXML is the subset of a lifecycle rule the wire tests look at.
type lifecycleXML struct {
	XMLName xml.Name
	Rules   []struct {
		ID     string
		Status string
		Filter *struct {
			Prefix *string
			Tag    *struct{ Key, Value string }
			And    *struct {
				Prefix *string
				Tags   []struct{ Key, Value string } `xml:"Tag"`
			}
		}
		Expiration *struct {
			Days *int32
			Date *string
		}
		Transitions []struct {
			Days         *int32
			StorageClass string
		} `xml:"Transition"`
	} `xml:"Rule"`
}

func TestLifecycleFilterWire(t *testing.T) {
	f := newFake(t, nil)
	d, p, ctx := testDriver(), f.provider(), t.Context()
	rules := []abi.LifecycleRule{
		{ID: "prefix", Status: "Enabled", Prefix: "logs/", Expiration: &abi.LifecycleExpiration{Days: 30}},
		{ID: "tag", Status: "Enabled", Tags: map[string]string{"class": "tmp"}, Expiration: &abi.LifecycleExpiration{Days: 1}},
		{ID: "both", Status: "Disabled", Prefix: "x/", Tags: map[string]string{"k": "v"}, Expiration: &abi.LifecycleExpiration{Days: 2}},
		{ID: "tags", Status: "Enabled", Tags: map[string]string{"b": "2", "a": "1"}, Expiration: &abi.LifecycleExpiration{Days: 3}},
		{ID: "all", Status: "Enabled", Expiration: &abi.LifecycleExpiration{Date: "2031-01-01"},
			Transitions: []abi.LifecycleTransition{{Days: 30, StorageClass: "GLACIER"}}},
	}
	require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", Config: abi.BucketConfig{Lifecycle: &abi.Lifecycle{Rules: rules}}}))
	reqs := f.requests()
	require.Equal(t, []string{"PUT /bkt?lifecycle"}, ops(reqs))
	assertSigned(t, reqs[0])
	var got lifecycleXML
	require.NoError(t, xml.Unmarshal(reqs[0].Body, &got), string(reqs[0].Body)) //nolint:musttag // field names are the XML element names
	assert.Equal(t, "LifecycleConfiguration", got.XMLName.Local)
	require.Len(t, got.Rules, 5)

	r := got.Rules[0]
	assert.Equal(t, "prefix", r.ID)
	require.NotNil(t, r.Filter)
	assert.Equal(t, "logs/", *r.Filter.Prefix, "a prefix alone is Filter{Prefix}")
	assert.Nil(t, r.Filter.Tag)
	assert.Nil(t, r.Filter.And)

	r = got.Rules[1]
	require.NotNil(t, r.Filter.Tag, "one tag alone is Filter{Tag}")
	assert.Equal(t, struct{ Key, Value string }{"class", "tmp"}, *r.Filter.Tag)
	assert.Nil(t, r.Filter.Prefix)
	assert.Nil(t, r.Filter.And)

	r = got.Rules[2]
	require.NotNil(t, r.Filter.And, "prefix and tags is Filter{And}")
	assert.Equal(t, "x/", *r.Filter.And.Prefix)
	assert.Equal(t, []struct{ Key, Value string }{{"k", "v"}}, r.Filter.And.Tags)
	assert.Equal(t, "Disabled", r.Status)

	r = got.Rules[3]
	require.NotNil(t, r.Filter.And, "two tags are Filter{And}")
	assert.Nil(t, r.Filter.And.Prefix)
	assert.Equal(t, []struct{ Key, Value string }{{"a", "1"}, {"b", "2"}}, r.Filter.And.Tags, "tags sorted by key")

	r = got.Rules[4]
	require.NotNil(t, r.Filter.Prefix, "no prefix and no tags is Filter{Prefix: \"\"}")
	assert.Empty(t, *r.Filter.Prefix)
	require.NotNil(t, r.Expiration.Date)
	assert.True(t, strings.HasPrefix(*r.Expiration.Date, "2031-01-01T00:00:00"), *r.Expiration.Date)
	assert.Nil(t, r.Expiration.Days)
	require.Len(t, r.Transitions, 1)
	assert.Equal(t, "GLACIER", r.Transitions[0].StorageClass)

	t.Run("no rules deletes", func(t *testing.T) {
		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", Config: abi.BucketConfig{Lifecycle: &abi.Lifecycle{}}}))
		assert.Equal(t, []string{"DELETE /bkt?lifecycle"}, ops(f.requests()))
	})
}

func TestLifecycleRead(t *testing.T) {
	f := newFake(t, headOK(func(w http.ResponseWriter, _ request) {
		writeXML(w, 200, `<LifecycleConfiguration xmlns="`+s3NS+`">
  <Rule><ID>legacy</ID><Prefix>old/</Prefix><Status>Enabled</Status><Expiration><Days>10</Days></Expiration></Rule>
  <Rule><ID>prefix</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status>
    <Expiration><Date>2031-01-01T00:00:00.000Z</Date></Expiration>
    <Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>
  <Rule><ID>tag</ID><Filter><Tag><Key>class</Key><Value>tmp</Value></Tag></Filter><Status>Disabled</Status>
    <NoncurrentVersionExpiration><NoncurrentDays>5</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>
  <Rule><ID>and</ID><Filter><And><Prefix>x/</Prefix><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value>2</Value></Tag></And></Filter><Status>Enabled</Status>
    <Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>
  <Rule><ID>all</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>
    <AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>
</LifecycleConfiguration>`)
	}))
	obs, err := testDriver().ObserveBucket(t.Context(), f.provider(), abi.BucketArgs{Name: "bkt", Observe: []string{abi.SubLifecycle}})
	require.NoError(t, err)
	assert.Equal(t, &abi.Lifecycle{Rules: []abi.LifecycleRule{
		{ID: "legacy", Status: "Enabled", Prefix: "old/", Expiration: &abi.LifecycleExpiration{Days: 10}},
		{ID: "prefix", Status: "Enabled", Prefix: "logs/", Expiration: &abi.LifecycleExpiration{Date: "2031-01-01"},
			Transitions: []abi.LifecycleTransition{{Days: 30, StorageClass: "GLACIER"}}},
		{ID: "tag", Status: "Disabled", Tags: map[string]string{"class": "tmp"},
			NoncurrentVersionExpiration: &abi.NoncurrentVersionExpiration{NoncurrentDays: 5, NewerNoncurrentVersions: 2}},
		{ID: "and", Status: "Enabled", Prefix: "x/", Tags: map[string]string{"a": "1", "b": "2"},
			Expiration: &abi.LifecycleExpiration{ExpiredObjectDeleteMarker: true}},
		{ID: "all", Status: "Enabled", AbortIncompleteMultipartUpload: &abi.AbortIncompleteMultipartUpload{DaysAfterInitiation: 7}},
	}}, obs.Config.Lifecycle)
}

// Observed values are normalised: empty lists are nil, tags are maps, CORS
// rules keep the server's order, a policy is compacted.
func TestObserveNormalises(t *testing.T) {
	f := newFake(t, headOK(func(w http.ResponseWriter, r request) {
		switch r.sub() {
		case "cors":
			writeXML(w, 200, `<CORSConfiguration xmlns="`+s3NS+`">
  <CORSRule><ID>z</ID><AllowedMethod>GET</AllowedMethod><AllowedOrigin>https://z.example</AllowedOrigin><MaxAgeSeconds>60</MaxAgeSeconds></CORSRule>
  <CORSRule><AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedOrigin>*</AllowedOrigin><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader></CORSRule>
</CORSConfiguration>`)
		case "tagging":
			writeXML(w, 200, `<Tagging xmlns="`+s3NS+`"><TagSet><Tag><Key>b</Key><Value>2</Value></Tag><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>`)
		case "policy":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": []\n}")
		case "versioning":
			writeXML(w, 200, `<VersioningConfiguration xmlns="`+s3NS+`"/>`)
		case "object-lock":
			writeXML(w, 200, `<ObjectLockConfiguration xmlns="`+s3NS+`"><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>`)
		default:
			writeS3Error(w, 500, "InternalError", "unexpected "+r.op())
		}
	}))
	obs, err := testDriver().ObserveBucket(t.Context(), f.provider(), abi.BucketArgs{Name: "bkt",
		Observe: []string{abi.SubCORS, abi.SubTagging, abi.SubPolicy, abi.SubVersioning, abi.SubObjectLock}})
	require.NoError(t, err)
	assert.Equal(t, abi.BucketConfig{
		CORS: &abi.CORS{Rules: []abi.CORSRule{
			{ID: "z", AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"https://z.example"}, MaxAgeSeconds: 60},
			{AllowedMethods: []string{"PUT", "POST"}, AllowedOrigins: []string{"*"}, AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}},
		}},
		Tagging:    &abi.Tagging{Tags: map[string]string{"a": "1", "b": "2"}},
		Policy:     &abi.Policy{Document: `{"Version":"2012-10-17","Statement":[]}`},
		Versioning: &abi.Versioning{},
		ObjectLock: &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: "COMPLIANCE", Years: 1}},
	}, obs.Config)
}

func TestObserveAbsentAndUnsupported(t *testing.T) {
	exists := true
	f := newFake(t, func(w http.ResponseWriter, r request) {
		switch {
		case r.Method == http.MethodHead && exists:
			w.WriteHeader(http.StatusOK)
		case r.Method == http.MethodHead:
			w.WriteHeader(http.StatusNotFound)
		case r.sub() == "lifecycle":
			writeS3Error(w, 501, "NotImplemented", "A header you provided implies functionality that is not implemented.")
		case r.sub() == "cors":
			writeS3Error(w, 404, "NoSuchCORSConfiguration", "The CORS configuration does not exist")
		case r.sub() == "tagging":
			writeS3Error(w, 404, "NoSuchTagSet", "The TagSet does not exist")
		case r.sub() == "policy":
			writeS3Error(w, 404, "NoSuchBucketPolicy", "The bucket policy does not exist")
		case r.sub() == "object-lock":
			writeS3Error(w, 404, "ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket")
		case r.sub() == "versioning":
			writeS3Error(w, 403, "AccessDenied", "Access Denied")
		default:
			writeS3Error(w, 500, "InternalError", "unexpected "+r.op())
		}
	})
	// publicAccessBlock is not declared: reported without a request.
	d := testDriver(abi.SubVersioning, abi.SubLifecycle, abi.SubCORS, abi.SubTagging, abi.SubPolicy, abi.SubObjectLock)
	p, ctx := f.provider(), t.Context()

	obs, err := d.ObserveBucket(ctx, p, abi.BucketArgs{Name: "bkt", Observe: []string{
		abi.SubLifecycle, abi.SubPublicAccessBlock, abi.SubCORS, abi.SubTagging, abi.SubPolicy, abi.SubObjectLock, abi.SubCORS,
	}})
	require.NoError(t, err)
	assert.Equal(t, abi.BucketObservation{
		Exists: true,
		Config: abi.BucketConfig{CORS: &abi.CORS{}, Tagging: &abi.Tagging{}, Policy: &abi.Policy{}, ObjectLock: &abi.ObjectLock{}},
		Unsupported: map[string]string{
			abi.SubLifecycle:         "NotImplemented: A header you provided implies functionality that is not implemented.",
			abi.SubPublicAccessBlock: "the test driver does not support publicAccessBlock",
		},
	}, obs)
	assert.Equal(t, []string{"HEAD /bkt", "GET /bkt?lifecycle", "GET /bkt?cors", "GET /bkt?tagging", "GET /bkt?policy", "GET /bkt?object-lock"},
		ops(f.requests()), "each sub-resource read once, the undeclared one never")

	t.Run("other errors fail the observation", func(t *testing.T) {
		_, err := d.ObserveBucket(ctx, p, abi.BucketArgs{Name: "bkt", Observe: []string{abi.SubVersioning}})
		var ae *abi.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, abi.CodeAccessDenied, ae.Code)
		assert.True(t, strings.HasPrefix(ae.Message, "versioning: the provider refused the credentials: AccessDenied"), ae.Message)
		f.requests()
	})

	t.Run("unknown names are refused", func(t *testing.T) {
		_, err := d.ObserveBucket(ctx, p, abi.BucketArgs{Name: "bkt", Observe: []string{"website"}})
		assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(err))
		assert.Empty(t, f.requests())
	})

	t.Run("absent bucket reads nothing else", func(t *testing.T) {
		exists = false
		obs, err := d.ObserveBucket(ctx, p, abi.BucketArgs{Name: "bkt", Observe: []string{abi.SubCORS}})
		require.NoError(t, err)
		assert.Equal(t, abi.BucketObservation{Exists: false}, obs)
		assert.Equal(t, []string{"HEAD /bkt"}, ops(f.requests()))
	})
}

func TestApplyWire(t *testing.T) {
	var createCode string
	f := newFake(t, func(w http.ResponseWriter, r request) {
		if r.Method == http.MethodPut && r.sub() == "" && createCode != "" {
			writeS3Error(w, 409, createCode, "already")
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	d, p, ctx := testDriver(), f.provider(), t.Context()

	t.Run("create in us-east-1 sends no location", func(t *testing.T) {
		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", Create: true}))
		reqs := f.requests()
		require.Equal(t, []string{"PUT /bkt"}, ops(reqs))
		assert.Empty(t, reqs[0].Body)
		assert.Empty(t, reqs[0].Header.Get("X-Amz-Bucket-Object-Lock-Enabled"))
	})

	t.Run("create elsewhere with object lock", func(t *testing.T) {
		lock := &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: "GOVERNANCE", Days: 7}}
		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", Region: "eu-west-1", Create: true, ObjectLock: lock,
			Config: abi.BucketConfig{
				// Written in abi.SubResources order whatever the field order.
				Policy:     &abi.Policy{Document: `{"Version":"2012-10-17","Statement":[]}`},
				Tagging:    &abi.Tagging{Tags: map[string]string{"a": "b"}},
				CORS:       &abi.CORS{},
				Versioning: &abi.Versioning{Status: "Enabled"},
			}}))
		reqs := f.requests()
		require.Equal(t, []string{
			"PUT /bkt", "PUT /bkt?object-lock", "PUT /bkt?versioning", "DELETE /bkt?cors", "PUT /bkt?tagging", "PUT /bkt?policy",
		}, ops(reqs))
		for _, r := range reqs {
			assertSigned(t, r)
		}
		assert.Contains(t, string(reqs[0].Body), "<LocationConstraint>eu-west-1</LocationConstraint>")
		assert.Equal(t, "true", reqs[0].Header.Get("X-Amz-Bucket-Object-Lock-Enabled"))
		lockBody := string(reqs[1].Body)
		for _, s := range []string{"<ObjectLockEnabled>Enabled</ObjectLockEnabled>", "<Mode>GOVERNANCE</Mode>", "<Days>7</Days>"} {
			assert.Contains(t, lockBody, s)
		}
		assert.NotContains(t, lockBody, "<Years>")
		assert.Equal(t, `{"Version":"2012-10-17","Statement":[]}`, string(reqs[5].Body)) //nolint:testifylint // the body on the wire, byte for byte
	})

	t.Run("bucket already owned is success", func(t *testing.T) {
		createCode = "BucketAlreadyOwnedByYou"
		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", Create: true}))
		createCode = "BucketAlreadyExists"
		err := d.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", Create: true})
		assert.Equal(t, abi.CodeAlreadyExists, abi.CodeOf(err), "%v", err)
		createCode = ""
		f.requests()
	})

	t.Run("MFA delete sends the MFA header", func(t *testing.T) {
		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", MFA: "arn:aws:iam::1:mfa/root 123456",
			Config: abi.BucketConfig{Versioning: &abi.Versioning{Status: "Enabled", MFADelete: "Enabled"}}}))
		reqs := f.requests()
		require.Len(t, reqs, 1)
		assert.Equal(t, "arn:aws:iam::1:mfa/root 123456", reqs[0].Header.Get("X-Amz-Mfa"))
		assert.Contains(t, string(reqs[0].Body), "<MfaDelete>Enabled</MfaDelete>")
		assert.Contains(t, string(reqs[0].Body), "<Status>Enabled</Status>")

		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", MFA: "ignored",
			Config: abi.BucketConfig{Versioning: &abi.Versioning{Status: "Suspended"}}}))
		reqs = f.requests()
		require.Len(t, reqs, 1)
		assert.Empty(t, reqs[0].Header.Get("X-Amz-Mfa"), "no MFA header without an MFA delete change")
		assert.NotContains(t, string(reqs[0].Body), "MfaDelete")
	})

	t.Run("empty sub-resources delete", func(t *testing.T) {
		require.NoError(t, d.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", Config: abi.BucketConfig{
			Tagging: &abi.Tagging{}, Policy: &abi.Policy{}, CORS: &abi.CORS{}, Lifecycle: &abi.Lifecycle{},
		}}))
		assert.Equal(t, []string{"DELETE /bkt?lifecycle", "DELETE /bkt?cors", "DELETE /bkt?tagging", "DELETE /bkt?policy"}, ops(f.requests()))
	})
}

func TestApplyStopsAtFirstError(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r request) {
		if r.sub() == "cors" {
			writeS3Error(w, 501, "NotImplemented", "no CORS here")
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	err := testDriver().ApplyBucket(t.Context(), f.provider(), abi.BucketArgs{Name: "bkt", Config: abi.BucketConfig{
		Versioning: &abi.Versioning{Status: "Enabled"},
		CORS:       &abi.CORS{Rules: []abi.CORSRule{{AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"*"}}}},
		Tagging:    &abi.Tagging{Tags: map[string]string{"a": "b"}},
	}})
	var ae *abi.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, abi.CodeUnimplemented, ae.Code)
	assert.Equal(t, "cors: NotImplemented: no CORS here", ae.Message)
	assert.Equal(t, []string{"PUT /bkt?versioning", "PUT /bkt?cors"}, ops(f.requests()), "tagging is not attempted")
}

// versionsPage renders a ListVersionsResult.
func versionsPage(versions, markers []string, next string) string {
	var b strings.Builder
	b.WriteString(`<ListVersionsResult xmlns="` + s3NS + `"><Name>bkt</Name><Prefix></Prefix><MaxKeys>1000</MaxKeys>`)
	if next != "" {
		fmt.Fprintf(&b, `<IsTruncated>true</IsTruncated><NextKeyMarker>%s</NextKeyMarker><NextVersionIdMarker>v-%s</NextVersionIdMarker>`, next, next)
	} else {
		b.WriteString(`<IsTruncated>false</IsTruncated>`)
	}
	for _, k := range versions {
		fmt.Fprintf(&b, `<Version><Key>%s</Key><VersionId>v-%s</VersionId><IsLatest>false</IsLatest><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"x"</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Version>`, k, k)
	}
	for _, k := range markers {
		fmt.Fprintf(&b, `<DeleteMarker><Key>%s</Key><VersionId>m-%s</VersionId><IsLatest>true</IsLatest><LastModified>2026-01-01T00:00:00.000Z</LastModified></DeleteMarker>`, k, k)
	}
	b.WriteString(`</ListVersionsResult>`)
	return b.String()
}

type deleteXML struct {
	Objects []struct {
		Key       string
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
	Quiet bool
}

func TestForceDeleteWire(t *testing.T) {
	keys := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%04d", prefix, i)
		}
		return out
	}
	// Page 1 holds 1001 entries, more than one DeleteObjects may name.
	page1 := versionsPage(keys("a", 600), keys("b", 401), "b0400")
	page2 := versionsPage([]string{"c1", "c2"}, nil, "")
	var deleteErr bool
	f := newFake(t, func(w http.ResponseWriter, r request) {
		switch {
		case r.Query.Has("versions") && r.Query.Get("key-marker") == "":
			writeXML(w, 200, page1)
		case r.Query.Has("versions"):
			writeXML(w, 200, page2)
		case r.sub() == "delete":
			if deleteErr {
				writeXML(w, 200, `<DeleteResult xmlns="`+s3NS+`"><Error><Key>a0001</Key><VersionId>v-a0001</VersionId><Code>AccessDenied</Code><Message>Access Denied because object protected by object lock.</Message></Error></DeleteResult>`)
				return
			}
			writeXML(w, 200, `<DeleteResult xmlns="`+s3NS+`"></DeleteResult>`)
		case r.sub() == "uploads":
			writeXML(w, 200, `<ListMultipartUploadsResult xmlns="`+s3NS+`"><Bucket>bkt</Bucket><IsTruncated>false</IsTruncated>
<Upload><Key>big</Key><UploadId>up-1</UploadId><Initiated>2026-01-01T00:00:00.000Z</Initiated></Upload></ListMultipartUploadsResult>`)
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeS3Error(w, 500, "InternalError", "unexpected "+r.op())
		}
	})
	d, p, ctx := testDriver(), f.provider(), t.Context()
	require.NoError(t, d.DeleteBucket(ctx, p, abi.BucketArgs{Name: "bkt", Force: true}))
	reqs := f.requests()
	require.Equal(t, []string{
		"GET /bkt?versions", "POST /bkt?delete", "POST /bkt?delete",
		"GET /bkt?key-marker&version-id-marker&versions", "POST /bkt?delete",
		"GET /bkt?uploads", "DELETE /bkt/big?uploadId", "DELETE /bkt",
	}, ops(reqs))
	assert.Equal(t, "b0400", reqs[3].Query.Get("key-marker"))
	assert.Equal(t, "v-b0400", reqs[3].Query.Get("version-id-marker"))
	assert.Equal(t, "up-1", reqs[6].Query.Get("uploadId"))

	var deleted []string
	for _, i := range []int{1, 2, 4} {
		r := reqs[i]
		assertSigned(t, r)
		assert.Empty(t, r.Header.Get("X-Amz-Bypass-Governance-Retention"), "governance retention is never bypassed")
		var body deleteXML
		require.NoError(t, xml.Unmarshal(r.Body, &body)) //nolint:musttag // field names are the XML element names
		assert.True(t, body.Quiet)
		assert.LessOrEqual(t, len(body.Objects), 1000)
		for _, o := range body.Objects {
			deleted = append(deleted, o.Key+"@"+o.VersionID)
		}
	}
	var want []string
	for _, k := range keys("a", 600) {
		want = append(want, k+"@v-"+k)
	}
	for _, k := range keys("b", 401) {
		want = append(want, k+"@m-"+k)
	}
	want = append(want, "c1@v-c1", "c2@v-c2")
	assert.Equal(t, want, deleted, "every version and delete marker, each once")

	t.Run("a key that cannot be deleted fails the delete", func(t *testing.T) {
		deleteErr = true
		err := d.DeleteBucket(ctx, p, abi.BucketArgs{Name: "bkt", Force: true})
		var ae *abi.Error
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, abi.CodeAccessDenied, ae.Code)
		assert.Contains(t, ae.Message, `"a0001"`)
		assert.NotContains(t, ops(f.requests()), "DELETE /bkt", "the bucket is not deleted")
	})
}

func TestDeleteRefusesNonEmpty(t *testing.T) {
	var versionsUnsupported bool
	var content string
	f := newFake(t, func(w http.ResponseWriter, r request) {
		switch {
		case r.sub() == "max-keys&versions" && versionsUnsupported:
			writeS3Error(w, 501, "NotImplemented", "no versions")
		case r.sub() == "max-keys&versions":
			writeXML(w, 200, content)
		case r.sub() == "list-type&max-keys":
			writeXML(w, 200, `<ListBucketResult xmlns="`+s3NS+`"><Name>bkt</Name><KeyCount>1</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated>
<Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>`)
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeS3Error(w, 500, "InternalError", "unexpected "+r.op())
		}
	})
	d, p, ctx := testDriver(), f.provider(), t.Context()
	for _, tc := range []struct {
		name, page string
	}{
		{"an object version", versionsPage([]string{"k"}, nil, "")},
		{"only a delete marker", versionsPage(nil, []string{"k"}, "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			content = tc.page
			err := d.DeleteBucket(ctx, p, abi.BucketArgs{Name: "bkt"})
			var ae *abi.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, abi.CodeConflict, ae.Code)
			assert.Equal(t, "BucketNotEmpty", ae.ProviderCode)
			reqs := f.requests()
			assert.Equal(t, []string{"GET /bkt?max-keys&versions"}, ops(reqs), "the bucket itself is never asked to go")
			assert.Equal(t, "1", reqs[0].Query.Get("max-keys"))
		})
	}
	t.Run("empty", func(t *testing.T) {
		content = versionsPage(nil, nil, "")
		require.NoError(t, d.DeleteBucket(ctx, p, abi.BucketArgs{Name: "bkt"}))
		assert.Equal(t, []string{"GET /bkt?max-keys&versions", "DELETE /bkt"}, ops(f.requests()))
	})
	t.Run("falls back to ListObjectsV2 without versions", func(t *testing.T) {
		versionsUnsupported = true
		err := d.DeleteBucket(ctx, p, abi.BucketArgs{Name: "bkt"})
		assert.Equal(t, abi.CodeConflict, abi.CodeOf(err), "%v", err)
		assert.Equal(t, []string{"GET /bkt?max-keys&versions", "GET /bkt?list-type&max-keys"}, ops(f.requests()))
	})
}

func TestCheckProviderWire(t *testing.T) {
	status := http.StatusOK
	f := newFake(t, func(w http.ResponseWriter, _ request) {
		switch status {
		case http.StatusOK:
			writeXML(w, 200, `<ListAllMyBucketsResult xmlns="`+s3NS+`"><Owner><ID>o</ID></Owner><Buckets></Buckets></ListAllMyBucketsResult>`)
		case http.StatusForbidden:
			writeS3Error(w, 403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
		default:
			writeS3Error(w, status, "InternalError", "We encountered an internal error. Please try again.")
		}
	})
	p, ctx := f.provider(), t.Context()

	require.NoError(t, testDriver().CheckProvider(ctx, p))
	reqs := f.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "GET", reqs[0].Method)
	assert.Equal(t, "/", reqs[0].Path)
	assert.Equal(t, "1", reqs[0].Query.Get("max-buckets"))
	assertSigned(t, reqs[0])
	assert.Contains(t, reqs[0].Header.Get("Authorization"), "/us-east-1/s3/aws4_request")

	quirky := New(nil, Options{Name: "q", Quirks: Quirks{NoMaxBuckets: true}})
	require.NoError(t, quirky.CheckProvider(ctx, p))
	reqs = f.requests()
	require.Len(t, reqs, 1)
	assert.False(t, reqs[0].Query.Has("max-buckets"))

	status = http.StatusForbidden
	err := testDriver().CheckProvider(ctx, p)
	var ae *abi.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, abi.CodeAccessDenied, ae.Code)
	assert.Equal(t, "the provider refused the credentials: InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.", ae.Message)
	f.requests()

	status = http.StatusServiceUnavailable
	err = testDriver().CheckProvider(ctx, p)
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, abi.CodeInternal, ae.Code)
	assert.True(t, ae.Retryable)
	assert.Len(t, f.requests(), 1, "one attempt: the host owns retries")
}

// failTransport fails the test on any request.
type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
	return nil, errors.New("no requests expected")
}

// Arguments the driver refuses without asking the server.
func TestRefusedWithoutRequest(t *testing.T) {
	good := abi.ProviderConfig{Endpoint: "http://127.0.0.1:9", Region: "us-east-1", PathStyle: true}
	full := New(failTransport{t}, Options{Name: "full", Capabilities: allCaps})
	bare := New(failTransport{t}, Options{Name: "bare", Capabilities: []string{abi.SubVersioning, abi.SubEncryption}})
	cfg := func(c abi.BucketConfig) abi.BucketArgs { return abi.BucketArgs{Name: "bucket", Config: c} }
	tests := []struct {
		name string
		d    *Driver
		p    abi.ProviderConfig
		b    abi.BucketArgs
		want abi.Code
	}{
		{"name too short", full, good, abi.BucketArgs{Name: "ab"}, abi.CodeInvalidArgument},
		{"name with slash", full, good, abi.BucketArgs{Name: "a/b/c"}, abi.CodeInvalidArgument},
		{"name with capitals", full, good, abi.BucketArgs{Name: "Bucket"}, abi.CodeInvalidArgument},
		{"name like an IP", full, good, abi.BucketArgs{Name: "192.168.1.1"}, abi.CodeInvalidArgument},
		{"name with two dots", full, good, abi.BucketArgs{Name: "a..b"}, abi.CodeInvalidArgument},
		{"name ending in a hyphen", full, good, abi.BucketArgs{Name: "abc-"}, abi.CodeInvalidArgument},
		{"no endpoint", full, abi.ProviderConfig{}, abi.BucketArgs{Name: "bucket"}, abi.CodeInvalidArgument},
		{"endpoint without scheme", full, abi.ProviderConfig{Endpoint: "127.0.0.1:9000"}, abi.BucketArgs{Name: "bucket"}, abi.CodeInvalidArgument},
		{"endpoint with path", full, abi.ProviderConfig{Endpoint: "http://127.0.0.1:9000/s3"}, abi.BucketArgs{Name: "bucket"}, abi.CodeInvalidArgument},
		{"endpoint ftp", full, abi.ProviderConfig{Endpoint: "ftp://127.0.0.1"}, abi.BucketArgs{Name: "bucket"}, abi.CodeInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			_, err := tt.d.ObserveBucket(ctx, tt.p, tt.b)
			assert.Equal(t, tt.want, abi.CodeOf(err), "observe: %v", err)
			assert.Equal(t, tt.want, abi.CodeOf(tt.d.ApplyBucket(ctx, tt.p, tt.b)))
			assert.Equal(t, tt.want, abi.CodeOf(tt.d.DeleteBucket(ctx, tt.p, tt.b)))
		})
	}

	applyTests := []struct {
		name string
		d    *Driver
		b    abi.BucketArgs
		want abi.Code
	}{
		{"versioning off", full, cfg(abi.BucketConfig{Versioning: &abi.Versioning{}}), abi.CodeInvalidArgument},
		{"versioning bogus", full, cfg(abi.BucketConfig{Versioning: &abi.Versioning{Status: "On"}}), abi.CodeInvalidArgument},
		{"MFA delete bogus", full, cfg(abi.BucketConfig{Versioning: &abi.Versioning{Status: "Enabled", MFADelete: "yes"}}), abi.CodeInvalidArgument},
		{"MFA delete undeclared", bare, cfg(abi.BucketConfig{Versioning: &abi.Versioning{Status: "Enabled", MFADelete: "Enabled"}}), abi.CodeUnimplemented},
		{"unknown algorithm", full, cfg(abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "rot13"}}), abi.CodeInvalidArgument},
		{"KMS key with AES256", full, cfg(abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "AES256", KMSKeyID: "k"}}), abi.CodeInvalidArgument},
		{"SSE-KMS undeclared", bare, cfg(abi.BucketConfig{Encryption: &abi.Encryption{Algorithm: "aws:kms"}}), abi.CodeUnimplemented},
		{"sub-resource undeclared", bare, cfg(abi.BucketConfig{CORS: &abi.CORS{}}), abi.CodeUnimplemented},
		{"lifecycle status", full, cfg(abi.BucketConfig{Lifecycle: &abi.Lifecycle{Rules: []abi.LifecycleRule{{ID: "r", Status: "on"}}}}), abi.CodeInvalidArgument},
		{"lifecycle date", full, cfg(abi.BucketConfig{Lifecycle: &abi.Lifecycle{Rules: []abi.LifecycleRule{
			{ID: "r", Status: "Enabled", Expiration: &abi.LifecycleExpiration{Date: "01/02/2030"}}}}}), abi.CodeInvalidArgument},
		{"object lock undeclared", bare, abi.BucketArgs{Name: "bucket", Create: true, ObjectLock: &abi.ObjectLock{Enabled: true}}, abi.CodeUnimplemented},
		{"retention without lock", full, abi.BucketArgs{Name: "bucket", Create: true,
			ObjectLock: &abi.ObjectLock{DefaultRetention: &abi.ObjectLockPeriod{Mode: "GOVERNANCE", Days: 1}}}, abi.CodeInvalidArgument},
		{"retention mode", full, abi.BucketArgs{Name: "bucket", Create: true,
			ObjectLock: &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: "forever", Days: 1}}}, abi.CodeInvalidArgument},
		{"retention days and years", full, abi.BucketArgs{Name: "bucket", Create: true,
			ObjectLock: &abi.ObjectLock{Enabled: true, DefaultRetention: &abi.ObjectLockPeriod{Mode: "GOVERNANCE", Days: 1, Years: 1}}}, abi.CodeInvalidArgument},
		{"object lock off later", full, cfg(abi.BucketConfig{ObjectLock: &abi.ObjectLock{}}), abi.CodeInvalidArgument},
		// A bad value anywhere stops the whole apply before the first request.
		{"late error, nothing written", full, abi.BucketArgs{Name: "bucket", Create: true, Config: abi.BucketConfig{
			Tagging: &abi.Tagging{Tags: map[string]string{"a": "b"}}, Policy: &abi.Policy{},
			Lifecycle: &abi.Lifecycle{Rules: []abi.LifecycleRule{{ID: "r", Status: "maybe"}}},
		}}, abi.CodeInvalidArgument},
	}
	for _, tt := range applyTests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.ApplyBucket(t.Context(), good, tt.b)
			assert.Equal(t, tt.want, abi.CodeOf(err), "%v", err)
		})
	}

	t.Run("force delete undeclared", func(t *testing.T) {
		// forceDelete is always declared by New; a Driver built without it
		// (zero caps) must still refuse rather than empty the bucket.
		d := New(failTransport{t}, Options{Name: "x"})
		delete(d.caps, abi.CapForceDelete)
		err := d.DeleteBucket(t.Context(), good, abi.BucketArgs{Name: "bucket", Force: true})
		assert.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err))
	})
}

func TestDescribe(t *testing.T) {
	d := New(nil, Options{Name: "n", Version: "1.2.3", Capabilities: []string{abi.SubCORS, abi.CapForceDelete, abi.SubCORS, abi.CapBuckets}})
	info := d.Describe()
	assert.Equal(t, abi.DriverInfo{
		Name: "n", Version: "1.2.3", ABI: abi.Version,
		Capabilities: []string{abi.CapBuckets, abi.SubCORS, abi.CapForceDelete},
		Operations:   []string{abi.OpCheckProvider, abi.OpObserveBucket, abi.OpApplyBucket, abi.OpDeleteBucket},
	}, info)
	info.Capabilities[0] = "mutated"
	assert.Equal(t, abi.CapBuckets, d.Describe().Capabilities[0], "Describe returns a copy")
	assert.True(t, slices.Contains(New(nil, Options{}).Describe().Capabilities, abi.CapForceDelete))
}

func TestClientCache(t *testing.T) {
	d := New(nil, Options{Name: "c"})
	p := abi.ProviderConfig{Endpoint: "http://127.0.0.1:9000", Region: "us-east-1", PathStyle: true,
		Credentials: abi.Credentials{AccessKeyID: "ak", SecretAccessKey: "s3cr3t-value"}}
	c1, err := d.client(p)
	require.NoError(t, err)
	c2, err := d.client(p)
	require.NoError(t, err)
	assert.Same(t, c1, c2, "same provider reuses the client")

	rotated := p
	rotated.Credentials.SecretAccessKey = "s3cr3t-value-2"
	c3, err := d.client(rotated)
	require.NoError(t, err)
	assert.NotSame(t, c1, c3, "a new secret builds a new client")
	other := p
	other.PathStyle = false
	c4, err := d.client(other)
	require.NoError(t, err)
	assert.NotSame(t, c1, c4)
	assert.Equal(t, 3, d.clients.Len())

	for i := range 65 {
		q := p
		q.Credentials.AccessKeyID = fmt.Sprint("key-", i)
		_, err := d.client(q)
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, d.clients.Len(), 64, "the cache is bounded")
}

// The client must not read AWS_* variables or shared config: a bogus
// environment changes nothing.
func TestIgnoresEnvironment(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
	t.Setenv("AWS_REGION", "ap-south-1")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	f := newFake(t, func(w http.ResponseWriter, _ request) {
		writeXML(w, 200, `<ListAllMyBucketsResult xmlns="`+s3NS+`"><Buckets></Buckets></ListAllMyBucketsResult>`)
	})
	require.NoError(t, testDriver().CheckProvider(t.Context(), f.provider()))
	reqs := f.requests()
	require.Len(t, reqs, 1)
	auth := reqs[0].Header.Get("Authorization")
	assert.Contains(t, auth, "Credential=AKIDFAKE/")
	assert.Contains(t, auth, "/us-east-1/s3/")
}

// Redirects are never followed (the host would refuse the other host
// anyway); a bucket in another region is a configuration error.
func TestRedirectsAreNotFollowed(t *testing.T) {
	elsewhere := newFake(t, nil)
	f := newFake(t, func(w http.ResponseWriter, r request) {
		if r.Method == http.MethodHead {
			w.Header().Set("X-Amz-Bucket-Region", "eu-west-1")
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Location", elsewhere.srv.URL+r.Path+"?cors")
		writeS3Error(w, http.StatusTemporaryRedirect, "TemporaryRedirect", "Please re-send this request to the specified temporary endpoint.")
	})
	d, p, ctx := testDriver(), f.provider(), t.Context()

	_, err := d.ObserveBucket(ctx, p, abi.BucketArgs{Name: "bkt"})
	var ae *abi.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, abi.CodeInvalidArgument, ae.Code, ae.Message)
	assert.Equal(t, http.StatusMovedPermanently, ae.HTTPStatus)

	err = d.ApplyBucket(ctx, p, abi.BucketArgs{Name: "bkt", Config: abi.BucketConfig{CORS: &abi.CORS{}}})
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, abi.CodeInvalidArgument, ae.Code, ae.Message)
	assert.Equal(t, "TemporaryRedirect", ae.ProviderCode)
	assert.Empty(t, elsewhere.requests(), "the redirect was followed")
}
