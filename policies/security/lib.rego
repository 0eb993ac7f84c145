# Helpers for the security pack. The engine compiles every pack on its own,
# so packs cannot share a library package: policies/baseline/lib.rego holds
# the same helpers in its own package. Keep the two in step.
package pail.security

# as_list turns the string-or-list forms of IAM elements into a list.
as_list(x) := x if is_array(x)

as_list(x) := [x] if not is_array(x)

# statements is the Statement element as a list ([] when missing or null).
default statements := []

# (as_list(input.policy.Statement), written out: calling a function on the
# whole list cost several percent of an evaluation.)
statements := s if {
	s := input.policy.Statement
	is_array(s)
}

statements := [s] if {
	s := input.policy.Statement
	s != null
	not is_array(s)
}

# statements_text is a text of the statements in which every string "*"
# shows as "*" (quotes included) and every NotPrincipal key as
# "NotPrincipal": — the engine's input.statements_json (json.marshal of the
# statements, written by the host), or else Rego's own, cheaper than
# json.marshal: sprintf %v.
statements_text := input.statements_json if {
	is_string(input.statements_json)
} else := sprintf("%v", [statements])

# label names a statement by index (0-based, in the order written) and Sid.
label(i, s) := sprintf("statement %d (%q)", [i, s.Sid]) if {
	is_string(s.Sid)
	s.Sid != ""
} else := sprintf("statement %d", [i])

# has(obj, key) is true when obj is an object with the key, even if null.
has(obj, key) if key in object.keys(obj)

# show renders a value as written, as JSON.
show(x) := json.marshal(x)

# bucket_name is the bucket's name at the provider, when the engine sent one.
bucket_name := n if {
	n := input.bucket.bucketName
	is_string(n)
	n != ""
}
