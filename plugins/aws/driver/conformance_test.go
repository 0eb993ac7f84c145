package driver

import (
	"testing"

	"github.com/pail-dev/pail/sdk/s3compat/s3compattest"
)

// TestConformance runs the driver conformance suite (sdk/drivertest), natively,
// against versitygw posix for buckets and versitygw's IAM API paired with an
// S3 gateway for users (or the endpoints named by PAIL_S3_* and PAIL_IAM_*).
func TestConformance(t *testing.T) { s3compattest.RunConformance(t, New) }
