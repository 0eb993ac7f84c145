package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
)

const tlsDeny = `{"Sid":"DenyInsecure","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::BKT","arn:aws:s3:::BKT/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`

// TestEveryPackRuleEndToEnd sends one violating document per rule through
// the API and checks the operator reports that rule's message (deny rules
// block the apply; warn rules apply with a warning, unless MinIO cannot
// store the document). The Rego tests cover each rule both ways; this
// proves the wiring for each. The Buckets ask for TLS only
// (pail.dev/require-tls), so the TLS rule fires.
func TestEveryPackRuleEndToEnd(t *testing.T) {
	ns := namespace(t)
	ctx := context.Background()
	p := minioProvider(t, ns, "minio")
	b := newBucket(ns, "rules", p.Name, uniqueBucket("rules"), "")
	b.Annotations = map[string]string{pailv1.AnnotationRequireTLS: "true"}
	require.NoError(t, suite.k8s.Create(ctx, b))
	waitBucket(t, client.ObjectKeyFromObject(b), pailv1.ConditionReady, metav1.ConditionTrue, "", 60*time.Second)
	big := strings.Repeat("x", 21*1024)
	tests := []struct {
		rule, statements, want string
		warn                   bool
		doc                    string // the whole document, when set
		// backendRefuses: a document the packs allow and MinIO cannot store.
		backendRefuses string
	}{
		{rule: "baseline: Version warns", doc: `{"Statement":[` + tlsDeny + `]}`, want: "policy has no Version", warn: true, backendRefuses: `MinIO accepts only "Version": "2012-10-17"`},
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
		{rule: "security: public read warns", statements: `{"Sid":"PR","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::BKT/*"}`, want: `public read: Principal "*" can read with s3:GetObject, so anyone on the internet can`, warn: true},
		{rule: "security: public read under a Condition warns", statements: `{"Sid":"PRC","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::BKT/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`, want: `statement 1 ("PRC"): public read: Principal "*" can read with s3:GetObject wherever its Condition (IpAddress aws:SourceIp) holds`, warn: true},
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

			// At admission: the webhook runs the same packs, so a server-side
			// dry run already shows the rule's message.
			bp := newBucketPolicy(ns, fmt.Sprintf("rule-%02d", i), b.Name, strings.ReplaceAll(doc, "BKT", b.Spec.BucketName))
			warnings, err := dryRunCreate(t, bp)
			if tc.warn {
				require.NoError(t, err)
				assert.Contains(t, strings.Join(warnings, "\n"), tc.want)
			} else {
				require.Error(t, err, "the webhook refuses a document the packs deny")
				assert.True(t, apierrors.IsInvalid(err), "an Invalid status, got %v", err)
				assert.Contains(t, err.Error(), tc.want)
			}

			// In the controller: a policy created before its Bucket passes
			// admission (the bucket rules need the Bucket) and is checked when
			// the Bucket arrives.
			late := newBucket(ns, fmt.Sprintf("late-%02d", i), p.Name, uniqueBucket("late"), "")
			late.Annotations = b.Annotations
			bp = newBucketPolicy(ns, fmt.Sprintf("rule-%02d", i), late.Name, strings.ReplaceAll(doc, "BKT", late.Spec.BucketName))
			warnings = createWithWarnings(t, bp)
			assert.Contains(t, strings.Join(warnings, "\n"), "does not exist yet")
			require.NoError(t, suite.k8s.Create(ctx, late))
			key := client.ObjectKeyFromObject(bp)
			switch {
			case tc.backendRefuses != "":
				got := waitPolicy(t, key, pailv1.ConditionReady, metav1.ConditionFalse, pailv1.ReasonBackendRefusedPolicy)
				assert.Equal(t, pailv1.ReasonPolicyWarnings, condition(got.Status.Conditions, pailv1.ConditionPolicyValid).Reason)
				assert.Contains(t, strings.Join(got.Status.Warnings, "\n"), tc.want)
				assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionReady).Message, tc.backendRefuses)
			case tc.warn:
				got := waitPolicy(t, key, pailv1.ConditionReady, metav1.ConditionTrue, "")
				assert.Equal(t, pailv1.ReasonPolicyWarnings, condition(got.Status.Conditions, pailv1.ConditionPolicyValid).Reason)
				assert.Contains(t, strings.Join(got.Status.Warnings, "\n"), tc.want)
			default:
				got := waitPolicy(t, key, pailv1.ConditionPolicyValid, metav1.ConditionFalse, pailv1.ReasonPolicyDenied)
				assert.Contains(t, strings.Join(got.Status.Violations, "\n"), tc.want)
				assert.Contains(t, condition(got.Status.Conditions, pailv1.ConditionPolicyValid).Message, "not applied")
			}
			require.NoError(t, suite.k8s.Delete(ctx, bp))
			waitGone(t, &pailv1.BucketPolicy{ObjectMeta: bp.ObjectMeta}, 30*time.Second)
		})
	}
}
