package driver

import (
	"os"
	"testing"

	"github.com/pail-dev/pail/sdk/drivertest"
	"github.com/pail-dev/pail/sdk/s3compat/s3compattest"
)

// TestConformance runs the driver conformance suite (sdk/drivertest), natively,
// against versitygw posix for buckets and versitygw's IAM API paired with an
// S3 gateway for users (or the endpoints named by PAIL_S3_* and PAIL_IAM_*).
func TestConformance(t *testing.T) {
	tgt := s3compattest.TargetForTest(t)
	iam := s3compattest.IAMTargetForTest(t)
	rt := s3compattest.NewCountingTransport()
	drivertest.Run(t, New(rt), drivertest.Target{
		Server:           tgt.Server,
		Provider:         tgt.Provider,
		Objects:          s3compattest.Objects{},
		Unsupported:      tgt.Unsupported,
		KMSKeyID:         os.Getenv(s3compattest.EnvKMSKeyID),
		Requests:         rt.Requests,
		Users:            &iam.Provider,
		UsersUnsupported: iam.Unsupported,
		Propagation:      iam.Propagation,
		LastUsedAtOnce:   iam.LastUsedAtOnce,
	})
}
