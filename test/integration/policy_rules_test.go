package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

const tlsDeny = `{"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::BKT","arn:aws:s3:::BKT/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`

// TestEveryPackRuleEndToEnd sends one violating document per rule through
// the API and checks the operator reports that rule's message (deny rules
// block the apply; warn rules apply with a warning). The Rego tests cover
// each rule both ways; this proves the wiring for each.
func TestEveryPackRuleEndToEnd(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	b := newBucket(ns, "rules", p.Name, uniqueBucket("rules"), "")
	require.NoError(t, suite.k8s.Create(ctx, b))
	waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	big := strings.Repeat("x", 21*1024)
	tests := []struct {
		rule, statements, want string
		warn                   bool
		doc                    string // the whole document, when set
	}{
		{rule: "baseline: Version", doc: `{"Statement":[` + tlsDeny + `]}`, want: "Version"},
		{rule: "baseline: at least one statement", doc: `{"Version":"2012-10-17","Statement":[]}`, want: "no statements"},
		{rule: "baseline: Effect", statements: `{"Sid":"E","Effect":"Permit","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::BKT/*"}`, want: `Effect "Permit" must be exactly`, warn: false},
		{rule: "baseline: service prefix", statements: `{"Sid":"SVC","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"ec2:RunInstances","Resource":"arn:aws:s3:::BKT/*"}`, want: `unknown service prefix "ec2"`, warn: false},
		{rule: "baseline: foreign resource", statements: `{"Sid":"FOREIGN","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::someone-else/*"}`, want: `is not in bucket`, warn: false},
		{rule: "baseline: resource type", statements: `{"Sid":"TYPE","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::BKT"}`, want: `acts on objects`, warn: false},
		{rule: "baseline: unique Sids", statements: `{"Sid":"DUP","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::BKT/*"},{"Sid":"DUP","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::BKT"}`, want: `Sid "DUP" is used by statements`, warn: false},
		{rule: "baseline: size", statements: `{"Sid":"BIG","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::BKT/` + big + `"}`, want: `20`, warn: false},
		{rule: "security: public write", statements: `{"Sid":"PW","Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::BKT/*"}`, want: `public write`, warn: false},
		{rule: "security: public s3:*", statements: `{"Sid":"STAR","Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:*","Resource":["arn:aws:s3:::BKT","arn:aws:s3:::BKT/*"]}`, want: `may not be granted s3:*`, warn: false},
		{rule: "security: NotPrincipal with Allow", statements: `{"Sid":"NP","Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::BKT/*"}`, want: `NotPrincipal with Effect "Allow"`, warn: false},
		{rule: "security: public read warns", statements: `{"Sid":"PR","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::BKT/*"}`, want: `anyone on the internet`, warn: true},
		{rule: "security: TLS-only recommended", statements: `{"Sid":"RO","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::BKT/*"}`, want: `without TLS`, warn: true},
	}
	for i, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			stmts := tc.statements
			if !strings.Contains(tc.want, "TLS") && tc.doc == "" {
				stmts = tlsDeny + "," + stmts
			}
			doc := `{"Version":"2012-10-17","Statement":[` + stmts + `]}`
			if tc.doc != "" {
				doc = tc.doc
			}
			doc = strings.ReplaceAll(doc, "BKT", b.Spec.BucketName)
			bp := newBucketPolicy(ns, fmt.Sprintf("rule-%02d", i), b.Name, doc)
			require.NoError(t, suite.k8s.Create(ctx, bp))
			key := client.ObjectKeyFromObject(bp)
			if tc.warn {
				got := waitPolicy(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "")
				assert.Equal(t, pailv1.ReasonPolicyWarnings, condition(got.Status.Conditions, pailv1.ConditionPolicyValid).Reason)
				assert.Contains(t, strings.Join(got.Status.Warnings, "\n"), tc.want)
			} else {
				got := waitPolicy(t, key, pailv1.ConditionPolicyValid, metav1.ConditionFalse, pailv1.ReasonPolicyDenied)
				assert.Contains(t, strings.Join(got.Status.Violations, "\n"), tc.want)
				assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionPolicyValid).Message, "not applied")
			}
			require.NoError(t, suite.k8s.Delete(ctx, bp))
			waitGone(t, &pailv1.BucketPolicy{ObjectMeta: bp.ObjectMeta}, 30*time.Second)
		})
	}
}

