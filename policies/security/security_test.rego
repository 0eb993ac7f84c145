package pail.security

# Fixtures (test files are not loaded by the engine).

fixture_bucket := {"namespace": "team-a", "name": "photos", "bucketName": "team-a-photos", "public": false}

fixture_tls := {
	"Sid": "DenyInsecureTransport",
	"Effect": "Deny",
	"Principal": "*",
	"Action": "s3:*",
	"Resource": ["arn:aws:s3:::team-a-photos", "arn:aws:s3:::team-a-photos/*"],
	"Condition": {"Bool": {"aws:SecureTransport": "false"}},
}

fixture_private := {
	"Sid": "TeamRead",
	"Effect": "Allow",
	"Principal": {"AWS": "arn:aws:iam::111122223333:root"},
	"Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
	"Resource": ["arn:aws:s3:::team-a-photos", "arn:aws:s3:::team-a-photos/*"],
}

fixture_public_read := {
	"Sid": "PublicRead",
	"Effect": "Allow",
	"Principal": "*",
	"Action": "s3:GetObject",
	"Resource": "arn:aws:s3:::team-a-photos/*",
}

fixture_doc(statements) := {
	"policy": {"Version": "2012-10-17", "Statement": statements},
	"bucket": fixture_bucket,
	"provider": {"name": "aws-prod", "driver": "aws"},
	"raw_size": 1234,
}

fixture_public_doc(statements) := object.union(fixture_doc(statements), {"bucket": {"public": true}})

fixture_deny(statements) := msgs if {
	msgs := deny with input as fixture_doc(statements)
}

fixture_warn(statements) := msgs if {
	msgs := warn with input as fixture_doc(statements)
}

# fixture_tls_warn: the warnings for a Bucket that asks for TLS only.
fixture_tls_warn(statements) := msgs if {
	msgs := warn with input as object.union(fixture_doc(statements), {"bucket": {"requireTLS": true}})
}

fixture_public(patch) := object.union(fixture_public_read, patch)

fixture_has(msgs, part) if {
	some m in msgs
	contains(m, part)
}

fixture_tls_warning := `no statement denies requests without TLS, and the Bucket asks for TLS only (pail.dev/require-tls); add {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::team-a-photos", "arn:aws:s3:::team-a-photos/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}`

# --- a good policy ------------------------------------------------------------

test_private_tls_policy_passes if {
	count(fixture_deny([fixture_private, fixture_tls])) == 0
	count(fixture_warn([fixture_private, fixture_tls])) == 0
}

# --- public write ---------------------------------------------------------------

test_public_write_denied if {
	msgs := fixture_deny([fixture_tls, fixture_public({"Sid": "PublicWrite", "Action": "s3:PutObject"})])
	`statement 1 ("PublicWrite"): Principal "*" may not be granted s3:PutObject (public write: anyone could change or delete data); name the principals that may write` in msgs
}

test_public_write_every_principal_form_denied if {
	every principal in ["*", {"AWS": "*"}, {"AWS": ["*"]}, {"AWS": ["arn:aws:iam::1:root", "*"]}] {
		fixture_has(fixture_deny([fixture_public({"Principal": principal, "Action": "s3:PutObject"})]), "may not be granted s3:PutObject")
	}
}

test_public_write_actions_denied if {
	every action in [
		"s3:PutObject", "s3:putobject", "s3:DeleteObject", "s3:DeleteObjectVersion",
		"s3:PutObjectAcl", "s3:PutBucketPolicy", "s3:AbortMultipartUpload",
		"s3:RestoreObject", "s3:ReplicateObject", "s3:BypassGovernanceRetention",
		"s3:Put*", "s3:Delete*", "s3:*Object", "s3:P*", "s3express:CreateSession",
		"s3-object-lambda:WriteGetObjectResponse",
	] {
		msgs := fixture_deny([fixture_public({"Action": ["s3:GetObject", action]})])
		fixture_has(msgs, sprintf("may not be granted %s (public write", [action]))
		count(msgs) == 1
	}
}

