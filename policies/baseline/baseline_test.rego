package pail.baseline

# Fixtures (test files are not loaded by the engine, so these never leak
# into the pack's output).

fixture_bucket := {"namespace": "team-a", "name": "photos", "bucketName": "team-a-photos", "public": false}

fixture_read := {
	"Sid": "Read",
	"Effect": "Allow",
	"Principal": {"AWS": "arn:aws:iam::111122223333:root"},
	"Action": ["s3:GetObject", "s3:ListBucket"],
	"Resource": ["arn:aws:s3:::team-a-photos", "arn:aws:s3:::team-a-photos/*"],
}

fixture_tls := {
	"Sid": "DenyInsecureTransport",
	"Effect": "Deny",
	"Principal": "*",
	"Action": "s3:*",
	"Resource": ["arn:aws:s3:::team-a-photos", "arn:aws:s3:::team-a-photos/*"],
	"Condition": {"Bool": {"aws:SecureTransport": "false"}},
}

fixture_input(policy) := {
	"policy": policy,
	"bucket": fixture_bucket,
	"provider": {"name": "aws-prod", "driver": "aws"},
	"raw_size": 1234,
}

fixture_doc(statements) := fixture_input({"Version": "2012-10-17", "Statement": statements})

# fixture_stmt is the read statement with some elements replaced.
fixture_stmt(patch) := object.union(fixture_read, patch)

fixture_deny(statements) := msgs if {
	msgs := deny with input as fixture_doc(statements)
}

fixture_has(msgs, part) if {
	some m in msgs
	contains(m, part)
}

# --- a good policy ------------------------------------------------------------

test_good_policy_passes if {
	count(deny) == 0 with input as fixture_doc([fixture_read, fixture_tls])
	count(warn) == 0 with input as fixture_doc([fixture_read, fixture_tls])
}

test_single_statement_object_form_passes if {
	count(deny) == 0 with input as fixture_input({"Version": "2012-10-17", "Statement": fixture_read})
}

test_string_forms_pass if {
	count(fixture_deny([fixture_stmt({"Action": "s3:GetObject", "Resource": "arn:aws:s3:::team-a-photos/*"})])) == 0
}

# --- Version ------------------------------------------------------------------

# AWS defaults a missing Version to the legacy language: a warning.
fixture_no_version_warning := `policy has no Version, so AWS reads it as the legacy "2008-10-17" language (no policy variables) and some backends (MinIO) refuse it; add "Version": "2012-10-17"`

test_version_missing_warned_not_denied if {
	count(deny) == 0 with input as fixture_input({"Statement": [fixture_read]})
	msgs := warn with input as fixture_input({"Statement": [fixture_read]})
	fixture_no_version_warning in msgs
}

test_version_null_warned_not_denied if {
	count(deny) == 0 with input as fixture_input({"Version": null, "Statement": [fixture_read]})
	msgs := warn with input as fixture_input({"Version": null, "Statement": [fixture_read]})
	fixture_no_version_warning in msgs
}

test_version_unknown_denied if {
	msgs := deny with input as fixture_input({"Version": "2012-10-18", "Statement": [fixture_read]})
	`Version "2012-10-18" is not a policy language version; use "2012-10-17"` in msgs
}

test_version_number_denied if {
	msgs := deny with input as fixture_input({"Version": 2012, "Statement": [fixture_read]})
	fixture_has(msgs, "Version 2012 is not a policy language version")
}

test_version_2008_allowed_with_warning if {
	count(deny) == 0 with input as fixture_input({"Version": "2008-10-17", "Statement": [fixture_read]})
	msgs := warn with input as fixture_input({"Version": "2008-10-17", "Statement": [fixture_read]})
	fixture_has(msgs, "legacy policy language")
}

test_version_2012_no_warning if {
	count(warn) == 0 with input as fixture_doc([fixture_read])
}

# --- Statement ----------------------------------------------------------------

test_statement_missing_denied if {
	msgs := deny with input as fixture_input({"Version": "2012-10-17"})
	"policy has no statements; add at least one entry to Statement" in msgs
}

test_statement_empty_list_denied if {
	"policy has no statements; add at least one entry to Statement" in fixture_deny([])
}

