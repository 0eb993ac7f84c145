package driver

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pail-dev/pail/sdk/abi"
)

// MinIO answers NoSuchTagSet (not NoSuchBucket) for the tags of a missing
// bucket, so the existence check must never ride on that read.
func TestObserveMissingBucket(t *testing.T) {
	ep := startMinio(t, minioBinary(t))
	d := New(http.DefaultTransport)
	p := abi.ProviderConfig{Endpoint: ep, Region: "us-east-1", PathStyle: true, Credentials: abi.Credentials{AccessKeyID: rootUser, SecretAccessKey: rootPassword}}
	for _, observe := range [][]string{nil, {abi.SubVersioning}, {abi.SubTagging}, {abi.SubObjectLock, abi.SubTagging}, {abi.SubTagging, abi.SubPolicy}, {abi.SubPublicAccessBlock}} {
		obs, err := d.ObserveBucket(context.Background(), p, abi.BucketArgs{Name: "no-such-bucket-here", Observe: observe})
		require.NoError(t, err, "%v", observe)
		assert.False(t, obs.Exists, "observing %v reports the bucket missing", observe)
	}
}
