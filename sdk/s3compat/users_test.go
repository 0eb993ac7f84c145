package s3compat

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
)

// Unit tests of the IAM side against a recording fake that answers with the
// XML IAM documents: what versitygw does not exercise (a server lacking an
// action, 5xx answers, the request shape).

const iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"

func action(r request) string {
	v, _ := url.ParseQuery(string(r.Body))
	return v.Get("Action")
}

func writeIAMError(w http.ResponseWriter, status int, code, msg string) {
	writeXML(w, status, fmt.Sprintf(`<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r1</RequestId></ErrorResponse>`, iamNS, code, msg))
}

func writeIAM(w http.ResponseWriter, act, result string) {
	writeXML(w, 200, fmt.Sprintf(`<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></%sResponse>`, act, iamNS, act, result, act, act))
}

func userDriverFor(caps ...string) *Driver {
	return New(nil, Options{Name: "test", Version: "0.0.1", Capabilities: caps, DefaultIAMEndpoint: "https://iam.example.invalid"})
}

func iamProvider(f *fakeS3) abi.ProviderConfig {
	p := f.provider()
	p.IAMEndpoint = f.srv.URL
	p.Endpoint = "http://s3.example.invalid"
	return p
}

var allUserCaps = []string{abi.CapAccessKeys, abi.CapInlinePolicy, abi.CapUserTags, abi.CapKeyLastUsed}

func TestDescribeUsers(t *testing.T) {
	info := userDriverFor(allUserCaps...).Describe()
	assert.Equal(t, []string{abi.CapBuckets, abi.CapAccessKeys, abi.CapInlinePolicy, abi.CapUserTags, abi.CapKeyLastUsed, abi.CapForceDelete}, info.Capabilities)
	assert.Equal(t, []string{abi.OpCheckProvider, abi.OpObserveBucket, abi.OpApplyBucket, abi.OpDeleteBucket,
		abi.OpObserveUser, abi.OpApplyUser, abi.OpDeleteUser, abi.OpCreateAccessKey, abi.OpUpdateAccessKey, abi.OpDeleteAccessKey}, info.Operations)
	assert.Equal(t, "https://iam.example.invalid", info.DefaultIAMEndpoint)

	// The other user capabilities mean nothing without accessKeys: a 1.0-style driver.
	info = userDriverFor(abi.CapUserTags, abi.SubCORS).Describe()
	assert.Equal(t, []string{abi.CapBuckets, abi.SubCORS, abi.CapForceDelete}, info.Capabilities)
	assert.Equal(t, []string{abi.OpCheckProvider, abi.OpObserveBucket, abi.OpApplyBucket, abi.OpDeleteBucket}, info.Operations)
	assert.Empty(t, info.DefaultIAMEndpoint)
	_, err := userDriverFor().ObserveUser(t.Context(), abi.ProviderConfig{IAMEndpoint: "http://127.0.0.1:1"}, abi.UserArgs{Name: "u"})
	assert.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err))
}

// A server without the tag actions: ObserveUser reports tags unsupported
// and still observes the rest; ApplyUser of tags is Unimplemented with a
// message that says so.
func TestUserTagsUnsupportedByServer(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r request) {
		switch a := action(r); a {
		case "ListUserTags", "TagUser", "UntagUser":
			writeIAMError(w, 400, "InvalidAction", "Could not find operation "+a+" for version 2010-05-08")
		case "GetUser", "CreateUser":
			writeIAM(w, a, `<User><UserName>u</UserName><UserId>1</UserId><Arn>arn:aws:iam::1:user/u</Arn><Path>/</Path><CreateDate>2026-01-01T00:00:00Z</CreateDate></User>`)
		case "ListAccessKeys":
			writeIAM(w, a, `<AccessKeyMetadata><member><UserName>u</UserName><AccessKeyId>AKIA1</AccessKeyId><Status>Inactive</Status><CreateDate>2026-01-02T03:04:05Z</CreateDate></member></AccessKeyMetadata><IsTruncated>false</IsTruncated>`)
		case "GetAccessKeyLastUsed":
			writeIAMError(w, 501, "NotImplemented", "not here")
		default:
			writeIAMError(w, 400, "InvalidAction", "unexpected "+a)
		}
	})
	d := userDriverFor(allUserCaps...)
	p := iamProvider(f)
	obs, err := d.ObserveUser(t.Context(), p, abi.UserArgs{Name: "u", Observe: []string{abi.UserTags, abi.UserLastUsed}})
	require.NoError(t, err)
	assert.True(t, obs.Exists)
	assert.Nil(t, obs.Tags)
	require.Len(t, obs.Keys, 1)
	assert.Equal(t, abi.AccessKeyInfo{ID: "AKIA1", Status: abi.KeyInactive, Created: mustTime(t, "2026-01-02T03:04:05Z")}, obs.Keys[0])
	assert.Equal(t, map[string]string{
		abi.UserTags:     "InvalidAction: Could not find operation ListUserTags for version 2010-05-08",
		abi.UserLastUsed: "NotImplemented: not here",
	}, obs.Unsupported)

	f.requests()
	err = d.ApplyUser(t.Context(), p, abi.UserArgs{Name: "u", Create: true, Tags: &abi.Tagging{Tags: map[string]string{"a": "b"}}})
	var ae *abi.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, abi.CodeUnimplemented, ae.Code)
	assert.Equal(t, "InvalidAction", ae.ProviderCode)
	assert.Contains(t, ae.Message, "tags: the IAM endpoint does not implement user tags")

	// Only tags: existence falls back to GetUser.
	obs, err = d.ObserveUser(t.Context(), p, abi.UserArgs{Name: "u", Observe: []string{abi.UserTags}})
	require.NoError(t, err)
	assert.True(t, obs.Exists)
	assert.Contains(t, obs.Unsupported, abi.UserTags)
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return tm
}

