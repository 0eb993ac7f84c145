# Pack "security": who can do what. Denies grants that open the bucket to
# everyone for writing (or for everything), and Allow with NotPrincipal;
# warns about public read on a Bucket that is not marked public, and, when
# the Bucket asks for it, about a policy that does not refuse plain-HTTP
# requests.
#
# The engine evaluates all of data.pail on every apply: constants are
# written inline rather than as rules (every rule of the package is part of
# data.pail, evaluated and copied into the result), and the per-action work
# happens only for the statements that grant something to everyone.
package pail.security

# --- principals and actions ---------------------------------------------------

# public_principal: "*" in any form: "*", {"AWS": "*"}, {"AWS": ["*", ...]}.
public_principal(s) if s.Principal == "*"

public_principal(s) if {
	is_object(s.Principal)
	some v in s.Principal
	"*" in as_list(v)
}

actions(s) := [a | some a in as_list(s.Action); is_string(a)]

# full_access: the pattern covers every S3 action ("*", "s3:*", "s3:?*" ...).
full_access(a) if glob.match(lower(a), [], "s3:*")

# wildcard: an action pattern with * or ?.
wildcard(x) if contains(x, "*")

wildcard(x) if contains(x, "?")

# write_action: changes data or configuration. A plain action by its verb
# (s3:Put*, s3:Delete*, s3:AbortMultipartUpload, s3:RestoreObject,
# s3:Replicate*, s3express:CreateSession, ...); a wildcard pattern when it
# matches one of the known write actions.
write_action(a) if {
	not wildcard(a)
	regex.match(`^(?i)[^:]+:(put|delete|abort|restore|replicate|write|bypass|create|initiate|objectowneroverride)`, a)
}

write_action(a) if {
	wildcard(a)
	pattern := lower(a)
	some w in [
		"s3:putobject", "s3:putobjectacl", "s3:putobjecttagging",
		"s3:putobjectretention", "s3:putobjectlegalhold",
		"s3:deleteobject", "s3:deleteobjectversion", "s3:deleteobjecttagging",
		"s3:abortmultipartupload", "s3:restoreobject",
		"s3:replicateobject", "s3:replicatedelete", "s3:replicatetags",
		"s3:bypassgovernanceretention", "s3:objectowneroverridetobucketowner",
		"s3:putbucketpolicy", "s3:deletebucketpolicy", "s3:putbucketacl",
		"s3:putbucketversioning", "s3:putlifecycleconfiguration",
		"s3:putencryptionconfiguration", "s3:createbucket", "s3:deletebucket",
		"s3express:createsession",
		"s3-object-lambda:putobject", "s3-object-lambda:deleteobject",
		"s3-object-lambda:abortmultipartupload",
		"s3-object-lambda:writegetobjectresponse",
	]
	glob.match(pattern, [], w)
}

# read_action: s3:Get*, s3:List*; a wildcard pattern when it matches one of
# the common read actions.
read_action(a) if {
	not wildcard(a)
	regex.match(`^(?i)[^:]+:(get|list)`, a)
}

read_action(a) if {
	wildcard(a)
	pattern := lower(a)
	some r in [
		"s3:getobject", "s3:getobjectversion", "s3:listbucket",
		"s3:listbucketversions", "s3-object-lambda:getobject",
		"s3-object-lambda:listbucket",
	]
	glob.match(pattern, [], r)
}

# candidates: the indexes of the statements that any rule here can be about.
# Every rule needs a public principal ("*" as a string somewhere in
# Principal) or a NotPrincipal, and both show in the statement's text as
# "*" (quotes included) or "NotPrincipal": — so one substring search in the
# document's text, then in each statement's when that finds one, clears
# most documents at once, without a builtin call per statement element. A
# statement that merely mentions "*" elsewhere is a candidate for nothing
# worse than the full check. The document's text is statements_text (the
# engine's JSON, or sprintf %v: strings quoted as Go does, keys sorted);
# each statement's is sprintf %v.
default candidates := set()

candidates := {i |
	some i, s in statements
	may_matter(sprintf("%v", [s]))
} if may_matter(statements_text)

may_matter(text) if contains(text, `"*"`)

may_matter(text) if contains(text, `"NotPrincipal":`)

# public_allows: the indexes of the Allow statements with a public principal.
# Most policies have none, so the rules below usually have nothing to do.
public_allows contains i if {
	some i in candidates
	s := statements[i]
	s.Effect == "Allow"
	public_principal(s)
}

