# Pack "baseline": is the document a well-formed S3 bucket policy for this
# bucket? Every deny is something S3 would reject or something that can only
# be a mistake (a resource outside the bucket, an action on the wrong kind of
# resource).
#
# The engine evaluates all of data.pail on every apply, so:
#   - the rules test the common, valid case with one builtin each (a regex,
#     a set difference) and work out the exact complaint only when that
#     test fails;
#   - constants are written inline rather than as rules: every rule of the
#     package is part of data.pail, evaluated and copied into the result.
package pail.baseline

# --- document ---------------------------------------------------------------

# AWS reads a document without a Version as the legacy "2008-10-17"
# language, so it is valid there: a warning, not a deny.
warn contains `policy has no Version, so AWS reads it as the legacy "2008-10-17" language (no policy variables) and some backends (MinIO) refuse it; add "Version": "2012-10-17"` if {
	object.get(input, ["policy", "Version"], null) == null
}

deny contains msg if {
	v := input.policy.Version
	v != null
	not v in {"2012-10-17", "2008-10-17"}
	msg := sprintf(`Version %s is not a policy language version; use "2012-10-17"`, [show(v)])
}

warn contains `Version "2008-10-17" is the legacy policy language (no policy variables); use "2012-10-17"` if {
	input.policy.Version == "2008-10-17"
}

deny contains "policy has no statements; add at least one entry to Statement" if {
	count(statements) == 0
}

deny contains msg if {
	is_object(input.policy)
	some k in (object.keys(input.policy) - {"Version", "Id", "Statement"})
	msg := sprintf("unknown policy element %s; a policy has only Version, Id and Statement", [show(k)])
}

# S3 limits bucket policies to 20 KB.
deny contains msg if {
	is_number(input.raw_size)
	input.raw_size > 20480
	msg := sprintf("policy document is %d bytes; S3 limits bucket policies to 20 KB (20480 bytes): merge statements or use key patterns", [input.raw_size])
}

deny contains "input.bucket.bucketName is missing: Resource ARNs cannot be checked against the bucket" if {
	not bucket_name
}

# --- fast path ----------------------------------------------------------------
# Most documents are valid, and running every statement rule below on every
# statement costs hundreds of builtin calls for 20 statements. So the
# statements are first matched, as the JSON text json.marshal gives (keys
# sorted, no spaces), against a regex that accepts only statements for
# which no statement rule can fire:
#   - an object with only known elements, exactly one of each pair and an
#     Effect of "Allow" or "Deny"; a string Sid;
#   - valid actions (the regex of valid_action);
#   - resources in this bucket and, when it has Action and Resource, both
#     the bucket ARN and an object ARN among them (so that "action against
#     resource type" cannot fire).
# The regex accepts only what it reads plainly: strings without escapes,
# Principal and Condition in their usual forms. What it does not accept is
# checked by the rules in full, so the fast path never changes a verdict.
# One match covers the whole document; only when that fails is each
# statement matched on its own, and the rules look at the ones that fail
# (suspect). That second regex also accepts a statement whose resources are
# all objects (or all the bucket) when none of its actions can be of the
# other kind, as in the usual public-read statement.
#
# This bucket's ARN is first replaced by "\u0001" at the start of every
# string. json.marshal escapes control characters, so "\u0001" cannot be in
# the text otherwise, and the regex stays one constant, compiled once,
# whatever the bucket. The regex takes "\u0001" only when a quote or "/"
# follows it, so the ARN of a bucket whose name merely starts with this
# one's is not taken for it. (One plain replace: a strings.replace_n with
# "<ARN>\"" and "<ARN>/" cost ten times as much.)

default suspect := set()

suspect := {i | some i, s in statements; not clean_statement(s)} if not clean_document

clean_document if {
	regex.match(document_pattern, document_text)
}

document_text := replace(statements_text, bucket_token, "\"\u0001")

clean_statement(s) if {
	regex.match(any_kind_statement_pattern, replace(json.marshal(s), bucket_token, "\"\u0001"))
}

# For a bucket name with "/", ARNs of the bucket are not of the kind their
# shape says (resource_kind); nothing is cleared then.
bucket_token := concat("", [`"`, bucket_arn]) if {
	not contains(bucket_name, "/")
}

