package bucketpolicy

import (
	"github.com/pail-dev/pail/core/bucketdiff"
	"github.com/pail-dev/pail/sdk/policydoc"
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

// decide is the BucketPolicy's decision: write the document (spec.policy,
// parsed once by the validate phase) only when its canonical form differs
// from what the bucket holds (have).
func decide(want *policydoc.Document, have string) plan {
	haveDoc, _ := policydoc.ParseString(have) // nil when there is none, or it does not parse
	p := plan{write: haveDoc == nil || !want.Equal(haveDoc), doc: want.Text(), hash: want.Hash()}
	if p.write {
		added, removed := bucketdiff.StatementDiff(want, haveDoc)
		p.diff = append(added, removed...) //nolint:gocritic // added is StatementDiff's own slice, free to grow
	}
	return p
}