# --- deny ---------------------------------------------------------------------

deny contains msg if {
	some i in public_allows
	s := statements[i]
	some a in actions(s)
	full_access(a)
	msg := sprintf("%s: Principal %s may not be granted %s (every S3 action); name the principals that need access and the actions they need", [label(i, s), show(s.Principal), a])
}

deny contains msg if {
	some i in public_allows
	s := statements[i]
	some a in actions(s)
	not full_access(a)
	write_action(a)
	msg := sprintf("%s: Principal %s may not be granted %s (public write: anyone could change or delete data); name the principals that may write", [label(i, s), show(s.Principal), a])
}

deny contains msg if {
	some i in public_allows
	s := statements[i]
	has(s, "NotAction")
	msg := sprintf("%s: Principal %s with NotAction is granted every action not listed, writes included; list the allowed actions in Action instead", [label(i, s), show(s.Principal)])
}

deny contains msg if {
	some i in candidates
	s := statements[i]
	s.Effect == "Allow"
	has(s, "NotPrincipal")
	msg := sprintf(`%s: NotPrincipal with Effect "Allow" grants access to everyone except %s; name the principals in Principal instead`, [label(i, s), show(s.NotPrincipal)])
}

# --- warn ---------------------------------------------------------------------

# Public read on a Bucket that did not opt into being public: a warning of
# its own for every such statement, whatever else is said about it (a
# statement denied for public write that also reads gets it too, so that
# with enforcementMode Warn it is not lost among the denials), and under a
# Condition as well: a Condition narrows who can read, but the principal is
# still everyone, and whether the Condition holds back the internet is for
# a person to check.
warn contains msg if {
	some i in public_allows
	s := statements[i]
	not input.bucket.public == true
	reads := [a | some a in actions(s); read_action(a)]
	count(reads) > 0
	msg := public_read_message(label(i, s), s, reads)
}

public_read_message(l, s, reads) := sprintf("%s: public read: Principal %s can read with %s wherever its Condition (%s) holds; check that the Condition keeps out everyone who must not read, or name the principals (a Bucket meant to be public is marked with the annotation pail.dev/public: \"true\")", [l, show(s.Principal), concat(", ", reads), condition_keys(s.Condition)]) if {
	is_object(s.Condition)
	count(s.Condition) > 0
} else := sprintf("%s: public read: Principal %s can read with %s, so anyone on the internet can; if the bucket is meant to be public, mark the Bucket with the annotation pail.dev/public: \"true\", otherwise add an aws:SourceIp or aws:SourceVpce condition or name the principals", [l, show(s.Principal), concat(", ", reads)])

# condition_keys lists a Condition's operators and keys: "IpAddress aws:SourceIp".
condition_keys(c) := concat(", ", sort([entry |
	some op, keys in c
	some key in condition_key_names(keys)
	entry := sprintf("%s %s", [op, key])
]))

condition_key_names(keys) := object.keys(keys) if is_object(keys)

condition_key_names(keys) := {show(keys)} if not is_object(keys)

# A Bucket asks for TLS-only access with the annotation pail.dev/require-tls:
# "true" (input.bucket.requireTLS). Without it there is no warning: a
# warning on nearly every document buried the ones that matter.
warn contains msg if {
	input.bucket.requireTLS == true
	not enforces_tls
	bn := display_bucket
	msg := sprintf(`no statement denies requests without TLS, and the Bucket asks for TLS only (pail.dev/require-tls); add {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::%s", "arn:aws:s3:::%s/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}`, [bn, bn])
}

display_bucket := n if {
	n := bucket_name
} else := "<bucketName>"

# enforces_tls: a Deny for everyone, for every S3 action, when
# aws:SecureTransport is false.
enforces_tls if {
	some i in candidates
	s := statements[i]
	s.Effect == "Deny"
	public_principal(s)
	some a in actions(s)
	full_access(a)
	denies_insecure(s.Condition)
}

denies_insecure(condition) if {
	some op, keys in condition
	lower(op) in {"bool", "boolifexists"}
	some key, value in keys
	lower(key) == "aws:securetransport"
	some v in as_list(value)
	false_value(v)
}

false_value(v) if v == false

false_value(v) if {
	is_string(v)
	lower(v) == "false"
}
