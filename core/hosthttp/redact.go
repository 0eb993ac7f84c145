package hosthttp

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// userinfo matches the user info of every URL in a text: from "scheme://"
// up to the last "@" before the host ends. Quotes and spaces end it too, so
// a URL printed with %q or inside a sentence is found.
var userinfo = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://)[^/?#\s"'<>]*@`)

// RedactUserinfo replaces the user info of every URL in s with "***", so an
// endpoint written as http://user:password@host (admission refuses it now,
// but older objects may hold one) never reaches status, events or logs.
func RedactUserinfo(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return userinfo.ReplaceAllString(s, "${1}***@")
}

// CheckEndpoint applies the rules admission applies to a Provider endpoint,
// for objects stored before those rules: an http or https URL with a host,
// and no user info, path, query or fragment. The error never repeats the
// user info.
func CheckEndpoint(raw string) error {
	shown := RedactUserinfo(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s is not a URL", shown)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%s is not an http:// or https:// URL", shown)
	case u.User != nil:
		return errors.New(shown + " carries user info (user:password@); put the access key pair in the credentials Secret instead")
	case u.Hostname() == "":
		return fmt.Errorf("%s has no host", shown)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "", u.ForceQuery:
		return fmt.Errorf("%s has a path, query or fragment; give only scheme, host and port", shown)
	}
	return nil
}
