package hosthttp

import (
	"strings"
	"testing"
)

func TestRedactUserinfo(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"http://user:secret@host:9000", "http://***@host:9000"},
		{"https://secret@host/", "https://***@host/"},
		{`Endpoint http://u:p@h answered; provider endpoint "http://u:p@h" is bad.`, `Endpoint http://***@h answered; provider endpoint "http://***@h" is bad.`},
		{"http://a@b:c@host", "http://***@host"},
		{"HTTPS://u:p@host", "HTTPS://***@host"},
		{"http://host/path@x", "http://host/path@x"},
		{"mail me at a@b.example", "mail me at a@b.example"},
	} {
		if got := RedactUserinfo(tc.in); got != tc.want {
			t.Errorf("RedactUserinfo(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCheckEndpoint(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:9000", "https://s3.us-east-1.amazonaws.com", "https://s3.us-east-1.amazonaws.com/", "http://[::1]:9000"} {
		if err := CheckEndpoint(ok); err != nil {
			t.Errorf("CheckEndpoint(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"http://user:secret@host", "http://", "ftp://host", "http://host/bucket", "http://host?x=1", "http://host#f", "http://host?", "http://not a url", "host:9000"} {
		err := CheckEndpoint(bad)
		if err == nil {
			t.Errorf("CheckEndpoint(%q) = nil, want an error", bad)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("CheckEndpoint(%q) leaks the password: %v", bad, err)
		}
	}
}
