package connect

import (
	"fmt"
	"net/url"
	"strings"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// NormalizeEndpoint returns the form of an endpoint URL that locations
// compare: lower-case scheme and host, the default port dropped, no
// trailing slash. A string that does not parse is returned trimmed, so two
// equal strings still compare equal.
func NormalizeEndpoint(s string) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return strings.TrimRight(s, "/")
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
}

// LocationOf is where the Provider points now. The account counts only
// when the status describes the current spec: until a changed Provider is
// checked again, status.account names the account of its old spec.
func LocationOf(p pailv1.ProviderObject) pailv1.Location {
	loc := pailv1.Location{Endpoint: NormalizeEndpoint(p.ProviderSpec().Endpoint)}
	if st := p.ProviderStatus(); st.ObservedGeneration == p.GetGeneration() {
		loc.Account = st.Account
	}
	return loc
}

// Moved reports whether cur is somewhere other than the recorded location
// rec, and says what changed. Endpoints always count; accounts count only
// when both are known, so a driver that starts reporting its account does
// not make every existing record look moved.
func Moved(rec, cur pailv1.Location) (bool, string) {
	if NormalizeEndpoint(rec.Endpoint) != NormalizeEndpoint(cur.Endpoint) {
		return true, fmt.Sprintf("the endpoint changed from %s to %s", rec.Endpoint, cur.Endpoint)
	}
	if rec.Account != "" && cur.Account != "" && rec.Account != cur.Account {
		return true, fmt.Sprintf("the account at %s changed from %s to %s", cur.Endpoint, rec.Account, cur.Account)
	}
	return false, ""
}

// Backfill returns rec with its account filled in from cur when rec has
// none and the two are otherwise the same location.
func Backfill(rec, cur pailv1.Location) pailv1.Location {
	if moved, _ := Moved(rec, cur); !moved && rec.Account == "" {
		rec.Account = cur.Account
	}
	return rec
}

// Key is a location and a name as one index key, for finding every object,
// in any namespace, that manages the same bucket or user.
func Key(l pailv1.Location, name string) string {
	return NormalizeEndpoint(l.Endpoint) + "|" + l.Account + "|" + name
}