# document_pattern is document_pattern_built, written out: a list of
# statements, each matching statement_pattern_built. Building it from its
# parts on every evaluation (even only the outer list around a constant
# statement pattern: a 10 KB concat) cost more than matching with it. The
# parts, and what each stands for, are in baseline_test.rego (kept out of
# the pack, so that no query of data.pail builds them), which checks that
# the two agree; after changing the parts, paste the output of
#   opa eval -d policies/baseline 'data.pail.baseline.document_pattern_built' -f raw
document_pattern := `^\[(?:\{(?:"Action":\[?(?:"(?i:\*|(?:s3|s3-object-lambda|s3express):[^:"\\]+)"(?:,"(?i:\*|(?:s3|s3-object-lambda|s3express):[^:"\\]+)")*)?\]?(?:,"Condition":\{(?:"[^"\\]*":\{(?:"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?(?:,"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?)*)?\}(?:,"[^"\\]*":\{(?:"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?(?:,"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?)*)?\})*)?\})?,"Effect":"(?:Allow|Deny)"(?:,"NotPrincipal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"NotResource":\[?(?:"\x01(?:/[^"\\]*)?"(?:,"\x01(?:/[^"\\]*)?")*)?\]?|,"NotPrincipal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"Resource":\[(?:"\x01(?:/[^"\\]*)?",)*(?:"\x01"(?:,"\x01(?:/[^"\\]*)?")*,"\x01/[^"\\]+"|"\x01/[^"\\]+"(?:,"\x01(?:/[^"\\]*)?")*,"\x01")(?:,"\x01(?:/[^"\\]*)?")*\]|,"NotResource":\[?(?:"\x01(?:/[^"\\]*)?"(?:,"\x01(?:/[^"\\]*)?")*)?\]?,"Principal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\})|,"Principal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"Resource":\[(?:"\x01(?:/[^"\\]*)?",)*(?:"\x01"(?:,"\x01(?:/[^"\\]*)?")*,"\x01/[^"\\]+"|"\x01/[^"\\]+"(?:,"\x01(?:/[^"\\]*)?")*,"\x01")(?:,"\x01(?:/[^"\\]*)?")*\])|(?:"Condition":\{(?:"[^"\\]*":\{(?:"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?(?:,"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?)*)?\}(?:,"[^"\\]*":\{(?:"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?(?:,"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?)*)?\})*)?\},)?"Effect":"(?:Allow|Deny)","NotAction":\[?(?:"(?i:\*|(?:s3|s3-object-lambda|s3express):[^:"\\]+)"(?:,"(?i:\*|(?:s3|s3-object-lambda|s3express):[^:"\\]+)")*)?\]?(?:,"NotPrincipal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"NotResource":\[?(?:"\x01(?:/[^"\\]*)?"(?:,"\x01(?:/[^"\\]*)?")*)?\]?|,"NotPrincipal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"Resource":\[?(?:"\x01(?:/[^"\\]*)?"(?:,"\x01(?:/[^"\\]*)?")*)?\]?|,"NotResource":\[?(?:"\x01(?:/[^"\\]*)?"(?:,"\x01(?:/[^"\\]*)?")*)?\]?,"Principal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\})|,"Principal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"Resource":\[?(?:"\x01(?:/[^"\\]*)?"(?:,"\x01(?:/[^"\\]*)?")*)?\]?))(?:,"Sid":"[^"\\]*")?\}[,\]])+$`