// A part the driver does not declare is refused before any request.
func TestUndeclaredUserPartsRefused(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r request) {
		writeIAM(w, action(r), `<User><UserName>u</UserName><UserId>1</UserId><Arn>arn:aws:iam::1:user/u</Arn><Path>/</Path><CreateDate>2026-01-01T00:00:00Z</CreateDate></User>`)
	})
	d := userDriverFor(abi.CapAccessKeys)
	p := iamProvider(f)
	err := d.ApplyUser(t.Context(), p, abi.UserArgs{Name: "u", Create: true, Tags: &abi.Tagging{}})
	assert.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err))
	err = d.ApplyUser(t.Context(), p, abi.UserArgs{Name: "u", Create: true, Policy: &abi.UserPolicyDoc{Name: "p", Document: "{}"}})
	assert.Equal(t, abi.CodeUnimplemented, abi.CodeOf(err))
	assert.Empty(t, f.requests(), "nothing is written")

	obs, err := d.ObserveUser(t.Context(), p, abi.UserArgs{Name: "u", Observe: []string{abi.UserTags, abi.UserPolicy}})
	require.NoError(t, err)
	assert.True(t, obs.Exists)
	assert.Equal(t, []string{"GetUser"}, actions(f.requests()))
	assert.Contains(t, obs.Unsupported, abi.UserTags)
	assert.Contains(t, obs.Unsupported, abi.UserPolicy)
}

func actions(reqs []request) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, action(r))
	}
	return out
}

// The request shape: signed for IAM in us-east-1 whatever the Provider's
// region, form-encoded, one request per call.
func TestIAMWire(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r request) {
		switch a := action(r); a {
		case "CreateAccessKey":
			writeIAM(w, a, `<AccessKey><UserName>u</UserName><AccessKeyId>AKIANEW</AccessKeyId><Status>Active</Status><SecretAccessKey>very-secret-value</SecretAccessKey><CreateDate>2026-01-02T03:04:05Z</CreateDate></AccessKey>`)
		case "GetUserPolicy":
			writeIAM(w, a, `<UserName>u</UserName><PolicyName>p</PolicyName><PolicyDocument>%7B%22Version%22%3A%222012-10-17%22%7D</PolicyDocument>`)
		default:
			writeIAM(w, a, "")
		}
	})
	d := userDriverFor(allUserCaps...)
	p := iamProvider(f)
	p.Region = "eu-central-1"
	key, err := d.CreateAccessKey(t.Context(), p, abi.AccessKeyArgs{User: "u"})
	require.NoError(t, err)
	assert.Equal(t, "AKIANEW", key.ID)
	assert.Equal(t, "very-secret-value", key.Secret.Reveal())
	assert.True(t, mustTime(t, "2026-01-02T03:04:05Z").Equal(key.Created), "created is IAM's CreateDate: %v", key.Created)
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", key, key, key), "very-secret-value")
	reqs := f.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, http.MethodPost, reqs[0].Method)
	assert.Contains(t, reqs[0].Header.Get("Authorization"), "Credential=AKIDFAKE/")
	assert.Contains(t, reqs[0].Header.Get("Authorization"), "/us-east-1/iam/aws4_request")
	form, _ := url.ParseQuery(string(reqs[0].Body))
	assert.Equal(t, "u", form.Get("UserName"))

	obs, err := d.ObserveUser(t.Context(), p, abi.UserArgs{Name: "u", Observe: []string{abi.UserPolicy}, Policy: &abi.UserPolicyDoc{Name: "p"}})
	require.NoError(t, err)
	assert.Equal(t, &abi.UserPolicyDoc{Name: "p", Document: `{"Version":"2012-10-17"}`}, obs.Policy, "the document is URL-decoded")
	assert.Equal(t, []string{"GetUser", "GetUserPolicy"}, actions(f.requests()))

	require.NoError(t, d.UpdateAccessKey(t.Context(), p, abi.AccessKeyArgs{User: "u", ID: "AKIANEW", Status: abi.KeyInactive}))
	form, _ = url.ParseQuery(string(f.requests()[0].Body))
	assert.Equal(t, "Inactive", form.Get("Status"))
	assert.Equal(t, "AKIANEW", form.Get("AccessKeyId"))
}

