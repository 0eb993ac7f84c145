package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/bucketpolicy"
	"github.com/pail-dev/pail/core/controllers/policypack"
	"github.com/pail-dev/pail/core/logging"
	"github.com/pail-dev/pail/core/metrics"
	"github.com/pail-dev/pail/core/operator"
)

// packConfigMap is a policy-pack ConfigMap of one module; it is deleted
// when the test ends.
func packConfigMap(t *testing.T, ns, name, pack, src string, annotations map[string]string) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{policypack.Label: pack}, Annotations: annotations},
		Data:       map[string]string{pack + ".rego": src},
	}
	require.NoError(t, suite.k8s.Create(context.Background(), cm))
	t.Cleanup(func() { _ = suite.k8s.Delete(context.Background(), cm) })
	return cm
}

// safeName makes a namespace name fit in a Rego package name.
func safeName(ns string) string { return strings.ReplaceAll(ns, "-", "_") }

// A pack that would let every document through, under the built-in
// security pack's name.
const permissiveSecurity = "package pail.security\n\ndeny contains msg if {\n\tfalse\n\tmsg := \"never\"\n}\n"

// deniedBySecurity asserts that the built-in security pack still refuses
// public write at admission.
func deniedBySecurity(t *testing.T, ns, bucket, bucketName string) {
	t.Helper()
	_, err := dryRunCreate(t, newBucketPolicy(ns, "public-write", bucket, publicWritePolicy(bucketName)))
	require.Error(t, err, "the built-in security pack refuses public write")
	assert.Contains(t, err.Error(), "[security] statement 1 (\"PublicWrite\")")
	assert.Contains(t, err.Error(), "public write")
}

// TestTenantPackNamedLikeABuiltinIsIgnored: a tenant ships a permissive
// ConfigMap named like the built-in security pack, even annotated to
// replace it. It is ignored, an event on it says where packs must live,
// and the built-in still denies what it denied.
func TestTenantPackNamedLikeABuiltinIsIgnored(t *testing.T) {
	ns := namespace(t)
	p := minioProvider(t, ns, "minio")
	b := readyPublicBucket(t, ns, p.Name, "tenant")
	deniedBySecurity(t, ns, b.Name, b.Spec.BucketName)

	cm := packConfigMap(t, ns, "security", "security", permissiveSecurity, map[string]string{policypack.ReplaceAnnotation: "true"})
	assertEvent(t, ns, cm.Name, policypack.ReasonIgnored, "packs are read only from the operator's namespace "+pluginNamespace)
	// A tenant's brand-new pack is ignored the same way.
	other := packConfigMap(t, ns, "tenant-pack", "tenantpack_"+safeName(ns), "package pail.tenantpack_"+safeName(ns)+"\n\ndeny contains \"x\" if { true }\n", nil)
	assertEvent(t, ns, other.Name, policypack.ReasonIgnored, pluginNamespace)

	deniedBySecurity(t, ns, b.Name, b.Spec.BucketName)
	assert.NotContains(t, suite.op.Policy.Packs(), "tenantpack_"+safeName(ns))
	bp := newBucketPolicy(ns, "public-write", b.Name, publicWritePolicy(b.Spec.BucketName))
	bp.Spec.EnforcementMode = pailv1.EnforcementWarn // past the webhook, to the controller
	require.NoError(t, suite.k8s.Create(context.Background(), bp))
	got := waitPolicy(t, client.ObjectKeyFromObject(bp), pailv1.ConditionPolicyValid, metav1.ConditionTrue, pailv1.ReasonPolicyWarnings)
	assert.Contains(t, fmt.Sprint(got.Status.Warnings), "[security] statement 1 (\"PublicWrite\")", "the controller judges with the built-in too")
}

