package driverkit

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/pail-dev/pail/sdk/abi"
)

// A 200 proves neither that a server speaks S3 nor that it accepted the
// credentials: any web server answers GET / with one. What does prove both
// is the body of a signed ListBuckets: a ListAllMyBucketsResult. The SDKs
// do not check it (aws-sdk-go-v2 decodes an empty or foreign body into an
// empty list; minio-go decodes any XML root), so the check does, in the
// transport, for the requests of a connectivity check only.

type s3CheckKey struct{}

// WithS3Check marks ctx as a connectivity check: a transport from
// CheckTransport then fails its ListBuckets unless the answer is an S3
// ListAllMyBucketsResult.
func WithS3Check(ctx context.Context) context.Context {
	return context.WithValue(ctx, s3CheckKey{}, true)
}

// CheckTransport wraps base (nil is http.DefaultTransport). Requests outside
// WithS3Check pass through untouched.
func CheckTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return checkTransport{base}
}

type checkTransport struct{ base http.RoundTripper }

func (t checkTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || req.Context().Value(s3CheckKey{}) == nil || resp.StatusCode != http.StatusOK ||
		req.Method != http.MethodGet || (req.URL.Path != "" && req.URL.Path != "/") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if err := CheckListBuckets(resp.Header.Get("Content-Type"), body); err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// CheckListBuckets returns nil when body is an S3 ListBuckets answer, and
// otherwise an InvalidArgument *abi.Error with provider code
// abi.ProviderCodeNotS3 that says what came instead. It never quotes the
// body: only its media type and first element.
func CheckListBuckets(contentType string, body []byte) error {
	root, err := rootElement(body)
	if err == nil && root == "ListAllMyBucketsResult" {
		return nil
	}
	media, _, _ := mime.ParseMediaType(contentType)
	if media == "" {
		media = "no content type"
	}
	var got string
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		got = "an empty body"
	case err != nil:
		got = fmt.Sprintf("a %d-byte body (%s) that is not XML", len(body), media)
	default:
		got = fmt.Sprintf("a %d-byte body (%s) whose root element is <%s>", len(body), media, root)
	}
	return &abi.Error{
		Code:         abi.CodeInvalidArgument,
		ProviderCode: abi.ProviderCodeNotS3,
		HTTPStatus:   http.StatusOK,
		Message:      fmt.Sprintf("the endpoint answered ListBuckets with HTTP 200 and %s, where S3 sends a ListAllMyBucketsResult; it is not an S3 API endpoint", got),
	}
}

// rootElement is the local name of the first element of an XML document.
func rootElement(body []byte) (string, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false // HTML is not well-formed XML; the first element is enough
	d.AutoClose = xml.HTMLAutoClose
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", errors.New("no element")
			}
			return "", err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local, nil
		}
	}
}

// Endpoint returns raw for messages, with any user info (user:password@)
// replaced by "***": a driver's error text ends up in status and events.
func Endpoint(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	rest := raw[i+3:]
	host := rest
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		host = rest[:j]
	}
	at := strings.LastIndex(host, "@")
	if at < 0 {
		return raw
	}
	return raw[:i+3] + "***" + rest[at:]
}
