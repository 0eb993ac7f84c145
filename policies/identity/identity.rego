# Pack "identity": is the document a sound inline identity policy for an
# AccessKey's user? The AccessKey controller selects this pack by default;
# every rule is guarded by input.kind == "identity", so BucketPolicies that
# evaluate every loaded pack get nothing from it.
#
# Input: {"kind": "identity", "policy": <document>, "accessKey": {namespace,
# name, userName}, "provider": {name, driver}, "raw_size": <bytes>}.
package pail.identity

import rego.v1

# --- helpers -------------------------------------------------------------------

as_list(x) := x if is_array(x)

as_list(x) := [x] if not is_array(x)

default statements := []

statements := as_list(input.policy.Statement) if {
	input.kind == "identity"
	input.policy.Statement != null
}

label(i, s) := sprintf("statement %d (%q)", [i, s.Sid]) if {
	is_string(s.Sid)
	s.Sid != ""
} else := sprintf("statement %d", [i])

actions(s) := {lower(a) | some a in as_list(s.Action); is_string(a)}

resources(s) := {r | some r in as_list(s.Resource); is_string(r)}

# --- document ------------------------------------------------------------------

deny contains `identity policy has no Version; add "Version": "2012-10-17"` if {
	input.kind == "identity"
	object.get(input, ["policy", "Version"], null) == null
}

deny contains msg if {
	input.kind == "identity"
	v := input.policy.Version
	v != null
	not v in {"2012-10-17", "2008-10-17"}
	msg := sprintf(`identity policy Version %s is not a policy language version; use "2012-10-17"`, [json.marshal(v)])
}

deny contains "identity policy has no statements: give the AccessKey spec.buckets or a policy with at least one statement" if {
	input.kind == "identity"
	count(statements) == 0
}

# AWS limits inline user policies to 2,048 characters.
deny contains msg if {
	input.kind == "identity"
	is_number(input.raw_size)
	input.raw_size > 2048
	msg := sprintf("identity policy is %d bytes; inline user policies are limited to 2048: use fewer statements or wildcards in key patterns", [input.raw_size])
}

# --- statements ----------------------------------------------------------------

deny contains msg if {
	some i, s in statements
	not s.Effect in {"Allow", "Deny"}
	msg := sprintf("%s: Effect %s must be exactly \"Allow\" or \"Deny\"", [label(i, s), json.marshal(object.get(s, "Effect", null))])
}

deny contains msg if {
	some i, s in statements
	some k in {"Principal", "NotPrincipal"}
	k in object.keys(s)
	msg := sprintf("%s: an identity policy has no %s; the user it is attached to is the principal", [label(i, s), k])
}

deny contains msg if {
	some i, s in statements
	not "Action" in object.keys(s)
	not "NotAction" in object.keys(s)
	msg := sprintf("%s: needs an Action", [label(i, s)])
}

deny contains msg if {
	some i, s in statements
	s.Effect == "Allow"
	"NotAction" in object.keys(s)
	msg := sprintf("%s: NotAction with Effect \"Allow\" grants every action not listed, including ones added later; list the allowed actions instead", [label(i, s)])
}

deny contains msg if {
	some i, s in statements
	some a in actions(s)
	a != "*"
	not startswith(a, "s3:")
	msg := sprintf("%s: action %q is not an S3 action; an AccessKey's user may only be granted s3:* actions", [label(i, s), a])
}

deny contains msg if {
	some i, s in statements
	s.Effect == "Allow"
	some a in actions(s)
	a in {"*", "s3:*"}
	"*" in resources(s)
	msg := sprintf("%s: %s on Resource \"*\" makes this key an administrator of every bucket; name the buckets (arn:aws:s3:::<bucket>, arn:aws:s3:::<bucket>/*)", [label(i, s), a])
}

deny contains msg if {
	some i, s in statements
	some r in resources(s)
	r != "*"
	not startswith(r, "arn:aws:s3:::")
	msg := sprintf("%s: resource %q is not an S3 ARN (arn:aws:s3:::<bucket>[/<key>])", [label(i, s), r])
}

warn contains msg if {
	some i, s in statements
	s.Effect == "Allow"
	"*" in resources(s)
	not "*" in actions(s)
	not "s3:*" in actions(s)
	msg := sprintf("%s: Resource \"*\" grants these actions on every bucket of the account; name the buckets", [label(i, s)])
}

warn contains msg if {
	some i, s in statements
	s.Effect == "Allow"
	some a in actions(s)
	a in {"*", "s3:*"}
	not "*" in resources(s)
	msg := sprintf("%s: %s grants every S3 action, including deleting the bucket and changing its policy; list the actions the application needs", [label(i, s), a])
}
