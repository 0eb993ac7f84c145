package driver

import (
	"fmt"
	"regexp"
	"slices"
	"unicode/utf8"

	"github.com/pail-dev/pail/sdk/abi"
)

// MinIO's tag rules, as minio-go's pkg/tags and the server apply them. They
// are narrower than AWS's, which admission checks: ASCII letters only. Each
// refusal names the tag and the rule; minio-go's own error names neither.
var minioTagChars = regexp.MustCompile(`^[a-zA-Z0-9+=._:/@ -]*$`)

const tagCharsRule = "MinIO accepts only ASCII letters, digits, spaces and + - = . _ : / @"

// checkTags returns an InvalidArgument *abi.Error (provider code
// InvalidTag) for the first tag, in key order, that MinIO would refuse.
func checkTags(m map[string]string) error {
	bad := func(format string, a ...any) error {
		return &abi.Error{Code: abi.CodeInvalidArgument, ProviderCode: "InvalidTag", Message: fmt.Sprintf(format, a...)}
	}
	if len(m) > 50 {
		return bad("%d tags; MinIO allows at most 50", len(m))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := m[k]
		switch n := utf8.RuneCountInString(k); {
		case n == 0:
			return bad("a tag key is empty; keys are 1 to 128 characters")
		case n > 128:
			return bad("tag key %q is %d characters long; MinIO allows at most 128", k, n)
		case !minioTagChars.MatchString(k):
			return bad("tag key %q has a character MinIO refuses: %s", k, tagCharsRule)
		}
		switch n := utf8.RuneCountInString(v); {
		case n > 256:
			return bad("the value of tag %q is %d characters long; MinIO allows at most 256", k, n)
		case !minioTagChars.MatchString(v):
			return bad("the value of tag %q has a character MinIO refuses: %s", k, tagCharsRule)
		}
	}
	return nil
}
