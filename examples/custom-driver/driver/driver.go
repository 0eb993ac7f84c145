// Package driver is the example driver for versitygw's posix gateway: the
// sdk's shared S3 implementation (sdk/s3compat) declaring exactly what that
// gateway stores. Everything it does not declare, the host refuses up front
// (the Bucket gets an Unsupported condition) and the driver refuses too.
package driver

import (
	"net/http"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/s3compat"
)

// Name is what a Provider's spec.driver names; Version is reported in the
// Provider's status.
const (
	Name    = "versity"
	Version = "0.1.0"
)

// Options describe versitygw v1.8.0's posix backend to the shared driver.
func Options() s3compat.Options {
	return s3compat.Options{
		Name:    Name,
		Version: Version,
		// versitygw posix answers 501 NotImplemented for default encryption,
		// public access block and lifecycle, so they are not declared. It has
		// no MFA delete, and this example manages no users (its IAM API is a
		// separate server; see sdk/s3compat for accessKeys).
		Capabilities: []string{
			abi.SubVersioning, abi.SubCORS, abi.SubTagging, abi.SubPolicy,
			abi.SubObjectLock, abi.CapForceDelete,
		},
		EndpointHint: "set the gateway's URL, e.g. http://versitygw.storage.svc:7070",
	}
}

// New returns the driver; every request goes through rt (the host's
// transport in wasm, a plain http.Transport natively). A nil rt uses
// http.DefaultTransport.
func New(rt http.RoundTripper) *s3compat.Driver { return s3compat.New(rt, Options()) }
