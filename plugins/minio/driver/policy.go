package driver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/pail-dev/pail/sdk/abi"
	"github.com/pail-dev/pail/sdk/policydoc"
)

// planPolicy refuses, before anything is sent, a document using what MinIO
// lacks (policyGaps); MinIO would answer MalformedPolicy (or, for
// NotAction, a 500) without saying which construct it lacks. "" deletes
// the policy.
func planPolicy(doc string) (write, error) {
	if doc != "" {
		if err := policyGaps(doc); err != nil {
			return write{}, err
		}
	}
	return write{sub: abi.SubPolicy, do: func(ctx context.Context, c *minio.Client, bucket string) error {
		return c.SetBucketPolicy(ctx, bucket, doc)
	}}, nil
}

// policyGaps names the first construct of doc that MinIO's bucket policies
// lack (observed against the test server, see the notes below):
//   - NotPrincipal: MinIO's policy language has no such element
//     (MalformedPolicy), in an Allow or a Deny;
//   - NotAction: MinIO fails with a 500 "empty actions not allowed";
//   - a Version other than "2012-10-17", or none (AWS reads a missing one
//     as "2008-10-17"; MinIO refuses both);
//   - Statement as a single object rather than a list.
//
// A construct MinIO lacks is Unimplemented; a form it insists on is
// InvalidArgument. A document that is not a JSON object is left to the
// server. Keys are matched as MinIO's parser (encoding/json into structs)
// matches them: case-insensitively.
func policyGaps(doc string) error {
	d, err := policydoc.ParseString(doc)
	if _, ok := errors.AsType[*policydoc.StatementError](err); ok {
		return errStatementList
	}
	if err != nil {
		return nil //nolint:nilerr // a document that does not parse is left to the server
	}
	pol := d.Value()
	if v, ok := field(pol, "Version"); !ok || v.Kind() != policydoc.String || v.Text() != "2012-10-17" {
		return abi.Errorf(abi.CodeInvalidArgument,
			`policy: MinIO accepts only "Version": "2012-10-17" in a bucket policy (got %s); set it`, shown(v, ok))
	}
	statements, ok := field(pol, "Statement")
	if k := statements.Kind(); !ok || (k != policydoc.Array && k != policydoc.Null) {
		return errStatementList
	}
	for i := range statements.Len() {
		st := statements.Elem(i)
		if st.Kind() != policydoc.Object {
			return errStatementList
		}
		for _, name := range []string{"NotPrincipal", "NotAction"} {
			if _, ok := field(st, name); ok {
				return abi.Errorf(abi.CodeUnimplemented,
					"policy: statement %d%s uses %s, which MinIO's bucket policies do not support; %s",
					i, sid(st), name, gapHint[name])
			}
		}
	}
	return nil
}

var errStatementList = abi.Errorf(abi.CodeInvalidArgument, "policy: MinIO needs Statement as a list of statements; put the statement in [ ]")

// gapHint says how to write each construct without it.
var gapHint = map[string]string{
	"NotPrincipal": "name the principals in Principal instead",
	"NotAction":    "list the actions in Action instead",
}

// field finds a member as encoding/json matches struct fields (MinIO's
// parser does): the exact key, else one that differs only in case.
func field(obj policydoc.Value, name string) (policydoc.Value, bool) {
	if v, ok := obj.Get(name); ok {
		return v, true
	}
	for i := range obj.Len() {
		if k, v := obj.Member(i); strings.EqualFold(k, name) {
			return v, true
		}
	}
	return policydoc.Value{}, false
}

func sid(st policydoc.Value) string {
	if v, ok := field(st, "Sid"); ok && v.Kind() == policydoc.String && v.Text() != "" {
		return fmt.Sprintf(" (%q)", v.Text())
	}
	return ""
}

func shown(v policydoc.Value, ok bool) string {
	if !ok {
		return "none"
	}
	return v.JSON()
}

// MinIO does not store a bucket policy as written: PutBucketPolicy parses it
// and GetBucketPolicy returns a re-encoding of the parsed form. Observed
// against MinIO RELEASE 2026-02-12 (the test server), for
//
//	{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow",
//	  "Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}
//
// GetBucketPolicy answers
//
//	{"Version":"2012-10-17","Statement":[{"Sid":"PublicRead","Effect":"Allow",
//	  "Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]}]}
//
// In detail:
//   - Keys come in a fixed order, whatever the input order: "ID", "Version",
//     "Statement" at the top; "Sid", "Effect", "Principal", "Action",
//     "Resource", "NotResource", "Condition" in a statement. Compact JSON,
//     no whitespace.
//   - The top-level "Id" comes back as "ID" (the key is renamed).
//   - "Version" is kept; it is required and must be "2012-10-17" (a missing
//     Version or "2008-10-17" is MalformedPolicy).
//   - "Sid" is kept when non-empty and dropped when empty.
//   - "Principal": "*" becomes {"AWS":["*"]}; {"AWS":"arn"} becomes
//     {"AWS":["arn"]}.
//   - Action, Resource, NotResource, Principal.AWS and Condition values are
//     sets: a single string becomes a one-element list, duplicates are
//     dropped, and the order is NOT stable - Action, Resource and Condition
//     values come back in a different order from one GET to the next (Go map
//     iteration); Principal.AWS comes back sorted.
//   - A statement with NotResource also gets "Resource":[].
//   - "Statement" must be a list (a single statement object is
//     MalformedPolicy); statement order is kept.
//   - NotAction is not supported: storing a policy with NotAction fails with
//     a 500 InternalError ("empty actions not allowed") and nothing is stored.
//   - Condition keys are checked against the actions (s3:prefix with
//     s3:GetObject is MalformedPolicy).
//
// ObserveBucket reports the canonical form of what MinIO answers
// (observedPolicy): repeated observations of an unchanged policy are
// byte-identical, whatever order MinIO lists sets in, and whether it means
// the same as the desired document is the host's comparison of the same
// canonical forms (sdk/policydoc).

// observedPolicy is the canonical form of a policy document MinIO answers,
// with its "**" resources read as the "*" that was written (unstar). A
// document that does not parse is returned unchanged.
func observedPolicy(doc string) string {
	if doc == "" {
		return ""
	}
	d, err := policydoc.ParseString(doc)
	if err != nil {
		return doc
	}
	return d.MapResources(unstar).Canonical()
}

// unstar undoes a MinIO re-encoding of identity policies: the resource "*"
// parses as "match all" with the pattern "*", and is written back as that
// type's prefix ("*") followed by the pattern, "**" (minio/pkg v3
// policy.Resource.String). Both mean every resource, so "**" is reported as
// the "*" the user wrote; otherwise a policy with "Resource":"*" would
// never read back as written and the host would rewrite it on every resync.
// Found by the conformance suite (sdk/drivertest).
func unstar(resource string) string {
	if resource == "**" {
		return "*"
	}
	return resource
}
