package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

// exampleDriverPath is where `make example-driver` puts the third-party
// example driver (examples/custom-driver), built from its own module and
// stamped with its metadata section.
func exampleDriverPath() string {
	return filepath.Join(repoRoot(), "bin", "examples", "versity.wasm")
}

// TestExampleDriverInAProvider installs the third-party example driver the
// one way that works today, as versity.wasm in the operator's driver
// directory (the operator does not read plugin ConfigMaps yet), and uses it
// from a Provider against versitygw: the Provider is Ready and reports the
// driver's version, a Bucket's versioning and tags are applied, and the
// lifecycle the driver does not declare is named in Unsupported while the
// rest stays Synced.
func TestExampleDriverInAProvider(t *testing.T) {
	if _, err := os.Stat(exampleDriverPath()); err != nil {
		t.Skipf("the example driver is not built (%v); run `make example-driver`", err)
	}
	ctx := context.Background()
	vgw := suite.versity
	s3, err := vgw.Client()
	require.NoError(t, err)
	ns := namespace(t)
	sec := credentialsSecret(ns, "creds", vgw.AccessKey, vgw.SecretKey)
	require.NoError(t, suite.k8s.Create(ctx, sec))
	p := newProvider(ns, "versitygw", "versity", vgw.Endpoint, sec.Name)
	require.NoError(t, suite.k8s.Create(ctx, p))
	// The first use compiles the module (it is not preloaded): allow for it.
	got := waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionReady, metav1.ConditionTrue, 3*time.Minute)
	assert.Equal(t, "0.1.0", got.Status.DriverVersion)

	name := uniqueBucket("versity")
	b := newBucket(ns, "reports", p.Name, name, pailv1.DeletionDelete)
	b.Spec.Versioning = &pailv1.VersioningSpec{Status: "Enabled"}
	b.Spec.Tags = map[string]string{"team": "reports"}
	b.Spec.Lifecycle = &pailv1.LifecycleSpec{Rules: []pailv1.LifecycleRule{{ID: "expire", Expiration: &pailv1.LifecycleExpiration{Days: 30}}}}
	require.NoError(t, suite.k8s.Create(ctx, b))
	key := client.ObjectKeyFromObject(b)
	bk := waitBucket(t, key, pailv1.ConditionUnsupported, metav1.ConditionTrue, pailv1.ReasonUnsupported, 90*time.Second)
	assert.Contains(t, condition(bk.Status.Conditions, pailv1.ConditionUnsupported).Message, "lifecycle")
	waitBucket(t, key, pailv1.ConditionSynced, metav1.ConditionTrue, "", 60*time.Second)

	v, err := s3.GetBucketVersioning(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, "Enabled", v.Status)
	tg, err := s3.GetBucketTagging(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, marked(t, b, map[string]string{"team": "reports"}), tg.ToMap())

	require.NoError(t, suite.k8s.Delete(ctx, bk))
	waitGone(t, &pailv1.Bucket{ObjectMeta: b.ObjectMeta}, 60*time.Second)
	ok, err := s3.BucketExists(ctx, name)
	require.NoError(t, err)
	assert.False(t, ok, "deletionPolicy Delete removed the empty bucket")
}