# any_kind_statement_pattern is any_kind_statement_pattern_built, written
# out (the same test checks it; paste the output of the same command for
# data.pail.baseline.any_kind_statement_pattern_built).
any_kind_statement_pattern := `^\{(?:"Action":\[?(?:"(?i:\*|(?:s3|s3-object-lambda|s3express):[^:"\\]+)"(?:,"(?i:\*|(?:s3|s3-object-lambda|s3express):[^:"\\]+)")*)?\]?(?:,"Condition":\{(?:"[^"\\]*":\{(?:"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?(?:,"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?)*)?\}(?:,"[^"\\]*":\{(?:"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?(?:,"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?)*)?\})*)?\})?,"Effect":"(?:Allow|Deny)"(?:,"NotPrincipal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"NotResource":\[?(?:"\x01(?:/[^"\\]*)?"(?:,"\x01(?:/[^"\\]*)?")*)?\]?|,"NotPrincipal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"Resource":\[(?:"\x01(?:/[^"\\]*)?",)*(?:"\x01"(?:,"\x01(?:/[^"\\]*)?")*,"\x01/[^"\\]+"|"\x01/[^"\\]+"(?:,"\x01(?:/[^"\\]*)?")*,"\x01")(?:,"\x01(?:/[^"\\]*)?")*\]|,"NotResource":\[?(?:"\x01(?:/[^"\\]*)?"(?:,"\x01(?:/[^"\\]*)?")*)?\]?,"Principal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\})|,"Principal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"Resource":\[(?:"\x01(?:/[^"\\]*)?",)*(?:"\x01"(?:,"\x01(?:/[^"\\]*)?")*,"\x01/[^"\\]+"|"\x01/[^"\\]+"(?:,"\x01(?:/[^"\\]*)?")*,"\x01")(?:,"\x01(?:/[^"\\]*)?")*\])|(?:"Condition":\{(?:"[^"\\]*":\{(?:"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?(?:,"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?)*)?\}(?:,"[^"\\]*":\{(?:"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?(?:,"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?)*)?\})*)?\},)?"Effect":"(?:Allow|Deny)","NotAction":\[?(?:"(?i:\*|(?:s3|s3-object-lambda|s3express):[^:"\\]+)"(?:,"(?i:\*|(?:s3|s3-object-lambda|s3express):[^:"\\]+)")*)?\]?(?:,"NotPrincipal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"NotResource":\[?(?:"\x01(?:/[^"\\]*)?"(?:,"\x01(?:/[^"\\]*)?")*)?\]?|,"NotPrincipal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"Resource":\[?(?:"\x01(?:/[^"\\]*)?"(?:,"\x01(?:/[^"\\]*)?")*)?\]?|,"NotResource":\[?(?:"\x01(?:/[^"\\]*)?"(?:,"\x01(?:/[^"\\]*)?")*)?\]?,"Principal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\})|,"Principal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"Resource":\[?(?:"\x01(?:/[^"\\]*)?"(?:,"\x01(?:/[^"\\]*)?")*)?\]?)|"Action":\[?(?:"(?i:\*|s3:(?:get|put|delete)object[^:"\\]*|s3:[^:"\\]*[*?][^:"\\]*|(?:s3-object-lambda|s3express):[^:"\\]+)"(?:,"(?i:\*|s3:(?:get|put|delete)object[^:"\\]*|s3:[^:"\\]*[*?][^:"\\]*|(?:s3-object-lambda|s3express):[^:"\\]+)")*)?\]?(?:,"Condition":\{(?:"[^"\\]*":\{(?:"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?(?:,"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?)*)?\}(?:,"[^"\\]*":\{(?:"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?(?:,"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?)*)?\})*)?\})?,"Effect":"(?:Allow|Deny)"(?:,"NotPrincipal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"NotResource":\[?(?:"\x01(?:/[^"\\]*)?"(?:,"\x01(?:/[^"\\]*)?")*)?\]?|,"NotPrincipal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"Resource":\[?(?:"\x01/[^"\\]+"(?:,"\x01/[^"\\]+")*)?\]?|,"NotResource":\[?(?:"\x01(?:/[^"\\]*)?"(?:,"\x01(?:/[^"\\]*)?")*)?\]?,"Principal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\})|,"Principal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"Resource":\[?(?:"\x01/[^"\\]+"(?:,"\x01/[^"\\]+")*)?\]?)|"Action":\[?(?:"(?i:\*|s3:(?:list|get|put|delete)bucket[^:"\\]*|s3:createbucket|s3:[^:"\\]*[*?][^:"\\]*|(?:s3-object-lambda|s3express):[^:"\\]+)"(?:,"(?i:\*|s3:(?:list|get|put|delete)bucket[^:"\\]*|s3:createbucket|s3:[^:"\\]*[*?][^:"\\]*|(?:s3-object-lambda|s3express):[^:"\\]+)")*)?\]?(?:,"Condition":\{(?:"[^"\\]*":\{(?:"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?(?:,"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?)*)?\}(?:,"[^"\\]*":\{(?:"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?(?:,"[^"\\]*":\[?(?:(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)(?:,(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*))*)?\]?)*)?\})*)?\})?,"Effect":"(?:Allow|Deny)"(?:,"NotPrincipal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"NotResource":\[?(?:"\x01(?:/[^"\\]*)?"(?:,"\x01(?:/[^"\\]*)?")*)?\]?|,"NotPrincipal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"Resource":\[?(?:"\x01"(?:,"\x01")*)?\]?|,"NotResource":\[?(?:"\x01(?:/[^"\\]*)?"(?:,"\x01(?:/[^"\\]*)?")*)?\]?,"Principal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\})|,"Principal":(?:"[^"\\]*"|\{(?:"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?(?:,"[^"\\]*":\[?(?:"[^"\\]*"(?:,"[^"\\]*")*)?\]?)*)?\}),"Resource":\[?(?:"\x01"(?:,"\x01")*)?\]?))(?:,"Sid":"[^"\\]*")?\}$`

