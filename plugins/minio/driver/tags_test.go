package driver

import (
	"strings"
	"testing"

	"github.com/pail-dev/pail/sdk/abi"
)

func TestCheckTagsNamesTheTagAndTheRule(t *testing.T) {
	for _, tc := range []struct {
		tags map[string]string
		want []string
	}{
		{map[string]string{"team": "storage", "path": "a/b:c@d=e+f-g_h.i j"}, nil},
		{map[string]string{"team": "café"}, []string{`value of tag "team"`, "ASCII letters"}},
		{map[string]string{"ok": "1", "naïve": "x"}, []string{`tag key "naïve"`, "ASCII letters"}},
		{map[string]string{strings.Repeat("k", 129): "x"}, []string{"129 characters", "at most 128"}},
		{map[string]string{"k": strings.Repeat("v", 257)}, []string{`value of tag "k"`, "at most 256"}},
		{map[string]string{"": "x"}, []string{"empty"}},
	} {
		err := checkTags(tc.tags)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%v: got %v, want nil", tc.tags, err)
			}
			continue
		}
		if abi.CodeOf(err) != abi.CodeInvalidArgument {
			t.Errorf("%v: got %v, want InvalidArgument", tc.tags, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(abi.MessageOf(err), w) {
				t.Errorf("%v: message %q lacks %q", tc.tags, abi.MessageOf(err), w)
			}
		}
	}
}