func TestIAMSigningRegion(t *testing.T) {
	assert.Equal(t, "us-east-1", iamSigningRegion("iam.amazonaws.com", ""))
	assert.Equal(t, "us-east-1", iamSigningRegion("iam.wasabisys.com", ""))
	assert.Equal(t, "cn-north-1", iamSigningRegion("iam.cn-north-1.amazonaws.com.cn", ""))
	assert.Equal(t, "us-gov-west-1", iamSigningRegion("iam.us-gov.amazonaws.com", ""))
	assert.Equal(t, "eu-west-1", iamSigningRegion("iam.example.com", "eu-west-1"))
}

func TestIAMErrorMapping(t *testing.T) {
	tests := []struct {
		status    int
		code      string
		want      abi.Code
		retryable bool
	}{
		{404, "NoSuchEntity", abi.CodeNotFound, false},
		{409, "EntityAlreadyExists", abi.CodeAlreadyExists, false},
		{409, "LimitExceeded", abi.CodeConflict, false},
		{409, "DeleteConflict", abi.CodeConflict, false},
		{403, "AccessDenied", abi.CodeAccessDenied, false},
		{403, "InvalidClientTokenId", abi.CodeAccessDenied, false},
		{403, "SignatureDoesNotMatch", abi.CodeAccessDenied, false},
		{400, "MalformedPolicyDocument", abi.CodeInvalidArgument, false},
		{400, "InvalidAction", abi.CodeUnimplemented, false},
		{500, "ServiceFailure", abi.CodeUnavailable, true},
		{503, "", abi.CodeUnavailable, true},
		{400, "Throttling", abi.CodeUnavailable, true},
		{418, "Teapot", abi.CodeInternal, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, tt.code), func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, _ request) {
				if tt.code == "" {
					w.WriteHeader(tt.status)
					return
				}
				writeIAMError(w, tt.status, tt.code, "msg")
			})
			err := userDriverFor(allUserCaps...).UpdateAccessKey(t.Context(), iamProvider(f), abi.AccessKeyArgs{User: "u", ID: "AKIA1", Status: abi.KeyActive})
			var ae *abi.Error
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.want, ae.Code, ae.Message)
			assert.Equal(t, tt.retryable, ae.Retryable)
			assert.Equal(t, tt.status, ae.HTTPStatus)
			assert.NotContains(t, ae.Message, "fake-secret")
		})
	}
	_, err := userDriverFor(allUserCaps...).CreateAccessKey(t.Context(), abi.ProviderConfig{IAMEndpoint: "http://127.0.0.1:1", Credentials: abi.Credentials{AccessKeyID: "a", SecretAccessKey: "s"}}, abi.AccessKeyArgs{User: "u"})
	assert.Equal(t, abi.CodeUnavailable, abi.CodeOf(err))
}

// Without an IAM endpoint in the Provider the driver's default is used; a
// driver with no default says what to set.
func TestIAMEndpointDefault(t *testing.T) {
	d := userDriverFor(allUserCaps...)
	c, err := d.iamClient(abi.ProviderConfig{})
	require.NoError(t, err)
	assert.Equal(t, "https://iam.example.invalid", *c.Options().BaseEndpoint)
	c2, err := d.iamClient(abi.ProviderConfig{})
	require.NoError(t, err)
	assert.Same(t, c, c2, "the IAM client is cached")

	d = New(nil, Options{Name: "x", Capabilities: []string{abi.CapAccessKeys}})
	assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(d.DeleteUser(t.Context(), abi.ProviderConfig{}, abi.UserArgs{Name: "u"})))
	assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(d.DeleteUser(t.Context(), abi.ProviderConfig{IAMEndpoint: "ftp://x"}, abi.UserArgs{Name: "u"})))
}
