package bucketpolicy

import (
	pailv1 "github.com/pail-dev/pail/api/v1alpha1"
	"github.com/pail-dev/pail/core/bucketdiff"
)

// plan is the decision of one sync, made by decide from the spec and the
// observed document alone.
type plan struct {
	// write: the bucket holds another document, canonically (MinIO rewrites
	// the stored form: lists, principals, key order, so a byte comparison
	// would write on every resync).
	write bool
	// doc is the document to write; hash its canonical hash, for status.
	doc, hash string
	// diff lists the statements added and removed, for status and the event.
	diff []string
}

// decide is the BucketPolicy's decision: write the document only when its
// canonical form differs from what the bucket holds (have).
func decide(bp *pailv1.BucketPolicy, have string) plan {
	want := string(bp.Spec.Policy.Raw)
	same, hash := bucketdiff.SamePolicyHash(want, have)
	p := plan{write: !same, doc: want, hash: hash}
	if p.write {
		added, removed := bucketdiff.StatementDiff(want, have)
		p.diff = append(added, removed...)
	}
	return p
}
