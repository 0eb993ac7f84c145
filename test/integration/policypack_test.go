package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

const namingPack = `package pail.naming

deny contains msg if {
	some i, s in input.policy.Statement
	not s.Sid
	msg := sprintf("statement %d needs a Sid", [i])
}
`

const relaxedNamingPack = `package pail.naming

deny contains msg if {
	false
	msg := "never"
}
`

// TestPolicyPacksFromConfigMapsReloadWithoutRestart: a compliance team's
// pack arrives as a labelled ConfigMap in the operator's namespace, takes
// effect, is changed and takes effect again, all without a restart; a
// broken pack is reported and does not stop the others.
func TestPolicyPacksFromConfigMapsReloadWithoutRestart(t *testing.T) {
	ns := namespace(t)
	ensureOperatorNamespace(t)
	opNS := operatorNamespace
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	b := readyPublicBucket(t, ns, p.Name, "packed")

	// The policy asks for a pack that is not there yet: admission lets it
	// through with a warning and the controller waits for the pack.
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::%[1]s","arn:aws:s3:::%[1]s/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, b.Spec.BucketName)
	bp := newBucketPolicy(ns, "nameless", b.Name, doc)
	bp.Spec.Packs = []string{"naming"}
	warnings := createWithWarnings(t, bp)
	assert.Contains(t, fmt.Sprint(warnings), "naming")
	key := client.ObjectKeyFromObject(bp)
	waitPolicy(t, key, pailv1.ConditionPolicyValid, metav1.ConditionFalse, pailv1.ReasonPacksUnavailable)

	// The pack arrives as a ConfigMap and takes effect without a restart.
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: opNS, Name: "naming-pack", Labels: map[string]string{"pail.dev/policy-pack": "naming"}},
		Data:       map[string]string{"naming.rego": namingPack},
	}
	require.NoError(t, suite.k8s.Create(ctx, cm))
	t.Cleanup(func() { _ = suite.k8s.Delete(context.Background(), cm) })
	assertEvent(t, opNS, "naming-pack", "PackLoaded", "naming")
	got := waitPolicy(t, key, pailv1.ConditionPolicyValid, metav1.ConditionFalse, pailv1.ReasonPolicyDenied)
	assert.Contains(t, fmt.Sprint(got.Status.Violations), "[naming] statement 0 needs a Sid")
	// From now on the webhook applies the team's pack at admission too.
	_, err := dryRunCreate(t, newBucketPolicy(ns, "nameless-2", b.Name, doc))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "[naming] statement 0 needs a Sid")

	// Relax the pack: the BucketPolicy is evaluated again and applied.
	require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(cm), cm))
	cm.Data["naming.rego"] = relaxedNamingPack
	require.NoError(t, suite.k8s.Update(ctx, cm))
	waitPolicy(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "")

	// A broken pack is reported by an event and a metric; the others still work.
	errsBefore := testutil.ToFloat64(suite.op.Metrics.PolicyPackErrors.WithLabelValues("broken"))
	bad := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: opNS, Name: "broken-pack", Labels: map[string]string{"pail.dev/policy-pack": "broken"}},
		Data:       map[string]string{"broken.rego": "package pail.broken\n\ndeny contains msg if {"},
	}
	require.NoError(t, suite.k8s.Create(ctx, bad))
	t.Cleanup(func() { _ = suite.k8s.Delete(context.Background(), bad) })
	assertEvent(t, opNS, "broken-pack", "PackBroken", "other packs keep working")
	assert.Greater(t, testutil.ToFloat64(suite.op.Metrics.PolicyPackErrors.WithLabelValues("broken")), errsBefore)
	ob := readyPublicBucket(t, ns, p.Name, "other")
	other := newBucketPolicy(ns, "other", ob.Name, goodPolicy(ob.Spec.BucketName))
	other.Spec.Packs = []string{"baseline", "security"}
	require.NoError(t, suite.k8s.Create(ctx, other))
	waitPolicy(t, client.ObjectKeyFromObject(other), pailv1.ConditionReady, metav1.ConditionTrue, "")

	// Asking for the broken pack says why it cannot be evaluated.
	asks := newBucketPolicy(ns, "asks-broken", b.Name, doc)
	asks.Spec.Packs = []string{"broken"}
	asks.Spec.BucketRef.Name = "other"
	require.NoError(t, suite.k8s.Delete(ctx, other))
	waitGone(t, &pailv1.BucketPolicy{ObjectMeta: other.ObjectMeta}, 30*time.Second)
	require.NoError(t, suite.k8s.Create(ctx, asks))
	got = waitPolicy(t, client.ObjectKeyFromObject(asks), pailv1.ConditionPolicyValid, metav1.ConditionFalse, pailv1.ReasonPacksUnavailable)
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionPolicyValid).Message, "broken (does not compile")

	require.NoError(t, suite.k8s.Delete(ctx, bad))
	require.NoError(t, suite.k8s.Delete(ctx, cm))
}