test_statement_null_denied if {
	msgs := deny with input as fixture_input({"Version": "2012-10-17", "Statement": null})
	"policy has no statements; add at least one entry to Statement" in msgs
}

test_statement_present_not_denied if {
	not fixture_has(fixture_deny([fixture_read]), "no statements")
}

test_statement_not_object_denied if {
	msgs := fixture_deny([fixture_read, "s3:GetObject"])
	`statement 1: must be an object with Effect, Principal, Action and Resource, not "s3:GetObject"` in msgs
}

test_policy_not_object_does_not_fail if {
	msgs := deny with input as fixture_input("just a string")
	"policy has no statements; add at least one entry to Statement" in msgs
}

# --- unknown elements ---------------------------------------------------------

test_unknown_top_level_element_denied if {
	msgs := deny with input as fixture_input({"Version": "2012-10-17", "Statement": [fixture_read], "Statements": []})
	`unknown policy element "Statements"; a policy has only Version, Id and Statement` in msgs
}

test_id_is_known if {
	count(deny) == 0 with input as fixture_input({"Version": "2012-10-17", "Id": "team-a", "Statement": [fixture_read]})
}

test_unknown_statement_element_denied if {
	msgs := fixture_deny([fixture_stmt({"Conditon": {"Bool": {"aws:SecureTransport": "true"}}})])
	fixture_has(msgs, `statement 0 ("Read"): unknown element "Conditon" (misspelt?)`)
}

