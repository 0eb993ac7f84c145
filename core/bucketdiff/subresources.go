package bucketdiff

import (
	"reflect"

	"github.com/pail-dev/pail/sdk/abi"
)

// hostSide is what the host adds to an abi.SubResources entry: where the
// Bucket spec holds it, and how an observation is compared with it (order-
// and case-insensitively where S3 is). A test checks every entry has one.
type hostSide struct {
	spec string
	diff func(d, o abi.BucketConfig) []string
}

var host = map[string]hostSide{
	abi.SubVersioning: {"spec.versioning", func(d, o abi.BucketConfig) []string { return diffVersioning(d.Versioning, o.Versioning) }},
	abi.SubEncryption: {"spec.encryption", func(d, o abi.BucketConfig) []string { return diffEncryption(d.Encryption, o.Encryption) }},
	abi.SubPublicAccessBlock: {"spec.publicAccessBlock", func(d, o abi.BucketConfig) []string {
		return diffPAB(d.PublicAccessBlock, o.PublicAccessBlock)
	}},
	abi.SubLifecycle:  {"spec.lifecycle", func(d, o abi.BucketConfig) []string { return diffLifecycle(d.Lifecycle, o.Lifecycle) }},
	abi.SubCORS:       {"spec.cors", func(d, o abi.BucketConfig) []string { return diffCORS(d.CORS, o.CORS) }},
	abi.SubTagging:    {"spec.tags", func(d, o abi.BucketConfig) []string { return diffTags(d.Tagging, o.Tagging) }},
	abi.SubPolicy:     {"spec.policy", func(d, o abi.BucketConfig) []string { return diffPolicy(d.Policy, o.Policy) }},
	abi.SubObjectLock: {"spec.objectLock", func(d, o abi.BucketConfig) []string { return diffObjectLock(d.ObjectLock, o.ObjectLock) }},
}

// diffObjectLock compares what a write may change: the default retention.
// Diff has already reported a difference in enabled, which no write makes.
func diffObjectLock(d, o *abi.ObjectLock) []string {
	if o == nil {
		return []string{"spec.objectLock"}
	}
	if !reflect.DeepEqual(d.DefaultRetention, o.DefaultRetention) {
		return []string{"spec.objectLock.defaultRetention"}
	}
	return nil
}