# --- statement shape ----------------------------------------------------------

deny contains msg if {
	some i in suspect
	s := statements[i]
	not is_object(s)
	msg := sprintf("statement %d: must be an object with Effect, Principal, Action and Resource, not %s", [i, show(s)])
}

deny contains msg if {
	some i in suspect
	s := statements[i]
	is_object(s)
	some k in (object.keys(s) - {
		"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
		"Resource", "NotResource", "Condition",
	})
	msg := sprintf("%s: unknown element %s (misspelt?); allowed: Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource, Condition", [label(i, s), show(k)])
}

deny contains msg if {
	some i in suspect
	s := statements[i]
	sid := s.Sid
	not is_string(sid)
	msg := sprintf("%s: Sid must be a string, not %s", [label(i, s), show(sid)])
}

# Every statement with a Sid of its own (the usual case): none to compare.
sids_distinct if count({s.Sid | some s in statements}) == count(statements)

deny contains msg if {
	not sids_distinct
	sids := [sid | some s in statements; sid := s.Sid; is_string(sid); sid != ""]
	unique := {sid | some sid in sids}
	count(unique) != count(sids)
	some sid in unique
	idx := [sprintf("%d", [i]) | some i, s in statements; s.Sid == sid]
	count(idx) > 1
	msg := sprintf("Sid %q is used by statements %s; each Sid must be unique", [sid, concat(", ", idx)])
}

deny contains msg if {
	some i in suspect
	s := statements[i]
	is_object(s)
	not valid_effect(s)
	msg := effect_problem(label(i, s), s)
}

# A helper rule, so a missing Effect counts as invalid: "not s.Effect in
# {...}" is skipped altogether when s.Effect is undefined.
valid_effect(s) if s.Effect in {"Allow", "Deny"}

effect_problem(l, s) := sprintf(`%s: Effect %s must be exactly "Allow" or "Deny"`, [l, show(s.Effect)]) if {
	has(s, "Effect")
} else := sprintf(`%s: Effect is missing; use "Allow" or "Deny"`, [l])

# Each pair: exactly one of the two elements. The valid combinations are
# listed, so a good statement costs one set lookup.
deny contains msg if {
	some i in suspect
	s := statements[i]
	is_object(s)
	present := object.keys(s) & {"Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource"}
	not present in {
		{"Principal", "Action", "Resource"}, {"Principal", "Action", "NotResource"},
		{"Principal", "NotAction", "Resource"}, {"Principal", "NotAction", "NotResource"},
		{"NotPrincipal", "Action", "Resource"}, {"NotPrincipal", "Action", "NotResource"},
		{"NotPrincipal", "NotAction", "Resource"}, {"NotPrincipal", "NotAction", "NotResource"},
	}
	some [a, b, hint] in [
		["Principal", "NotPrincipal", `say who it applies to: "Principal": {"AWS": "arn:aws:iam::<account>:root"}`],
		["Action", "NotAction", `list the actions: "Action": ["s3:GetObject"]`],
		["Resource", "NotResource", `list the resources: "Resource": "arn:aws:s3:::<bucket>/*"`],
	]
	n := count(present & {a, b})
	n != 1
	msg := pair_problem(label(i, s), a, b, hint, n)
}

pair_problem(l, a, b, hint, 0) := sprintf("%s: has neither %s nor %s; %s", [l, a, b, hint])

pair_problem(l, a, b, _, 2) := sprintf("%s: has both %s and %s; use one of them", [l, a, b])

# --- actions ----------------------------------------------------------------

deny contains msg if {
	some i in suspect
	s := statements[i]
	some field in ["Action", "NotAction"]
	some a in as_list(s[field])
	not valid_action(a)
	msg := sprintf("%s: %s", [label(i, s), action_problem(field, a)])
}

# "*", or <service>:<name> for a service a bucket policy can grant:
# s3, s3-object-lambda, s3express (any case).
valid_action(a) if {
	is_string(a)
	regex.match(`^(?i:\*|(s3|s3-object-lambda|s3express):[^:]+)$`, a)
}

