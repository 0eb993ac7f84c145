package driverkit

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pail-dev/pail/sdk/abi"
)

// TagRules are a provider's rules for tags: S3's lengths (keys 1 to 128
// characters, values up to 256) and reserved aws: prefix, and the
// characters the provider accepts. A driver checks tags with them so that a
// refusal names the tag and the rule, which providers' own errors do not.
type TagRules struct {
	// Chars matches a key or value made only of accepted characters.
	Chars *regexp.Regexp
	// CharsRule says in words what Chars accepts.
	CharsRule string
}

// S3TagRules are S3's: letters, digits, spaces and + - = . _ : / @.
var S3TagRules = TagRules{
	Chars:     regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+@-]*$`),
	CharsRule: "tags may contain only letters, digits, spaces and + - = . _ : / @",
}

// Broken names the first tag, in key order, that breaks the rules, or
// returns "" when every tag meets them.
func (r TagRules) Broken(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := m[k]
		switch n := utf8.RuneCountInString(k); {
		case n == 0:
			return "a tag key is empty; keys are 1 to 128 characters"
		case n > 128:
			return fmt.Sprintf("tag key %q is %d characters long; at most 128 are allowed", k, n)
		case !r.Chars.MatchString(k):
			return fmt.Sprintf("tag key %q breaks the rule that %s", k, r.CharsRule)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return fmt.Sprintf("tag key %q starts with aws:, which AWS reserves", k)
		}
		switch n := utf8.RuneCountInString(v); {
		case n > 256:
			return fmt.Sprintf("the value of tag %q is %d characters long; at most 256 are allowed", k, n)
		case !r.Chars.MatchString(v):
			return fmt.Sprintf("the value of tag %q breaks the rule that %s", k, r.CharsRule)
		}
	}
	return ""
}

// DeferredTagError marks a refused tag set that was reported after every
// other write of the spec went through: one bad tag never keeps a bucket
// from existing.
func DeferredTagError(err error) error {
	var ae *abi.Error
	if !errors.As(err, &ae) {
		return err
	}
	out := *ae
	out.Message += "; everything else in the spec was applied"
	return &out
}
