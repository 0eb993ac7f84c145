package accesskey

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/policy"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// IdentityPack is the pack an AccessKey's policy is checked with when its
// spec.packs is empty.
const IdentityPack = "identity"

// The actions each shorthand level grants, on the bucket and on its objects.
var levels = map[pailv1.BucketAccessLevel]struct{ bucket, objects []string }{
	pailv1.AccessReadOnly: {
		bucket:  []string{"s3:ListBucket", "s3:GetBucketLocation"},
		objects: []string{"s3:GetObject"},
	},
	pailv1.AccessReadWrite: {
		bucket:  []string{"s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"},
		objects: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
	},
	pailv1.AccessWriteOnly: {
		objects: []string{"s3:PutObject", "s3:AbortMultipartUpload"},
	},
}

// BucketRefError names a spec.buckets entry whose Bucket does not exist.
type BucketRefError struct {
	Name string
	// Unreadable: it exists, but its stored spec cannot be decoded.
	Unreadable bool
}

func (e *BucketRefError) Error() string {
	if e.Unreadable {
		return fmt.Sprintf("Bucket %s named in spec.buckets cannot be read (its InvalidSpec condition says why)", e.Name)
	}
	return fmt.Sprintf("Bucket %s named in spec.buckets does not exist", e.Name)
}

// bucketRefs resolves spec.buckets to their Buckets, in order.
func bucketRefs(ctx context.Context, c client.Reader, ak *pailv1.AccessKey) ([]pailv1.Bucket, error) {
	out := make([]pailv1.Bucket, 0, len(ak.Spec.Buckets))
	for _, ba := range ak.Spec.Buckets {
		var b pailv1.Bucket
		if err := c.Get(ctx, types.NamespacedName{Namespace: ak.Namespace, Name: ba.BucketRef.Name}, &b); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, &BucketRefError{Name: ba.BucketRef.Name}
			}
			return nil, err
		}
		if b.DecodeError() != "" {
			return nil, &BucketRefError{Name: ba.BucketRef.Name, Unreadable: true}
		}
		out = append(out, b)
	}
	return out, nil
}

// bucketNames are the names at the provider of the Buckets refs, in order.
func bucketNames(refs []pailv1.Bucket) []string {
	names := make([]string, 0, len(refs))
	for i := range refs {
		names = append(names, refs[i].Spec.BucketName)
	}
	return names
}

// Document builds the identity policy: a statement pair per spec.buckets
// entry, followed by the statements of spec.policy. With only spec.policy,
// the document is kept exactly as written. "" means no policy at all.
func Document(ak *pailv1.AccessKey, buckets []string) (string, error) {
	var inline *policydoc.Document
	if ak.Spec.Policy != nil && len(ak.Spec.Policy.Raw) > 0 {
		var err error
		if inline, err = policydoc.Parse(ak.Spec.Policy.Raw); err != nil {
			return "", fmt.Errorf("spec.policy is not a JSON object: %w", err)
		}
		if len(ak.Spec.Buckets) == 0 {
			return string(ak.Spec.Policy.Raw), nil
		}
	}
	if len(ak.Spec.Buckets) == 0 {
		return "", nil
	}
	statements := make([]any, 0, 2*len(buckets))
	for i, ba := range ak.Spec.Buckets {
		lv := levels[ba.Access]
		arn := "arn:aws:s3:::" + buckets[i]
		sid := fmt.Sprintf("Pail%s%d", ba.Access, i)
		if len(lv.bucket) > 0 {
			statements = append(statements, map[string]any{"Sid": sid + "Bucket", "Effect": "Allow", "Action": lv.bucket, "Resource": arn})
		}
		statements = append(statements, map[string]any{"Sid": sid + "Objects", "Effect": "Allow", "Action": lv.objects, "Resource": arn + "/*"})
	}
	doc := map[string]any{"Version": "2012-10-17", "Statement": statements}
	if inline != nil {
		// The inline statements and Version, each written as json.Marshal
		// writes what they decode to.
		switch st, _ := inline.Value().Get("Statement"); st.Kind() {
		case policydoc.Array:
			for i := range st.Len() {
				statements = append(statements, st.Elem(i))
			}
		case policydoc.Null:
		default:
			statements = append(statements, st)
		}
		doc["Statement"] = statements
		if v, ok := inline.Value().Get("Version"); ok {
			doc["Version"] = v
		}
	}
	out, err := json.Marshal(doc)
	return string(out), err
}

// packsOf is the packs spec.packs selects: the identity pack when empty.
func packsOf(ak *pailv1.AccessKey) []string {
	if len(ak.Spec.Packs) == 0 {
		return []string{IdentityPack}
	}
	return ak.Spec.Packs
}

// Check runs the identity packs on doc.
func Check(ctx context.Context, e *policy.Engine, ak *pailv1.AccessKey, user string, doc *policydoc.Document, driver string) (policy.Result, error) {
	packs := packsOf(ak)
	input := policy.WithDocument(map[string]any{
		"kind":      "identity",
		"accessKey": map[string]any{"namespace": ak.Namespace, "name": ak.Name, "userName": user},
		"provider":  map[string]any{"name": ak.Spec.ProviderRef.Name, "driver": driver},
		"raw_size":  len(doc.Text()),
	}, doc)
	value, err := ast.InterfaceToValue(input) // the document is a Rego value already
	if err != nil {
		return policy.Result{}, fmt.Errorf("policy input: %w", err)
	}
	return e.Evaluate(ctx, packs, value) // a Rego value is taken as it is
}