test_every_known_statement_element_allowed if {
	msgs := fixture_deny([fixture_stmt({"Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}})])
	not fixture_has(msgs, "unknown element")
}

# --- size ---------------------------------------------------------------------

test_oversized_denied if {
	msgs := deny with input as object.union(fixture_doc([fixture_read]), {"raw_size": 20481})
	"policy document is 20481 bytes; S3 limits bucket policies to 20 KB (20480 bytes): merge statements or use key patterns" in msgs
}

test_size_at_limit_allowed if {
	count(deny) == 0 with input as object.union(fixture_doc([fixture_read]), {"raw_size": 20480})
}

test_size_missing_allowed if {
	count(deny) == 0 with input as object.remove(fixture_doc([fixture_read]), ["raw_size"])
}

# --- bucket name --------------------------------------------------------------

test_bucket_name_missing_denied if {
	msgs := deny with input as json.remove(fixture_doc([fixture_read]), ["bucket/bucketName"])
	"input.bucket.bucketName is missing: Resource ARNs cannot be checked against the bucket" in msgs
}

test_bucket_name_empty_denied if {
	msgs := deny with input as object.union(fixture_doc([fixture_read]), {"bucket": {"bucketName": ""}})
	fixture_has(msgs, "input.bucket.bucketName is missing")
}

test_bucket_name_present_not_denied if {
	not fixture_has(fixture_deny([fixture_read]), "bucketName is missing")
}

# --- Sid ----------------------------------------------------------------------

test_duplicate_sid_denied if {
	msgs := fixture_deny([fixture_read, fixture_tls, fixture_read])
	`Sid "Read" is used by statements 0, 2; each Sid must be unique` in msgs
}

# A statement without a Sid makes sids_distinct fail, so the full check runs
# and still finds the duplicate among the others.
test_duplicate_sid_beside_statement_without_sid_denied if {
	msgs := fixture_deny([fixture_read, object.remove(fixture_tls, ["Sid"]), fixture_read])
	`Sid "Read" is used by statements 0, 2; each Sid must be unique` in msgs
}

test_sids_distinct_only_when_every_statement_has_its_own if {
	sids_distinct with input as fixture_doc([fixture_read, fixture_tls])
	not sids_distinct with input as fixture_doc([fixture_read, fixture_read])
	not sids_distinct with input as fixture_doc([fixture_read, object.remove(fixture_tls, ["Sid"])])
}

test_unique_sids_allowed if {
	not fixture_has(fixture_deny([fixture_read, fixture_stmt({"Sid": "Read2"})]), "must be unique")
}

test_statements_without_sid_allowed if {
	s := object.remove(fixture_read, ["Sid"])
	count(fixture_deny([s, s])) == 0
}

test_sid_not_string_denied if {
	msgs := fixture_deny([fixture_stmt({"Sid": 7})])
	"statement 0: Sid must be a string, not 7" in msgs
}

test_label_without_sid if {
	msgs := fixture_deny([object.union(object.remove(fixture_read, ["Sid"]), {"Effect": "allow"})])
	`statement 0: Effect "allow" must be exactly "Allow" or "Deny"` in msgs
}

# --- Effect -------------------------------------------------------------------

test_effect_wrong_case_denied if {
	msgs := fixture_deny([fixture_stmt({"Effect": "allow"})])
	`statement 0 ("Read"): Effect "allow" must be exactly "Allow" or "Deny"` in msgs
}

test_effect_other_value_denied if {
	fixture_has(fixture_deny([fixture_stmt({"Effect": "Permit"})]), `Effect "Permit" must be exactly`)
}

test_effect_missing_denied if {
	msgs := fixture_deny([object.remove(fixture_read, ["Effect"])])
	`statement 0 ("Read"): Effect is missing; use "Allow" or "Deny"` in msgs
}

test_effect_allow_and_deny_accepted if {
	count(fixture_deny([fixture_read, fixture_tls])) == 0
}

# --- required pairs -----------------------------------------------------------

test_principal_missing_denied if {
	msgs := fixture_deny([object.remove(fixture_read, ["Principal"])])
	fixture_has(msgs, `statement 0 ("Read"): has neither Principal nor NotPrincipal`)
}

test_principal_and_not_principal_denied if {
	msgs := fixture_deny([fixture_stmt({"NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"}})])
	`statement 0 ("Read"): has both Principal and NotPrincipal; use one of them` in msgs
}

test_not_principal_alone_is_well_formed if {
	s := object.union(object.remove(fixture_read, ["Principal"]), {"NotPrincipal": {"AWS": "arn:aws:iam::1:root"}})
	count(fixture_deny([s])) == 0
}

test_action_missing_denied if {
	fixture_has(fixture_deny([object.remove(fixture_read, ["Action"])]), "has neither Action nor NotAction")
}

test_action_and_not_action_denied if {
	fixture_has(fixture_deny([fixture_stmt({"NotAction": "s3:DeleteObject"})]), "has both Action and NotAction")
}

test_not_action_alone_is_well_formed if {
	s := object.union(object.remove(fixture_read, ["Action"]), {"NotAction": "s3:DeleteObject"})
	count(fixture_deny([s])) == 0
}

test_resource_missing_denied if {
	fixture_has(fixture_deny([object.remove(fixture_read, ["Resource"])]), "has neither Resource nor NotResource")
}

test_resource_and_not_resource_denied if {
	fixture_has(fixture_deny([fixture_stmt({"NotResource": "arn:aws:s3:::team-a-photos/private/*"})]), "has both Resource and NotResource")
}

# --- actions ------------------------------------------------------------------

test_action_not_string_denied if {
	msgs := fixture_deny([fixture_stmt({"Action": ["s3:GetObject", 42]})])
	`statement 0 ("Read"): Action entry 42 must be a string like "s3:GetObject"` in msgs
}

test_action_malformed_denied if {
	msgs := fixture_deny([fixture_stmt({"Action": ["GetObject", "s3:", ":GetObject", "s3:Get:Object"]})])
	fixture_has(msgs, `Action "GetObject" is not "<service>:<action>"`)
	fixture_has(msgs, `Action "s3:" is not`)
	fixture_has(msgs, `Action ":GetObject" is not`)
	fixture_has(msgs, `Action "s3:Get:Object" is not`)
}

test_unknown_service_denied if {
	msgs := fixture_deny([fixture_stmt({"Action": ["s3:GetObject", "ec2:RunInstances"]})])
	`statement 0 ("Read"): Action "ec2:RunInstances" has unknown service prefix "ec2"; bucket policies take s3, s3-object-lambda and s3express actions (or "*")` in msgs
}

test_unknown_service_in_not_action_denied if {
	s := object.union(object.remove(fixture_read, ["Action"]), {"NotAction": ["iam:PassRole"]})
	fixture_has(fixture_deny([s]), `NotAction "iam:PassRole" has unknown service prefix "iam"`)
}

test_wildcard_service_denied if {
	fixture_has(fixture_deny([fixture_stmt({"Action": "*:GetObject"})]), `unknown service prefix "*"`)
}

test_known_services_allowed if {
	msgs := fixture_deny([fixture_stmt({"Action": [
		"s3:GetObject", "S3:ListBucket", "s3-object-lambda:GetObject",
		"s3express:CreateSession",
	]})])
	not fixture_has(msgs, "service prefix")
	not fixture_has(msgs, "is not \"<service>")
}

test_star_action_allowed if {
	count(fixture_deny([fixture_stmt({"Action": "*"})])) == 0
}

# --- resources ----------------------------------------------------------------

test_resource_not_string_denied if {
	msgs := fixture_deny([fixture_stmt({"Resource": ["arn:aws:s3:::team-a-photos/*", {"arn": "x"}]})])
	fixture_has(msgs, `statement 0 ("Read"): Resource entry {"arn":"x"} must be an ARN string`)
}

test_resource_star_denied if {
	msgs := fixture_deny([fixture_stmt({"Resource": "*"})])
	`statement 0 ("Read"): Resource "*" covers every bucket; name this bucket: "arn:aws:s3:::team-a-photos" and/or "arn:aws:s3:::team-a-photos/*"` in msgs

	# "*" counts as both resource kinds: no extra resource-type message.
	count(msgs) == 1
}

test_foreign_bucket_denied if {
	msgs := fixture_deny([fixture_stmt({"Resource": ["arn:aws:s3:::team-a-photos", "arn:aws:s3:::team-b-photos/*"]})])
	`statement 0 ("Read"): Resource "arn:aws:s3:::team-b-photos/*" is not in bucket "team-a-photos"; use "arn:aws:s3:::team-a-photos" or "arn:aws:s3:::team-a-photos/<key pattern>"` in msgs
}

test_bucket_name_prefix_is_foreign if {
	msgs := fixture_deny([fixture_stmt({"Resource": [
		"arn:aws:s3:::team-a-photos-backup/*",
		"arn:aws:s3:::team-a-photos*",
		"arn:aws:s3:::*",
		"arn:aws-cn:s3:::team-a-photos/*",
	]})])
	fixture_has(msgs, `Resource "arn:aws:s3:::team-a-photos-backup/*" is not in bucket`)
	fixture_has(msgs, `Resource "arn:aws:s3:::team-a-photos*" is not in bucket`)
	fixture_has(msgs, `Resource "arn:aws:s3:::*" is not in bucket`)
	fixture_has(msgs, `Resource "arn:aws-cn:s3:::team-a-photos/*" is not in bucket`)
}

test_foreign_not_resource_denied if {
	s := object.union(object.remove(fixture_read, ["Resource"]), {"NotResource": "arn:aws:s3:::elsewhere/*"})
	fixture_has(fixture_deny([s]), `NotResource "arn:aws:s3:::elsewhere/*" is not in bucket`)
}

test_own_bucket_resources_allowed if {
	msgs := fixture_deny([fixture_stmt({"Resource": [
		"arn:aws:s3:::team-a-photos",
		"arn:aws:s3:::team-a-photos/*",
		"arn:aws:s3:::team-a-photos/public/2024/*.jpg",
	]})])
	count(msgs) == 0
}

# --- action against resource type ---------------------------------------------

test_object_action_on_bucket_arn_denied if {
	msgs := fixture_deny([fixture_stmt({"Action": "s3:GetObject", "Resource": "arn:aws:s3:::team-a-photos"})])
	`statement 0 ("Read"): s3:GetObject acts on objects, but Resource names no object ARN; add "arn:aws:s3:::team-a-photos/*" (or a narrower key pattern)` in msgs
}

test_object_actions_need_object_arn if {
	msgs := fixture_deny([fixture_stmt({
		"Action": [
			"s3:PutObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload",
			"s3:ListMultipartUploadParts", "s3:RestoreObject", "s3:PutObjectRetention",
		],
		"Resource": "arn:aws:s3:::team-a-photos",
	})])
	count(msgs) == 6
	fixture_has(msgs, "s3:AbortMultipartUpload acts on objects")
	fixture_has(msgs, "s3:ListMultipartUploadParts acts on objects")
	fixture_has(msgs, "s3:PutObjectRetention acts on objects")
}

test_bucket_action_on_object_arn_denied if {
	msgs := fixture_deny([fixture_stmt({"Action": "s3:ListBucket", "Resource": "arn:aws:s3:::team-a-photos/*"})])
	`statement 0 ("Read"): s3:ListBucket acts on the bucket, but Resource names no bucket ARN; add "arn:aws:s3:::team-a-photos" (without "/...")` in msgs
}

test_bucket_actions_need_bucket_arn if {
	msgs := fixture_deny([fixture_stmt({
		"Action": [
			"s3:ListBucketVersions", "s3:GetBucketPolicy", "s3:PutBucketVersioning",
			"s3:DeleteBucketPolicy", "s3:ListBucketMultipartUploads",
			"s3:GetBucketObjectLockConfiguration", "s3:PutLifecycleConfiguration",
		],
		"Resource": "arn:aws:s3:::team-a-photos/*",
	})])
	count(msgs) == 7
	fixture_has(msgs, "s3:GetBucketObjectLockConfiguration acts on the bucket")
}

test_empty_key_is_not_an_object_arn if {
	msgs := fixture_deny([fixture_stmt({"Action": "s3:GetObject", "Resource": "arn:aws:s3:::team-a-photos/"})])
	fixture_has(msgs, "s3:GetObject acts on objects")
}

test_matching_resource_types_allowed if {
	msgs := fixture_deny([
		fixture_stmt({"Sid": "Objects", "Action": ["s3:GetObject", "s3:PutObjectTagging"], "Resource": "arn:aws:s3:::team-a-photos/uploads/*"}),
		fixture_stmt({"Sid": "Bucket", "Action": ["s3:ListBucket", "s3:GetBucketObjectLockConfiguration"], "Resource": "arn:aws:s3:::team-a-photos"}),
		fixture_stmt({"Sid": "Both", "Action": ["s3:GetObject", "s3:ListBucket"]}),
	])
	count(msgs) == 0
}

test_wildcard_actions_exempt if {
	msgs := fixture_deny([
		fixture_stmt({"Sid": "All", "Action": ["s3:*", "s3:GetObject"], "Resource": "arn:aws:s3:::team-a-photos"}),
		fixture_stmt({"Sid": "Get", "Action": ["s3:Get*", "s3:ListBucket"], "Resource": "arn:aws:s3:::team-a-photos/*"}),
		fixture_stmt({"Sid": "Q", "Action": ["s3:GetObjec?"], "Resource": "arn:aws:s3:::team-a-photos"}),
	])
	count(msgs) == 0
}

test_unclassified_actions_not_checked if {
	msgs := fixture_deny([fixture_stmt({"Action": ["s3express:CreateSession", "s3-object-lambda:GetObject"], "Resource": "arn:aws:s3:::team-a-photos"})])
	count(msgs) == 0
}

# --- fast path ------------------------------------------------------------------

# The parts of statement_pattern and any_kind_statement_pattern (see
# baseline.rego).

# The keys of a statement in sorted order: Action, Condition, Effect,
# NotAction, NotPrincipal, NotResource, Principal, Resource, Sid.
document_pattern_built := concat("", [`^\[(?:`, statement_pattern_built, `[,\]])+$`])

statement_pattern_built := concat("", [`\{(?:`, with_both_kinds, `)`, sid_and_end])

any_kind_statement_pattern_built := concat("", [
	`^\{(?:`, with_both_kinds,
	`|"Action":`, list_pattern(object_action), statement_middle, who_and_resources(list_pattern(`"\x01/[^"\\]+"`)),
	`|"Action":`, list_pattern(bucket_action), statement_middle, who_and_resources(list_pattern(`"\x01"`)),
	`)`, sid_and_end, `$`,
])

# Actions that action_kind cannot call bucket actions (or that exempt the
# statement, with a wildcard), and the other way round. Only s3: actions
# have a kind.
object_action := `"(?i:\*|s3:(?:get|put|delete)object[^:"\\]*|s3:[^:"\\]*[*?][^:"\\]*|(?:s3-object-lambda|s3express):[^:"\\]+)"`

bucket_action := `"(?i:\*|s3:(?:list|get|put|delete)bucket[^:"\\]*|s3:createbucket|s3:[^:"\\]*[*?][^:"\\]*|(?:s3-object-lambda|s3express):[^:"\\]+)"`

sid_and_end := `(?:,"Sid":"[^"\\]*")?\}`

statement_middle := concat("", [`(?:,"Condition":`, condition_pattern, `)?,"Effect":"(?:Allow|Deny)"`])

with_both_kinds := concat("", [
	`"Action":`, actions, statement_middle, who_and_resources(both_kinds),
	`|(?:"Condition":`, condition_pattern, `,)?"Effect":"(?:Allow|Deny)","NotAction":`, actions, who_and_resources(resources),
]) if {
	resource := `"\x01(?:/[^"\\]*)?"`
	resources := list_pattern(resource)
	both_kinds := concat("", [
		`\[(?:`, resource, `,)*(?:`,
		`"\x01"(?:,`, resource, `)*,"\x01/[^"\\]+"`,
		`|"\x01/[^"\\]+"(?:,`, resource, `)*,"\x01"`,
		`)(?:,`, resource, `)*\]`,
	])

	# the regex of valid_action, for a string without escapes
	actions := list_pattern(`"(?i:\*|(?:s3|s3-object-lambda|s3express):[^:"\\]+)"`)
}

# operator → key → scalar or list of scalars
condition_pattern := concat("", [`\{(?:`, operator, `(?:,`, operator, `)*)?\}`]) if {
	scalar := `(?:"[^"\\]*"|true|false|-?[0-9][0-9.eE+-]*)`
	pairs := concat("", [`"[^"\\]*":`, list_pattern(scalar)])
	operator := concat("", [`"[^"\\]*":\{(?:`, pairs, `(?:,`, pairs, `)*)?\}`])
}

# who_and_resources: exactly one of Principal and NotPrincipal, exactly one
# of Resource (with the given pattern) and NotResource, in key order.
who_and_resources(resource) := concat("", [
	`(?:,"NotPrincipal":`, principal, `,"NotResource":`, not_resource,
	`|,"NotPrincipal":`, principal, `,"Resource":`, resource,
	`|,"NotResource":`, not_resource, `,"Principal":`, principal,
	`|,"Principal":`, principal, `,"Resource":`, resource,
	`)`,
]) if {
	not_resource := list_pattern(`"\x01(?:/[^"\\]*)?"`)
	principal_pair := concat("", [`"[^"\\]*":`, list_pattern(`"[^"\\]*"`)])
	principal := concat("", [`(?:"[^"\\]*"|\{(?:`, principal_pair, `(?:,`, principal_pair, `)*)?\})`])
}

# list_pattern: one element, or a list of them (the forms as_list accepts).
# The brackets are optional each on its own: the text is valid JSON, so a
# value that starts with "[" ends with "]", and a string holds no unescaped
# quote.
list_pattern(element) := concat("", [`\[?(?:`, element, `(?:,`, element, `)*)?\]?`])

test_document_pattern_is_the_built_one if {
	document_pattern == document_pattern_built
}

test_any_kind_statement_pattern_is_the_built_one if {
	any_kind_statement_pattern == any_kind_statement_pattern_built
}

# A public-read statement names only objects: it is not cleared with the
# document, but on its own.
test_single_kind_statement_cleared_on_its_own if {
	doc := fixture_doc([fixture_stmt({"Action": "s3:GetObject", "Resource": "arn:aws:s3:::team-a-photos/*"})])
	not clean_document with input as doc
	count(suspect) == 0 with input as doc
}

test_bucket_action_on_objects_stays_suspect if {
	doc := fixture_doc([fixture_stmt({"Action": "s3:ListBucket", "Resource": "arn:aws:s3:::team-a-photos/*"})])
	suspect == {0} with input as doc
	fixture_has(deny, "s3:ListBucket acts on the bucket") with input as doc
}

# The engine sends the statements' JSON text; without it the pack makes it.
test_statements_text_from_the_engine if {
	doc := object.union(fixture_doc([fixture_read]), {"statements_json": "[engine text]"})
	statements_text == "[engine text]" with input as doc
}

test_statements_text_made_here_without_the_engine if {
	statements_text == json.marshal([fixture_read]) with input as fixture_doc([fixture_read])
}
