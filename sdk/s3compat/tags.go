package s3compat

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/driverkit"
)

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
	if why := driverkit.S3TagRules.Broken(tags); why != "" {
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