// TestPackCallingHTTPSendIsRefused: a pack in the operator's namespace
// that calls http.send is refused with an event and the error metric,
// naming http.send; nothing reaches the server it aims at; the other packs
// keep evaluating.
func TestPackCallingHTTPSendIsRefused(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	ns := namespace(t)
	ensureOperatorNamespace(t)
	opNS := operatorNamespace
	p := minioProvider(t, ns, "minio")
	b := readyPublicBucket(t, ns, p.Name, "exfil")

	pack := "exfil_" + safeName(ns)
	src := fmt.Sprintf(`package pail.%s

deny contains msg if {
	resp := http.send({"method": "POST", "url": %q, "body": input})
	resp.status_code == 200
	msg := "sent"
}
`, pack, srv.URL)
	errsBefore := testutil.ToFloat64(suite.op.Metrics.PolicyPackErrors.WithLabelValues(pack))
	cm := packConfigMap(t, opNS, "exfil-"+ns, pack, src, nil)
	note := assertEvent(t, opNS, cm.Name, policypack.ReasonRefused, "http.send")
	assert.Contains(t, note, "the other packs keep working")
	assert.Contains(t, note, "calls a builtin that policy packs may not use")
	assert.Greater(t, testutil.ToFloat64(suite.op.Metrics.PolicyPackErrors.WithLabelValues(pack)), errsBefore)
	assert.NotContains(t, suite.op.Policy.Packs(), pack)

	// Selecting it says why it cannot run; the other packs still judge.
	bp := newBucketPolicy(ns, "asks-exfil", b.Name, goodPolicy(b.Spec.BucketName))
	bp.Spec.Packs = []string{pack}
	require.NoError(t, suite.k8s.Create(context.Background(), bp))
	got := waitPolicy(t, client.ObjectKeyFromObject(bp), pailv1.ConditionPolicyValid, metav1.ConditionFalse, pailv1.ReasonPacksUnavailable)
	assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionPolicyValid).Message, "http.send")
	deniedBySecurity(t, ns, b.Name, b.Spec.BucketName)
	require.NoError(t, suite.k8s.Delete(context.Background(), bp))
	waitGone(t, &pailv1.BucketPolicy{ObjectMeta: bp.ObjectMeta}, 30*time.Second)
	good := newBucketPolicy(ns, "good", b.Name, goodPolicy(b.Spec.BucketName))
	require.NoError(t, suite.k8s.Create(context.Background(), good))
	waitPolicy(t, client.ObjectKeyFromObject(good), pailv1.ConditionReady, metav1.ConditionTrue, "")

	assert.Zero(t, requests.Load(), "no request reached the server the pack aimed at")
}

// TestReplacingABuiltinIsOnPurposeAndUndone: in the operator's namespace, a
// pack named like a built-in replaces it only with the annotation; deleting
// the replacing ConfigMap brings the built-in back at once.
func TestReplacingABuiltinIsOnPurposeAndUndone(t *testing.T) {
	ns := namespace(t)
	ensureOperatorNamespace(t)
	opNS := operatorNamespace
	p := minioProvider(t, ns, "minio")
	b := readyPublicBucket(t, ns, p.Name, "replaced")

	// Without the annotation: refused, the built-in stays.
	plain := packConfigMap(t, opNS, "security-plain", "security", permissiveSecurity, nil)
	assertEvent(t, opNS, plain.Name, policypack.ReasonRefused, policypack.ReplaceAnnotation)
	deniedBySecurity(t, ns, b.Name, b.Spec.BucketName)
	require.NoError(t, suite.k8s.Delete(context.Background(), plain))

	// With it, but calling a denied builtin: refused, the built-in stays.
	replace := map[string]string{policypack.ReplaceAnnotation: "true"}
	env := packConfigMap(t, opNS, "security-env", "security", "package pail.security\n\ndeny contains \"x\" if { opa.runtime().env }\n", replace)
	note := assertEvent(t, opNS, env.Name, policypack.ReasonRefused, "the built-in pack security stays in force")
	assert.Contains(t, note, "opa.runtime")
	deniedBySecurity(t, ns, b.Name, b.Spec.BucketName)
	require.NoError(t, suite.k8s.Delete(context.Background(), env))

	// With it: the replacement judges (here, stricter than the built-in).
	const strict = "package pail.security\n\ndeny contains \"the replaced security pack denies every document\" if { true }\n"
	cm := packConfigMap(t, opNS, "security-replaced", "security", strict, replace)
	assertEvent(t, opNS, cm.Name, policypack.ReasonLoaded, "replacing the built-in pack")
	waitFor(t, 20*time.Second, "the replacement judges at admission", func() (bool, string) {
		_, err := dryRunCreate(t, newBucketPolicy(ns, "good", b.Name, goodPolicy(b.Spec.BucketName)))
		return err != nil && strings.Contains(err.Error(), "[security] the replaced security pack denies every document"), fmt.Sprint(err)
	})

	// Deleted: the built-in is back, without a restart.
	require.NoError(t, suite.k8s.Delete(context.Background(), cm))
	waitFor(t, 20*time.Second, "the built-in security pack is back", func() (bool, string) {
		_, err := dryRunCreate(t, newBucketPolicy(ns, "good", b.Name, goodPolicy(b.Spec.BucketName)))
		return err == nil, fmt.Sprint(err)
	})
	deniedBySecurity(t, ns, b.Name, b.Spec.BucketName)
	assert.Empty(t, suite.op.Policy.Broken())
}

