package hosthttp

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOriginOf(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "http://h", want: "http://h:80"},
		{in: "https://h", want: "https://h:443"},
		{in: "http://h:80", want: "http://h:80"},
		{in: "http://h:", want: "http://h:80"},
		{in: "https://H.Example.COM:9443/p?q#f", want: "https://h.example.com:9443"},
		{in: "HTTPS://h", want: "https://h:443"},
		{in: "http://user:pw@h:1", want: "http://h:1"},
		{in: "http://[::1]", want: "http://[::1]:80"},
		{in: "http://[::1]:9000", want: "http://[::1]:9000"},
		{in: "http://127.0.0.1:9000/", want: "http://127.0.0.1:9000"},
		{in: "ftp://h", wantErr: `scheme "ftp"`},
		{in: "h:9000", wantErr: "scheme"},
		{in: "", wantErr: `scheme ""`},
		{in: "http://", wantErr: "no host"},
		{in: "http:///p", wantErr: "no host"},
		{in: "http:h", wantErr: "no host"},
		{in: "http://h:port", wantErr: "invalid port"},
		{in: "http://[::1", wantErr: "missing ']'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := originOf(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

var originShape = regexp.MustCompile(`^https?://.*:[0-9]+$`)

func FuzzOriginOf(f *testing.F) {
	for _, s := range []string{
		"http://h", "https://H:443/x", "http://[::1]:9000", "http://[fe80::1%25en0]", "ftp://h", "",
		"http://", "http:h", "//h", "http://h:99999", "http://a@b", "http://h:/", "http://%41:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		key, err := originOf(raw)
		if err != nil {
			if key != "" {
				t.Fatalf("error %v with key %q", err, key)
			}
			return
		}
		if !originShape.MatchString(key) {
			t.Fatalf("originOf(%q) = %q: not scheme://host:port", raw, key)
		}
		_, hostPort, _ := strings.Cut(key, "://")
		if strings.ContainsAny(hostPort, "/?#@") {
			t.Fatalf("originOf(%q) = %q: path, query, fragment or userinfo leaked into the origin", raw, key)
		}
	})
}
