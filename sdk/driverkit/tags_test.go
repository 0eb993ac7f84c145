package driverkit

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/pail-dev/pail/sdk/abi"
)

func TestS3TagRulesNameTheTagAndTheRule(t *testing.T) {
	for _, tc := range []struct {
		tags map[string]string
		want string // "" when every tag meets the rules
	}{
		{map[string]string{"team": "storage", "café": "naïve a/b:c@d=e+f-g_h.i j"}, ""},
		{nil, ""},
		{map[string]string{"": "x"}, "a tag key is empty"},
		{map[string]string{strings.Repeat("k", 129): "x"}, "129 characters long; at most 128"},
		{map[string]string{"a": "1", "b*": "x"}, `tag key "b*" breaks the rule`},
		{map[string]string{"AWS:owner": "x"}, `tag key "AWS:owner" starts with aws:`},
		{map[string]string{"k": strings.Repeat("v", 257)}, `the value of tag "k" is 257 characters long`},
		{map[string]string{"k": "a|b"}, `the value of tag "k" breaks the rule that tags may contain only`},
		{map[string]string{"z*": "x", "a*": "x"}, `tag key "a*"`}, // first in key order
	} {
		got := S3TagRules.Broken(tc.tags)
		if tc.want == "" {
			assert.Empty(t, got, "%v", tc.tags)
			continue
		}
		assert.Contains(t, got, tc.want, "%v", tc.tags)
	}
}

func TestDeferredTagError(t *testing.T) {
	err := DeferredTagError(&abi.Error{Code: abi.CodeInvalidArgument, ProviderCode: "InvalidTag", Message: "tagging: bad"})
	assert.Equal(t, abi.CodeInvalidArgument, abi.CodeOf(err))
	assert.Equal(t, "tagging: bad; everything else in the spec was applied", abi.MessageOf(err))
	assert.NoError(t, DeferredTagError(nil))
}