// TestStandbyWebhookJudgesLikeTheLeader: a standby replica (leader
// election on, the lease held by another replica) loads the ConfigMap
// packs too, so its webhook gives the answer the serving one gives.
func TestStandbyWebhookJudgesLikeTheLeader(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	ensureOperatorNamespace(t)
	opNS := operatorNamespace
	p := minioProvider(t, ns, "minio")
	b := readyPublicBucket(t, ns, p.Name, "standby")
	holdLease(t, opNS)
	standby := startStandby(t, opNS)

	pack := "standby_" + safeName(ns)
	packConfigMap(t, opNS, "standby-"+ns, pack, "package pail."+pack+`

deny contains msg if {
	some i, s in input.policy.Statement
	not s.Sid
	msg := sprintf("statement %d needs a Sid", [i])
}
`, nil)
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::%s/*"}]}`, b.Spec.BucketName)
	bp := newBucketPolicy(ns, "nameless", b.Name, doc)
	bp.Spec.Packs = []string{pack, "security"}
	v := &bucketpolicy.Validator{Reader: standby.Manager.GetClient(), Engine: standby.Policy}
	var standbyErr error
	waitFor(t, 30*time.Second, "the standby's webhook applies the ConfigMap pack", func() (bool, string) {
		_, standbyErr = v.ValidateCreate(ctx, bp)
		return standbyErr != nil && strings.Contains(standbyErr.Error(), "["+pack+"] statement 0 needs a Sid"), fmt.Sprint(standbyErr)
	})
	_, servingErr := dryRunCreate(t, bp)
	require.Error(t, servingErr)
	assert.Contains(t, servingErr.Error(), standbyErr.Error(), "the same answer from both")
	assert.Contains(t, standbyErr.Error(), "[security] statement 0", "the built-in packs judge on the standby too")
	select {
	case <-standby.Manager.Elected():
		t.Fatal("the standby was elected: the test proves nothing")
	default:
	}
}

// holdLease makes another replica the leader of ns's operators for the
// test's length.
func holdLease(t *testing.T, ns string) {
	t.Helper()
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pail-operator.pail.dev"},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity: new("another-replica"), LeaseDurationSeconds: new(int32(3600)),
			AcquireTime: &now, RenewTime: &now,
		},
	}
	require.NoError(t, suite.k8s.Create(context.Background(), lease))
	t.Cleanup(func() { _ = suite.k8s.Delete(context.Background(), lease) })
}

// startStandby runs a second operator that elects a leader in ns, with no
// drivers and no webhook server of its own, until the test ends.
func startStandby(t *testing.T, ns string) *operator.Operator {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	op, err := operator.New(ctx, operator.Options{
		RestConfig:              suite.kube.Config,
		PolicyDir:               filepath.Join(repoRoot(), "policies"),
		DriverDir:               t.TempDir(),
		CacheDir:                operator.DefaultCacheDir(),
		Namespace:               ns,
		LeaderElect:             true,
		LeaderElectionNamespace: ns,
		Logger:                  logging.New("standby", "debug", true, suite.logs),
	})
	if err != nil {
		cancel()
		require.NoError(t, err)
	}
	done := make(chan error, 1)
	go func() { done <- op.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Error("the standby did not stop within 30s")
		}
		// New registered the standby's state collector in place of the
		// suite's; give the suite's back.
		assert.NoError(t, metrics.RegisterState(nil, metrics.NewStateCollector(suite.op.Manager.GetClient())))
	})
	return op
}
