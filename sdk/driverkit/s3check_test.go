package driverkit

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pail-dev/pail/sdk/abi"
)

func TestCheckListBuckets(t *testing.T) {
	for _, tc := range []struct {
		name, ct, body string
		ok             bool
		want           string
	}{
		{"aws", "application/xml", `<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>x</ID></Owner><Buckets/></ListAllMyBucketsResult>`, true, ""},
		{"no namespace", "", `<ListAllMyBucketsResult><Buckets></Buckets></ListAllMyBucketsResult>`, true, ""},
		{"empty", "text/plain", "", false, "an empty body"},
		{"html", "text/html; charset=utf-8", "<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>hi</title></head><body>ok</body></html>", false, "root element is <html>"},
		{"text", "text/plain", "OK", false, "not XML"},
		{"other xml", "application/xml", `<Error><Code>Nope</Code></Error>`, false, "root element is <Error>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckListBuckets(tc.ct, []byte(tc.body))
			if tc.ok {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			var ae *abi.Error
			if !errors.As(err, &ae) || ae.Code != abi.CodeInvalidArgument || ae.ProviderCode != abi.ProviderCodeNotS3 {
				t.Fatalf("got %#v, want InvalidArgument/%s", err, abi.ProviderCodeNotS3)
			}
			if !strings.Contains(ae.Message, tc.want) || !strings.Contains(ae.Message, "not an S3 API endpoint") {
				t.Fatalf("message %q lacks %q", ae.Message, tc.want)
			}
		})
	}
}

// TestCheckTransportOnlyChecksMarkedListBuckets: a check against a server
// that answers 200 to everything fails; the same request outside a check,
// and any other request, pass through.
func TestCheckTransportOnlyChecksMarkedListBuckets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><body>welcome</body></html>")
	}))
	defer srv.Close()
	c := &http.Client{Transport: CheckTransport(nil)}
	get := func(ctx context.Context, path string) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		resp, err := c.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}
	var ae *abi.Error
	if err := get(WithS3Check(t.Context()), "/?x-id=ListBuckets"); !errors.As(err, &ae) || ae.ProviderCode != abi.ProviderCodeNotS3 {
		t.Fatalf("check: got %v, want NotS3Endpoint", err)
	}
	if err := get(t.Context(), "/"); err != nil {
		t.Fatalf("outside a check: %v", err)
	}
	if err := get(WithS3Check(t.Context()), "/bucket"); err != nil {
		t.Fatalf("not ListBuckets: %v", err)
	}
}

func TestEndpointRedactsUserInfo(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:9000":        "http://127.0.0.1:9000",
		"http://user:secret@host:9000": "http://***@host:9000",
		"http://a@b:c@host/x@y":        "http://***@host/x@y",
		"http://host/p@x":              "http://host/p@x",
		"not a url":                    "not a url",
	} {
		if got := Endpoint(in); got != want {
			t.Errorf("Endpoint(%q) = %q, want %q", in, got, want)
		}
	}
}
