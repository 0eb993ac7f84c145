package s3compat

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pail-dev/pail/sdk/abi"
)

// S3's tag rules, which admission checks too: a provider's InvalidTag names
// neither the tag nor the rule, so the driver finds the tag that breaks one.
var s3TagChars = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+@-]*$`)

const s3TagCharsRule = "tags may contain only letters, digits, spaces and + - = . _ : / @"

// tagRuleBroken names the first tag, in key order, that breaks S3's rules,
// or returns "" when every tag meets them.
func tagRuleBroken(m map[string]string) string {
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
		case !s3TagChars.MatchString(k):
			return fmt.Sprintf("tag key %q breaks the rule that %s", k, s3TagCharsRule)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return fmt.Sprintf("tag key %q starts with aws:, which AWS reserves", k)
		}
		switch n := utf8.RuneCountInString(v); {
		case n > 256:
			return fmt.Sprintf("the value of tag %q is %d characters long; at most 256 are allowed", k, n)
		case !s3TagChars.MatchString(v):
			return fmt.Sprintf("the value of tag %q breaks the rule that %s", k, s3TagCharsRule)
		}
	}
	return ""
}

// explainTagError rewrites the provider's InvalidTag for tags so that it
// names the tag and the rule: "tagging: tag key "x" … (InvalidTag: …)".
// When every tag meets S3's rules the provider has its own, narrower ones;
// the message then lists the keys sent.
func explainTagError(ae *abi.Error, tags map[string]string) *abi.Error {
	if ae.ProviderCode != "InvalidTag" {
		return ae
	}
	out := *ae
	server := strings.TrimPrefix(ae.Message, abi.SubTagging+": ")
	if why := tagRuleBroken(tags); why != "" {
		out.Message = fmt.Sprintf("%s: %s (%s)", abi.SubTagging, why, server)
		return &out
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	slices.Sort(keys)
	out.Message = fmt.Sprintf("%s: %s; every tag meets S3's rules, so the provider has narrower ones: check the keys %s and their values", abi.SubTagging, server, strings.Join(keys, ", "))
	return &out
}

// deferredTagError says that everything but the refused tags was written.
func deferredTagError(err error) error {
	var ae *abi.Error
	if !errors.As(err, &ae) {
		return err
	}
	out := *ae
	out.Message += "; everything else in the spec was applied"
	return &out
}
