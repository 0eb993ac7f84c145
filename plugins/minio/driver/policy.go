package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/pail-dev/pail/sdk/abi"
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
// InvalidArgument. A document that is not JSON is left to the server.
func policyGaps(doc string) error {
	var pol map[string]json.RawMessage
	if json.Unmarshal([]byte(doc), &pol) != nil {
		return nil
	}
	var version string
	if v, ok := field(pol, "Version"); !ok || json.Unmarshal(v, &version) != nil || version != "2012-10-17" {
		return abi.Errorf(abi.CodeInvalidArgument,
			`policy: MinIO accepts only "Version": "2012-10-17" in a bucket policy (got %s); set it`, shown(v, ok))
	}
	raw, _ := field(pol, "Statement")
	var statements []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &statements); err != nil {
		return abi.Errorf(abi.CodeInvalidArgument, "policy: MinIO needs Statement as a list of statements; put the statement in [ ]")
	}
	for i, st := range statements {
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

// gapHint says how to write each construct without it.
var gapHint = map[string]string{
	"NotPrincipal": "name the principals in Principal instead",
	"NotAction":    "list the actions in Action instead",
}

// field finds a JSON key as encoding/json matches struct fields (MinIO's
// parser does): case-insensitively.
func field(m map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

func sid(st map[string]json.RawMessage) string {
	var s string
	if v, ok := field(st, "Sid"); ok && json.Unmarshal(v, &s) == nil && s != "" {
		return fmt.Sprintf(" (%q)", s)
	}
	return ""
}

func shown(v json.RawMessage, ok bool) string {
	if !ok {
		return "none"
	}
	return string(v)
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
// ObserveBucket reports MinIO's form with only the set ordering made
// deterministic (canonicalPolicy), so repeated observations of an unchanged
// policy are byte-identical. Deciding whether that form means the same as the
// desired document is the host's semantic diff.

// setKeys are the policy keys whose string lists are sets.
var setKeys = map[string]bool{
	"Action": true, "NotAction": true,
	"Resource": true, "NotResource": true,
	"Principal": true, "NotPrincipal": true,
	"Condition": true,
}

// canonicalPolicy sorts every string list under a set-valued key of a policy
// document and changes nothing else: key order, statement order and
// everything MinIO rewrote stay as they are. A document that is not valid
// JSON is returned unchanged.
func canonicalPolicy(doc string) string {
	if doc == "" {
		return ""
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	v, err := readJSON(dec)
	if err != nil {
		return doc
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return doc
	}
	unstarResources(v)
	sortSets(v, false)
	var buf bytes.Buffer
	if err := writeJSON(&buf, v); err != nil {
		return doc
	}
	return buf.String()
}

// member is one key of a JSON object; object keeps the keys in order.
type member struct {
	key string
	val any
}

type object []member

// readJSON reads one value, keeping object keys in document order.
func readJSON(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			var o object
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				v, err := readJSON(dec)
				if err != nil {
					return nil, err
				}
				o = append(o, member{k, v})
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, err
			}
			return o, nil
		case '[':
			a := []any{}
			for dec.More() {
				v, err := readJSON(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, err
			}
			return a, nil
		}
		return nil, errors.New("unexpected delimiter")
	default:
		return tok, nil // string, json.Number, bool or nil
	}
}

// sortSets sorts, in place, every list of strings below a set-valued key.
func sortSets(v any, inSet bool) {
	switch t := v.(type) {
	case object:
		for _, m := range t {
			sortSets(m.val, inSet || setKeys[m.key])
		}
	case []any:
		strs := inSet
		for _, e := range t {
			sortSets(e, inSet)
			if _, ok := e.(string); !ok {
				strs = false
			}
		}
		if strs {
			slices.SortFunc(t, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
		}
	}
}

// unstarResources undoes a MinIO re-encoding of identity policies: the
// resource "*" parses as "match all" with the pattern "*", and is written
// back as that type's prefix ("*") followed by the pattern, "**" (minio/pkg
// v3 policy.Resource.String). Both mean every resource, so "**" is reported
// as the "*" the user wrote; otherwise a policy with "Resource":"*" would
// never read back as written and the host would rewrite it on every resync.
// Found by the conformance suite (sdk/drivertest).
func unstarResources(v any) {
	switch t := v.(type) {
	case object:
		for _, m := range t {
			if list, ok := m.val.([]any); ok && (m.key == "Resource" || m.key == "NotResource") {
				for i, e := range list {
					if e == "**" {
						list[i] = "*"
					}
				}
			}
			unstarResources(m.val)
		}
	case []any:
		for _, e := range t {
			unstarResources(e)
		}
	}
}

// writeJSON writes v compactly, escaping strings as encoding/json does (as
// MinIO's own encoder did).
func writeJSON(buf *bytes.Buffer, v any) error {
	switch t := v.(type) {
	case object:
		buf.WriteByte('{')
		for i, m := range t {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, m.key); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := writeJSON(buf, m.val); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case json.Number:
		buf.WriteString(t.String())
	default: // string, bool, nil
		b, err := json.Marshal(t)
		if err != nil {
			return err
		}
		buf.Write(b)
	}
	return nil
}