// TestPoliciesRewrittenByTheBackendAreWrittenOnce: on MinIO and on
// versitygw, ten policies each take one write and then none over three
// resyncs; a real change takes exactly one write and shows its diff.
func TestPoliciesRewrittenByTheBackendAreWrittenOnce(t *testing.T) {
	for _, backend := range []struct{ driver, endpoint, access, secret string }{
		{"minio", suite.minio.Endpoint, suite.minio.AccessKey, suite.minio.SecretKey},
		{"aws", suite.versity.Endpoint, suite.versity.AccessKey, suite.versity.SecretKey},
	} {
		t.Run(backend.driver, func(t *testing.T) {
			ns := namespace(t)
			ctx := context.Background()
			sec := credentialsSecret(ns, "creds", backend.access, backend.secret)
			require.NoError(t, suite.k8s.Create(ctx, sec))
			p := newProvider(ns, "backend", backend.driver, backend.endpoint, sec.Name)
			require.NoError(t, suite.k8s.Create(ctx, p))
			waitProviderCondition(t, client.ObjectKeyFromObject(p), pailv1.ConditionReady, metav1.ConditionTrue, 60*time.Second)
			const n = 10
			var policies []*pailv1.BucketPolicy
			for i := range n {
				b := readyPublicBucket(t, ns, p.Name, fmt.Sprintf("loop%02d", i))
				policies = append(policies, newBucketPolicy(ns, fmt.Sprintf("loop%02d", i), b.Name, goodPolicy(b.Spec.BucketName)))
			}
			applied := func() float64 { return appliesOf(backend.driver) }
			before := applied()
			for _, bp := range policies {
				require.NoError(t, suite.k8s.Create(ctx, bp))
			}
			for _, bp := range policies {
				waitPolicy(t, client.ObjectKeyFromObject(bp), pailv1.ConditionReady, metav1.ConditionTrue, "")
			}
			assert.Equal(t, float64(n), applied()-before, "one write per policy")
			settled := applied()
			time.Sleep(3*resyncPeriod + time.Second)
			assert.Equal(t, settled, applied(), "zero writes over three resyncs")

			// A real change: exactly one write, with its diff in status.
			target := policies[0]
			require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(target), target))
			var b pailv1.Bucket
			require.NoError(t, suite.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: target.Spec.BucketRef.Name}, &b))
			patch := client.MergeFrom(target.DeepCopy())
			changed := strings.Replace(goodPolicy(b.Spec.BucketName), `"Sid":"PublicRead"`, `"Sid":"PublicReadV2"`, 1)
			target.Spec.Policy = runtime.RawExtension{Raw: []byte(changed)}
			require.NoError(t, suite.k8s.Patch(ctx, target, patch))
			var got pailv1.BucketPolicy
			waitFor(t, 30*time.Second, "the change applied", func() (bool, string) {
				require.NoError(t, suite.k8s.Get(ctx, client.ObjectKeyFromObject(target), &got))
				return strings.Contains(strings.Join(got.Status.LastAppliedDiff, ";"), "+ PublicReadV2"), fmt.Sprint(got.Status.LastAppliedDiff)
			})
			assert.Contains(t, strings.Join(got.Status.LastAppliedDiff, ";"), "- PublicRead:")
			time.Sleep(2 * resyncPeriod)
			assert.Equal(t, settled+1, applied(), "a real change takes exactly one write")
		})
	}
}

func appliesOf(driver string) float64 {
	return testutilValue(driver, "ApplyBucket", "ok")
}
