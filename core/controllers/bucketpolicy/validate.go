package bucketpolicy

import (
	"context"
	"errors"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/controllers/status"
	"github.com/pail-dev/pail/core/policy"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// NotJSONError reports a spec.policy that is not a JSON object.
type NotJSONError struct{ Err error }

func (e *NotJSONError) Error() string {
	return fmt.Sprintf("spec.policy is not a JSON object: %v", e.Err)
}
func (e *NotJSONError) Unwrap() error { return e.Err }

// Check evaluates bp's document against its packs, with the Bucket's and the
// Provider's metadata as input. The controller and the admission webhook
// both call it, so an apply is refused at admission for exactly the reasons
// the controller would refuse it. p may be nil when the Provider is unknown.
func Check(ctx context.Context, e *policy.Engine, bp *pailv1.BucketPolicy, b *pailv1.Bucket, p pailv1.ProviderObject) (policy.Result, error) {
	_, res, err := check(ctx, e, bp, b, p)
	return res, err
}

// check is Check that also returns the parsed document, which the
// reconciler goes on with: spec.policy is parsed once per reconcile.
func check(ctx context.Context, e *policy.Engine, bp *pailv1.BucketPolicy, b *pailv1.Bucket, p pailv1.ProviderObject) (*policydoc.Document, policy.Result, error) {
	return CheckDocument(ctx, e, bp.Spec.Policy.Raw, bp.Spec.Packs, b, p)
}

// CheckDocument evaluates a bucket policy document (raw) for bucket b
// against packs (none: every loaded pack), with the Bucket's and the
// Provider's metadata as input, and returns the parsed document. It is the
// one evaluation of a bucket policy: a BucketPolicy's and a Bucket's inline
// spec.policy go through it alike. p may be nil when the Provider is unknown.
func CheckDocument(ctx context.Context, e *policy.Engine, raw []byte, packs []string, b *pailv1.Bucket, p pailv1.ProviderObject) (*policydoc.Document, policy.Result, error) {
	doc, err := policydoc.Parse(raw)
	if err != nil {
		return nil, policy.Result{}, &NotJSONError{Err: err}
	}
	prov := map[string]any{"name": "", "driver": ""}
	if p != nil {
		prov = map[string]any{"name": p.GetName(), "driver": p.ProviderSpec().Driver}
	}
	input := policy.WithDocument(map[string]any{
		"bucket": map[string]any{"namespace": b.Namespace, "name": b.Name, "bucketName": b.Spec.BucketName, "public": b.Annotations[pailv1.AnnotationPublic] == "true",
			"requireTLS": b.Annotations[pailv1.AnnotationRequireTLS] == "true"},
		"provider": prov,
		"raw_size": len(raw),
	}, doc)
	value, err := ast.InterfaceToValue(input) // the document is a Rego value already and is taken as it is
	if err != nil {
		return nil, policy.Result{}, fmt.Errorf("policy input: %w", err)
	}
	// Evaluate takes the Rego value as it is: no second conversion.
	res, err := e.Evaluate(ctx, packs, value)
	return doc, res, err
}

// Finding is the packs' verdict on a bucket policy document, as the
// PolicyValid condition says it. A BucketPolicy and a Bucket's inline
// spec.policy are judged by the same rule (Judge), so both kinds read the
// same.
type Finding struct {
	Status          metav1.ConditionStatus
	Reason, Message string
	// Violations and Warnings are what the status lists: in Warn mode the
	// denials are warnings.
	Violations, Warnings []string
	// Terminal: the document itself is wrong (not JSON); retrying cannot help.
	Terminal bool
}

// Applies reports whether the document may be written to the bucket.
func (f Finding) Applies() bool { return f.Status == metav1.ConditionTrue }

// Unavailable reports whether the packs could not judge the document, which
// only a retry (or a pack change) resolves.
func (f Finding) Unavailable() bool { return f.Reason == pailv1.ReasonPacksUnavailable }

// News reports whether the finding is worth a Warning event: a denial or a
// warning the PolicyValid condition (prev) does not say yet.
func (f Finding) News(prev *metav1.Condition) bool {
	if f.Reason != pailv1.ReasonPolicyDenied && f.Reason != pailv1.ReasonPolicyWarnings {
		return false
	}
	return prev == nil || prev.Status != f.Status || prev.Message != f.Message
}

// NewsIn is News against conds' PolicyValid condition.
func (f Finding) NewsIn(conds []metav1.Condition) bool {
	return f.News(meta.FindStatusCondition(conds, pailv1.ConditionPolicyValid))
}

// Judge turns an evaluation (CheckDocument's result and error) into the
// finding: a document that is not JSON, packs that cannot be evaluated, a
// denial (in Enforce mode; in Warn mode denials are warnings), warnings, or
// none of those.
func Judge(res policy.Result, err error, enforce bool) Finding {
	if notJSON, ok := errors.AsType[*NotJSONError](err); ok {
		return Finding{Status: metav1.ConditionFalse, Reason: pailv1.ReasonPolicyNotJSON, Message: notJSON.Error() + ".", Terminal: true}
	}
	if err != nil {
		return Finding{Status: metav1.ConditionFalse, Reason: pailv1.ReasonPacksUnavailable, Message: status.Sentence(fmt.Sprintf("The policy cannot be checked: %v", err))}
	}
	f := Finding{Violations: res.Deny, Warnings: res.Warn}
	if !enforce {
		f.Warnings = append(append([]string(nil), res.Deny...), res.Warn...)
	}
	switch {
	case len(res.Deny) > 0 && enforce:
		f.Status, f.Reason = metav1.ConditionFalse, pailv1.ReasonPolicyDenied
		f.Message = denyMessage(res.Deny, "")
	case len(f.Warnings) > 0:
		// Whether it is applied is Synced's and Ready's to say.
		f.Status, f.Reason = metav1.ConditionTrue, pailv1.ReasonPolicyWarnings
		f.Message = fmt.Sprintf("The policy packs allow this document, with warnings: %s.", status.Summarize(f.Warnings, " (see status)"))
	default:
		f.Status, f.Reason, f.Message = metav1.ConditionTrue, pailv1.ReasonPolicyAllowed, "Every selected policy pack allows this document."
	}
	return f
}

// denyMessage says the packs deny the document; forced is the clause saying
// a Guardrail forces Enforce ("" when none does).
func denyMessage(deny []string, forced string) string {
	return fmt.Sprintf("The policy packs deny this document, so it is not applied%s: %s.", forced, status.Summarize(deny, " (see status)"))
}

// ForcedBy is f with a denial's message saying that a Guardrail forced
// Enforce over spec.enforcementMode Warn (forced, from
// guardrail.Rules.Enforce; "" leaves f as it is).
func (f Finding) ForcedBy(forced string) Finding {
	if forced != "" && f.Reason == pailv1.ReasonPolicyDenied {
		f.Message = denyMessage(f.Violations, forced)
	}
	return f
}