action_problem(field, a) := sprintf(`%s entry %s must be a string like "s3:GetObject"`, [field, show(a)]) if {
	not is_string(a)
} else := sprintf(`%s %s is not "<service>:<action>" (or "*")`, [field, show(a)]) if {
	not regex.match(`^[^:]+:[^:]+$`, a)
} else := sprintf(`%s %s has unknown service prefix %s; bucket policies take s3, s3-object-lambda and s3express actions (or "*")`, [field, show(a), show(split(a, ":")[0])])

# --- resources --------------------------------------------------------------

deny contains msg if {
	bn := bucket_name
	some i in suspect
	s := statements[i]
	some field in ["Resource", "NotResource"]
	some r in as_list(s[field])
	not in_bucket(r)
	msg := sprintf("%s: %s", [label(i, s), resource_problem(field, r, bn)])
}

bucket_arn := concat("", ["arn:aws:s3:::", bucket_name])

bucket_arn_prefix := concat("", [bucket_arn, "/"])

# in_bucket: arn:aws:s3:::<bucket> or arn:aws:s3:::<bucket>/...
in_bucket(r) if r == bucket_arn

in_bucket(r) if {
	is_string(r)
	startswith(r, bucket_arn_prefix)
}

resource_problem(field, r, bn) := sprintf("%s entry %s must be an ARN string", [field, show(r)]) if {
	not is_string(r)
} else := sprintf(`%s "*" covers every bucket; name this bucket: "arn:aws:s3:::%s" and/or "arn:aws:s3:::%s/*"`, [field, bn, bn]) if {
	r == "*"
} else := sprintf(`%s %s is not in bucket %q; use "arn:aws:s3:::%s" or "arn:aws:s3:::%s/<key pattern>"`, [field, show(r), bn, bn, bn])

# --- action against resource type ---------------------------------------------
# A statement with a wildcard action (s3:*, s3:Get*) is exempt: its actions
# are meant for both kinds. "*" as a resource counts as both kinds (it is
# denied above anyway). Resources outside the bucket count as the kind they
# name, so a foreign ARN is reported once, above.

deny contains msg if {
	bn := bucket_name
	some i in suspect
	s := statements[i]
	resources := as_list(s.Resource)
	count(resources) > 0
	kinds := {kind | some r in resources; kind := resource_kind(r)}
	not kinds in {{"bucket", "object"}, {"any"}, {"any", "bucket"}, {"any", "object"}, {"any", "bucket", "object"}}
	actions := [a | some a in as_list(s.Action); is_string(a)]
	not regex.match(`[*?]`, concat("", actions))
	some a in actions
	kind := action_kind(a)
	not kind in kinds
	msg := sprintf("%s: %s", [label(i, s), kind_problem(kind, a, bn)])
}

resource_kind(r) := "any" if {
	r == "*"
} else := "object" if {
	is_string(r)
	regex.match(`^arn:aws:s3:::[^/]+/.+$`, r)
} else := "bucket" if {
	is_string(r)
	regex.match(`^arn:aws:s3:::[^/]+$`, r)
}

# Bucket actions: s3:ListBucket*, s3:GetBucket*, s3:PutBucket*,
# s3:DeleteBucket*, s3:CreateBucket and the bucket configuration actions.
# They are tested first, so s3:GetBucketObjectLockConfiguration is a bucket
# action. Object actions: every other s3: action with "object" in its name,
# and the object actions without it.
action_kind(a) := "bucket" if {
	regex.match(`^(?i)s3:((list|get|put|delete)bucket|createbucket$|(get|put)(accelerate|analytics|encryption|intelligenttiering|inventory|lifecycle|metrics|replication)configuration$)`, a)
} else := "object" if {
	regex.match(`^(?i)s3:(.*object|abortmultipartupload$|listmultipartuploadparts$|bypassgovernanceretention$|initiatereplication$|replicatedelete$|replicatetags$)`, a)
}

kind_problem("object", a, bn) := sprintf(`%s acts on objects, but Resource names no object ARN; add "arn:aws:s3:::%s/*" (or a narrower key pattern)`, [a, bn])

kind_problem("bucket", a, bn) := sprintf(`%s acts on the bucket, but Resource names no bucket ARN; add "arn:aws:s3:::%s" (without "/...")`, [a, bn])
