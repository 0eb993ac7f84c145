// Package driver is Pail's Amazon S3 driver: the shared S3 implementation
// (sdk/s3compat) with every capability AWS offers. The same code runs inside
// the wasm module (with guest.Transport) and natively (with any
// http.RoundTripper).
package driver

import (
	"net/http"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/s3compat"
)

// Name and Version identify the driver in its abi.DriverInfo.
const (
	Name    = "aws"
	Version = "0.1.0"
	// DefaultIAMEndpoint is AWS's global IAM endpoint (signed for us-east-1).
	DefaultIAMEndpoint = "https://iam.amazonaws.com"
)

// Options describe Amazon S3 to the shared driver. AWS is the reference:
// it has every capability the ABI defines, and no quirks.
func Options() s3compat.Options {
	return s3compat.Options{
		Name:               Name,
		Version:            Version,
		Capabilities:       abi.AllCapabilities(),
		DefaultIAMEndpoint: DefaultIAMEndpoint,
		EndpointHint:       "set https://s3.<region>.amazonaws.com",
	}
}

// New returns the AWS driver; every request goes through rt.
func New(rt http.RoundTripper) *s3compat.Driver { return s3compat.New(rt, Options()) }
