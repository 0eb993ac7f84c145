package bucketpolicy

import (
	"context"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
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
	doc, err := policydoc.Parse(bp.Spec.Policy.Raw)
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
		"raw_size": len(bp.Spec.Policy.Raw),
	}, doc)
	value, err := ast.InterfaceToValue(input) // the document is a Rego value already and is taken as it is
	if err != nil {
		return nil, policy.Result{}, fmt.Errorf("policy input: %w", err)
	}
	// Evaluate takes the Rego value as it is: no second conversion.
	res, err := e.Evaluate(ctx, bp.Spec.Packs, value)
	return doc, res, err
}
