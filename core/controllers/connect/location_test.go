package connect

import (
	"testing"

	"github.com/stretchr/testify/assert"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

func TestNormalizeEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:9000":               "http://127.0.0.1:9000",
		"http://127.0.0.1:9000/":              "http://127.0.0.1:9000",
		"HTTPS://S3.Example.COM":              "https://s3.example.com",
		"https://s3.example.com:443/":         "https://s3.example.com",
		"http://minio:80":                     "http://minio",
		"http://[::1]:9000":                   "http://[::1]:9000",
		" http://a:1 ":                        "http://a:1",
		"not a url/":                          "not a url",
		"https://s3.us-east-1.amazonaws.com/": "https://s3.us-east-1.amazonaws.com",
	} {
		assert.Equal(t, want, NormalizeEndpoint(in), in)
	}
}

func TestMoved(t *testing.T) {
	loc := func(e, a string) pailv1.Location { return pailv1.Location{Endpoint: e, Account: a} }
	tests := []struct {
		name     string
		rec, cur pailv1.Location
		moved    bool
	}{
		{"same", loc("http://a:1", "x"), loc("http://a:1", "x"), false},
		{"same after normalising", loc("http://A:1/", ""), loc("http://a:1", ""), false},
		{"endpoint changed", loc("http://a:1", ""), loc("http://b:1", ""), true},
		{"port changed", loc("http://a:1", "x"), loc("http://a:2", "x"), true},
		{"account changed", loc("http://a:1", "x"), loc("http://a:1", "y"), true},
		{"account now known", loc("http://a:1", ""), loc("http://a:1", "y"), false},
		{"account no longer reported", loc("http://a:1", "x"), loc("http://a:1", ""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			moved, why := Moved(tt.rec, tt.cur)
			assert.Equal(t, tt.moved, moved)
			assert.Equal(t, tt.moved, why != "", why)
		})
	}
}

func TestBackfill(t *testing.T) {
	rec := pailv1.Location{Endpoint: "http://a:1"}
	assert.Equal(t, "y", Backfill(rec, pailv1.Location{Endpoint: "http://a:1", Account: "y"}).Account)
	assert.Empty(t, Backfill(rec, pailv1.Location{Endpoint: "http://b:1", Account: "y"}).Account, "no backfill across a move")
	assert.Equal(t, "x", Backfill(pailv1.Location{Endpoint: "http://a:1", Account: "x"}, pailv1.Location{Endpoint: "http://a:1", Account: "y"}).Account)
}

func TestKey(t *testing.T) {
	assert.Equal(t, Key(pailv1.Location{Endpoint: "http://A:1/"}, "b"), Key(pailv1.Location{Endpoint: "http://a:1"}, "b"))
	assert.NotEqual(t, Key(pailv1.Location{Endpoint: "http://a:1", Account: "x"}, "b"), Key(pailv1.Location{Endpoint: "http://a:1"}, "b"))
}

func TestLocationOf(t *testing.T) {
	p := &pailv1.Provider{}
	p.Generation = 2
	p.Spec.Endpoint = "HTTP://a:1/"
	p.Status = pailv1.ProviderStatus{ObservedGeneration: 2, Account: "x"}
	assert.Equal(t, pailv1.Location{Endpoint: "http://a:1", Account: "x"}, LocationOf(p))
	p.Generation = 3 // the spec changed and has not been checked yet
	assert.Equal(t, pailv1.Location{Endpoint: "http://a:1"}, LocationOf(p), "a stale account is not the current one")
}