test_single_character_wildcard_write_denied if {
	fixture_has(fixture_deny([fixture_public({"Action": "s3:?utObject"})]), "may not be granted s3:?utObject (public write")
}

test_statement_without_sid_named_by_index if {
	msgs := fixture_deny([fixture_tls, object.remove(fixture_public({"Action": "s3:PutObject"}), ["Sid"])])
	`statement 1: Principal "*" may not be granted s3:PutObject (public write: anyone could change or delete data); name the principals that may write` in msgs
}

test_public_read_actions_not_write if {
	every action in ["s3:GetObject", "s3:Get*", "s3:ListBucket", "s3:List*", "s3:GetObjectVersion"] {
		count(fixture_deny([fixture_public({"Action": action})])) == 0
	}
}

test_named_principal_write_allowed if {
	count(fixture_deny([fixture_private])) == 0
}

test_public_deny_statement_not_denied if {
	count(fixture_deny([fixture_public({"Effect": "Deny", "Action": ["s3:PutObject", "s3:DeleteObject"]})])) == 0
}

test_public_write_denied_despite_condition if {
	s := fixture_public({"Action": "s3:PutObject", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c"}}})
	fixture_has(fixture_deny([s]), "may not be granted s3:PutObject")
}

# --- full access ----------------------------------------------------------------

test_public_full_access_denied if {
	msgs := fixture_deny([fixture_public({"Sid": "Everything", "Action": "s3:*"})])
	`statement 0 ("Everything"): Principal "*" may not be granted s3:* (every S3 action); name the principals that need access and the actions they need` in msgs

	# one message for s3:*, not a second one for "public write"
	count(msgs) == 1
}

test_public_star_action_denied if {
	msgs := fixture_deny([fixture_public({"Principal": {"AWS": "*"}, "Action": ["*"]})])
	`statement 0 ("PublicRead"): Principal {"AWS":"*"} may not be granted * (every S3 action); name the principals that need access and the actions they need` in msgs
}

test_public_full_access_case_insensitive if {
	fixture_has(fixture_deny([fixture_public({"Action": "S3:*"})]), "may not be granted S3:* (every S3 action)")
}

test_named_full_access_allowed if {
	count(fixture_deny([object.union(fixture_private, {"Action": "s3:*"})])) == 0
}

test_public_deny_full_access_allowed if {
	count(fixture_deny([fixture_tls])) == 0
}

# --- NotAction ------------------------------------------------------------------

test_public_not_action_denied if {
	s := object.union(object.remove(fixture_public_read, ["Action"]), {"NotAction": "s3:DeleteBucket"})
	msgs := fixture_deny([s])
	`statement 0 ("PublicRead"): Principal "*" with NotAction is granted every action not listed, writes included; list the allowed actions in Action instead` in msgs
}

test_named_not_action_allowed if {
	s := object.union(object.remove(fixture_private, ["Action"]), {"NotAction": "s3:DeleteBucket"})
	count(fixture_deny([s])) == 0
}

# --- NotPrincipal ---------------------------------------------------------------

test_not_principal_allow_denied if {
	s := object.union(object.remove(fixture_private, ["Principal"]), {"NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"}})
	msgs := fixture_deny([s])
	`statement 0 ("TeamRead"): NotPrincipal with Effect "Allow" grants access to everyone except {"AWS":"arn:aws:iam::111122223333:root"}; name the principals in Principal instead` in msgs
}

test_not_principal_deny_allowed if {
	s := {
		"Sid": "OnlyTeam",
		"Effect": "Deny",
		"NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
		"Action": "s3:*",
		"Resource": "arn:aws:s3:::team-a-photos/*",
	}
	count(fixture_deny([s])) == 0
}

# --- public read ----------------------------------------------------------------

test_public_read_warned if {
	msgs := fixture_warn([fixture_tls, fixture_public_read])
	`statement 1 ("PublicRead"): public read: Principal "*" can read with s3:GetObject, so anyone on the internet can; if the bucket is meant to be public, mark the Bucket with the annotation pail.dev/public: "true", otherwise add an aws:SourceIp or aws:SourceVpce condition or name the principals` in msgs
	count(msgs) == 1
}

test_public_read_forms_warned if {
	every action in [["s3:GetObject"], ["s3:Get*"], ["s3:ListBucket"], ["s3:GetObject", "s3:ListBucket"], ["s3:getobjectversion"]] {
		every principal in ["*", {"AWS": "*"}, {"AWS": ["*"]}] {
			s := fixture_public({"Principal": principal, "Action": action})
			fixture_has(fixture_warn([fixture_tls, s]), "so anyone on the internet can")
		}
	}
}

test_public_read_on_public_bucket_not_warned if {
	count(warn) == 0 with input as fixture_public_doc([fixture_tls, fixture_public_read])
	count(deny) == 0 with input as fixture_public_doc([fixture_tls, fixture_public_read])
}

test_public_read_warned_when_bucket_public_is_missing if {
	msgs := warn with input as json.remove(fixture_doc([fixture_tls, fixture_public_read]), ["bucket/public"])
	fixture_has(msgs, "so anyone on the internet can")
}

test_public_bucket_still_denies_public_write if {
	msgs := deny with input as fixture_public_doc([fixture_tls, fixture_public({"Action": "s3:PutObject"})])
	fixture_has(msgs, "may not be granted s3:PutObject")
}

# A Condition narrows who can read, but the principal is still everyone:
# the statement keeps its public read warning, which names the Condition.
test_public_read_under_condition_warned if {
	s := fixture_public({"Condition": {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}})
	msgs := fixture_warn([fixture_tls, s])
	`statement 1 ("PublicRead"): public read: Principal "*" can read with s3:GetObject wherever its Condition (IpAddress aws:SourceIp) holds; check that the Condition keeps out everyone who must not read, or name the principals (a Bucket meant to be public is marked with the annotation pail.dev/public: "true")` in msgs
	count(msgs) == 1
}

test_public_read_under_any_condition_warned if {
	every condition in [
		{"StringEquals": {"aws:sourceVpce": "vpce-1a2b3c"}},
		{"StringLike": {"aws:SourceVpc": "vpc-1"}, "Bool": {"aws:SecureTransport": "true"}},
		{"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
		{"IpAddressIfExists": {"aws:SourceIp": "203.0.113.0/24"}},
		{"StringEquals": {"aws:Referer": "https://example.com"}},
		{"Odd": "not an object"},
	] {
		s := fixture_public({"Condition": condition})
		fixture_has(fixture_warn([fixture_tls, s]), `statement 1 ("PublicRead"): public read: Principal "*" can read with s3:GetObject wherever its Condition (`)
	}
}

test_public_read_condition_keys_named if {
	s := fixture_public({"Condition": {"StringLike": {"aws:SourceVpc": "vpc-1"}, "Bool": {"aws:SecureTransport": "true"}}})
	fixture_has(fixture_warn([s]), "wherever its Condition (Bool aws:SecureTransport, StringLike aws:SourceVpc) holds")
}

test_public_read_empty_condition_is_no_condition if {
	s := fixture_public({"Condition": {}})
	fixture_has(fixture_warn([s]), "so anyone on the internet can")
}

test_named_read_not_warned if {
	count(fixture_warn([fixture_tls, fixture_private])) == 0
}

# NotAction names no read action to warn about; the deny says it all.
test_public_not_action_statement_not_also_warned if {
	s := object.union(object.remove(fixture_public_read, ["Action"]), {"NotAction": "s3:DeleteObject"})
	count(fixture_warn([fixture_tls, s])) == 0
	fixture_has(fixture_deny([fixture_tls, s]), "with NotAction is granted every action not listed")
}

# Denied for the write, and warned for the read: with enforcementMode Warn
# the denial becomes a warning, and the read must not be lost beside it.
test_public_write_statement_also_warned_for_read if {
	s := fixture_public({"Action": ["s3:GetObject", "s3:PutObject"]})
	fixture_has(fixture_warn([fixture_tls, s]), `statement 1 ("PublicRead"): public read: Principal "*" can read with s3:GetObject,`)
	fixture_has(fixture_deny([fixture_tls, s]), "may not be granted s3:PutObject")
}

test_public_full_access_also_warned_for_read if {
	fixture_has(fixture_warn([fixture_public({"Action": "s3:*"})]), "public read: Principal \"*\" can read with s3:*")
}

# --- TLS ------------------------------------------------------------------------

test_no_tls_statement_warned if {
	fixture_tls_warning in fixture_tls_warn([fixture_private])
}

# Off unless the Bucket asks for it: it fired on nearly every document and
# buried the warnings that matter.
test_no_tls_statement_not_warned_unless_asked if {
	count(fixture_warn([fixture_private])) == 0
	count(warn) == 0 with input as object.union(fixture_doc([fixture_private]), {"bucket": {"requireTLS": false}})
	count(warn) == 0 with input as object.union(fixture_doc([fixture_private]), {"bucket": {"requireTLS": "true"}})
}

test_tls_statement_forms_accepted if {
	every condition in [
		{"Bool": {"aws:SecureTransport": "false"}},
		{"Bool": {"aws:SecureTransport": false}},
		{"Bool": {"aws:SecureTransport": ["false"]}},
		{"bool": {"aws:securetransport": "FALSE"}},
		{"BoolIfExists": {"aws:SecureTransport": "false"}},
	] {
		every principal in ["*", {"AWS": "*"}, {"AWS": ["*"]}] {
			s := object.union(fixture_tls, {"Principal": principal, "Condition": condition})
			not fixture_tls_warning in fixture_tls_warn([fixture_private, s])
		}
	}
}

test_tls_statement_with_star_action_accepted if {
	s := object.union(fixture_tls, {"Action": ["*"]})
	count(fixture_tls_warn([fixture_private, s])) == 0
}

test_weak_tls_statements_warned if {
	every s in [
		object.union(fixture_tls, {"Effect": "Allow"}),
		object.union(fixture_tls, {"Condition": {"Bool": {"aws:SecureTransport": "true"}}}),
		object.union(fixture_tls, {"Principal": {"AWS": "arn:aws:iam::111122223333:root"}}),
		object.union(fixture_tls, {"Action": "s3:GetObject"}),
		object.remove(fixture_tls, ["Condition"]),
	] {
		fixture_tls_warning in fixture_tls_warn([fixture_private, s])
	}
}

test_tls_warning_without_bucket_name if {
	msgs := warn with input as json.remove(object.union(fixture_doc([fixture_private]), {"bucket": {"requireTLS": true}}), ["bucket/bucketName"])
	fixture_has(msgs, `"Resource": ["arn:aws:s3:::<bucketName>", "arn:aws:s3:::<bucketName>/*"]`)
}

# --- odd input ------------------------------------------------------------------

test_odd_input_does_not_fail if {
	msgs := warn with input as {"policy": {"Statement": ["x", 1, null, {"Principal": 7}]}, "bucket": {"requireTLS": true}}
	fixture_has(msgs, "no statement denies requests without TLS")
	count(deny) == 0 with input as {"policy": "nonsense"}
}

# The engine sends the statements' JSON text; without it the pack makes its
# own text, in which "*" and NotPrincipal show the same way.
test_statements_text_from_the_engine if {
	doc := object.union(fixture_doc([fixture_tls]), {"statements_json": "[engine text]"})
	statements_text == "[engine text]" with input as doc
}

test_statements_text_made_here_without_the_engine if {
	text := statements_text with input as fixture_doc([fixture_public_read, object.union(fixture_private, {"NotPrincipal": "x"})])
	contains(text, `"*"`)
	contains(text, `"NotPrincipal":`)
}

test_single_statement_object_form_checked if {
	msgs := warn with input as object.union(fixture_doc([]), {"policy": {"Statement": fixture_public_read}})
	fixture_has(msgs, `statement 0 ("PublicRead"): public read:`)
}
