// Package driver is Pail's Wasabi driver: the shared S3 implementation
// (sdk/s3compat) with the capabilities Wasabi offers. Every difference from
// AWS is an option below, not code; README.md in the module explains them.
package driver

import (
	"net/http"
	"slices"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/s3compat"
)

// Name and Version identify the driver in its abi.DriverInfo.
const (
	Name    = "wasabi"
	Version = "0.1.0"
	// DefaultIAMEndpoint is Wasabi's IAM API; it signs for us-east-1
	// whatever the region of the S3 endpoint.
	DefaultIAMEndpoint = "https://iam.wasabisys.com"
)

// notDeclared are the capabilities Wasabi lacks, so never requested
// (ObserveBucket and ObserveUser report them unsupported, ApplyBucket and
// ApplyUser refuse them):
//   - publicAccessBlock: Wasabi has no PublicAccessBlock API; public access
//     is governed by bucket policies, ACLs and an account setting.
//   - sseKms: Wasabi has no key management service, so no aws:kms default
//     encryption. It encrypts all data at rest anyway.
//   - userTags: its IAM API has no TagUser, UntagUser or ListUserTags.
var notDeclared = []string{abi.SubPublicAccessBlock, abi.SubSSEKMS, abi.CapUserTags}

// Options describe Wasabi to the shared driver.
func Options() s3compat.Options {
	return s3compat.Options{
		Name:    Name,
		Version: Version,
		// Every capability but those Wasabi lacks (notDeclared). Declared,
		// with Wasabi's limits:
		//   - encryption: AES256 only (Wasabi encrypts everything at rest). If
		//     an account answers NotImplemented, it reads as unsupported.
		//   - objectLock: supported, enabled at bucket creation.
		//   - lifecycle: supported but limited: Wasabi has a single storage
		//     class, so transitions have nothing to move to; rules run once a
		//     day, and cannot be enabled on a bucket with MFA delete.
		//   - mfaDelete: Wasabi honours x-amz-mfa on PutBucketVersioning.
		//   - users (Wasabi's IAM API, https://iam.wasabisys.com): its
		//     documented subset has CreateUser, GetUser, DeleteUser, the access
		//     key calls, GetAccessKeyLastUsed and the inline user policy calls.
		Capabilities:       slices.DeleteFunc(abi.AllCapabilities(), func(c string) bool { return slices.Contains(notDeclared, c) }),
		DefaultIAMEndpoint: DefaultIAMEndpoint,
		// The driver uses the Provider's endpoint as is; Wasabi's are regional.
		EndpointHint: "set Wasabi's regional endpoint, https://s3.<region>.wasabisys.com (e.g. https://s3.eu-central-1.wasabisys.com)",
		Quirks: s3compat.Quirks{
			// Wasabi does not document ListBuckets' max-buckets parameter (added
			// to AWS in 2024). Listing every bucket is always correct, and an
			// account holds at most 1000 by default.
			NoMaxBuckets: true,
		},
	}
}

// New returns the Wasabi driver; every request goes through rt.
func New(rt http.RoundTripper) *s3compat.Driver { return s3compat.New(rt, Options()) }
