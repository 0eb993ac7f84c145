package s3compat

import (
	"strings"
	"testing"

	"github.com/pail-dev/pail/sdk/abi"
)

func TestExplainTagErrorNamesTheTagAndTheRule(t *testing.T) {
	server := &abi.Error{Code: abi.CodeInvalidArgument, ProviderCode: "InvalidTag", Message: "tagging: InvalidTag: The TagKey you have provided is invalid"}
	for _, tc := range []struct {
		tags map[string]string
		want []string
	}{
		{map[string]string{"ok": "1", "aws:owner": "me"}, []string{`tag key "aws:owner"`, "reserves", "The TagKey you have provided is invalid"}},
		{map[string]string{"a": "x", "b&c": "y"}, []string{`tag key "b&c"`, "letters, digits"}},
		{map[string]string{"k": strings.Repeat("v", 257)}, []string{`value of tag "k"`, "256"}},
		{map[string]string{"team": "café"}, []string{"narrower", `"team"`}},
	} {
		got := explainTagError(server, tc.tags).Message
		if !strings.HasPrefix(got, "tagging: ") {
			t.Errorf("%v: %q does not start with the sub-resource", tc.tags, got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%v: %q lacks %q", tc.tags, got, w)
			}
		}
	}
	other := &abi.Error{Code: abi.CodeInternal, Message: "tagging: HTTP 500: boom"}
	if got := explainTagError(other, map[string]string{"aws:x": ""}); got != other {
		t.Errorf("a non-InvalidTag error changed: %v", got)
	}
}
