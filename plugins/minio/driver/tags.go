package driver

import (
	"fmt"
	"regexp"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driverkit"
)

// minioTagRules are MinIO's tag rules, as minio-go's pkg/tags and the
// server apply them. They are narrower than AWS's, which admission checks:
// ASCII letters only. Each refusal names the tag and the rule; minio-go's
// own error names neither.
var minioTagRules = driverkit.TagRules{
	Chars:     regexp.MustCompile(`^[a-zA-Z0-9+=._:/@ -]*$`),
	CharsRule: "MinIO accepts only ASCII letters, digits, spaces and + - = . _ : / @",
}

// checkTags returns an InvalidArgument *abi.Error (provider code
// InvalidTag) for the first tag, in key order, that MinIO would refuse.
func checkTags(m map[string]string) error {
	bad := func(msg string) error {
		return &abi.Error{Code: abi.CodeInvalidArgument, ProviderCode: "InvalidTag", Message: msg}
	}
	if len(m) > 50 {
		return bad(fmt.Sprintf("%d tags; MinIO allows at most 50", len(m)))
	}
	if why := minioTagRules.Broken(m); why != "" {
		return bad(why)
	}
	return nil
}
