package pail.identity

import rego.v1

fixture_rw := {
	"Sid": "RW",
	"Effect": "Allow",
	"Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
	"Resource": ["arn:aws:s3:::team-a-photos", "arn:aws:s3:::team-a-photos/*"],
}

fixture_input(policy) := {
	"kind": "identity",
	"policy": policy,
	"accessKey": {"namespace": "team-a", "name": "app", "userName": "pail-team-a-app"},
	"provider": {"name": "aws-prod", "driver": "aws"},
	"raw_size": 300,
}

doc(statements) := {"Version": "2012-10-17", "Statement": statements}

stmt(patch) := object.union(fixture_rw, patch)

denies(statements) := msgs if {
	msgs := deny with input as fixture_input(doc(statements))
}

warns(statements) := msgs if {
	msgs := warn with input as fixture_input(doc(statements))
}

has_msg(msgs, part) if {
	some m in msgs
	contains(m, part)
}

test_valid_policy_passes if {
	count(denies([fixture_rw])) == 0
	count(warns([fixture_rw])) == 0
}

test_only_identity_input_is_checked if {
	count(deny) == 0 with input as {"policy": {"Statement": [{"Effect": "Permit"}]}, "bucket": {}}
}

test_version_missing if {
	has_msg(deny, "no Version") with input as fixture_input({"Statement": [fixture_rw]})
	not has_msg(denies([fixture_rw]), "no Version")
}

test_version_unknown if {
	has_msg(deny, "not a policy language version") with input as fixture_input({"Version": "2020-01-01", "Statement": [fixture_rw]})
	not has_msg(denies([fixture_rw]), "not a policy language version")
}

test_no_statements if {
	has_msg(denies([]), "no statements")
	not has_msg(denies([fixture_rw]), "no statements")
}

test_size if {
	has_msg(deny, "2048") with input as object.union(fixture_input(doc([fixture_rw])), {"raw_size": 4000})
	not has_msg(denies([fixture_rw]), "2048")
}

test_effect if {
	has_msg(denies([stmt({"Effect": "Permit"})]), "Effect \"Permit\" must be exactly")
	not has_msg(denies([fixture_rw]), "must be exactly")
}

test_principal if {
	has_msg(denies([stmt({"Principal": "*"})]), "has no Principal")
	has_msg(denies([stmt({"NotPrincipal": {"AWS": "x"}})]), "has no NotPrincipal")
	not has_msg(denies([fixture_rw]), "Principal")
}

test_action_required if {
	has_msg(denies([object.remove(fixture_rw, ["Action"])]), "needs an Action")
	not has_msg(denies([fixture_rw]), "needs an Action")
}

test_notaction_allow if {
	has_msg(denies([object.union(object.remove(fixture_rw, ["Action"]), {"NotAction": "s3:DeleteBucket"})]), "NotAction")
	not has_msg(denies([object.union(object.remove(fixture_rw, ["Action"]), {"NotAction": "s3:DeleteBucket", "Effect": "Deny"})]), "NotAction")
}

test_non_s3_action if {
	has_msg(denies([stmt({"Action": "iam:CreateUser"})]), "\"iam:createuser\" is not an S3 action")
	not has_msg(denies([fixture_rw]), "not an S3 action")
}

test_admin_of_every_bucket if {
	has_msg(denies([stmt({"Action": "s3:*", "Resource": "*"})]), "administrator of every bucket")
	has_msg(denies([stmt({"Action": "*", "Resource": "*"})]), "administrator of every bucket")
	not has_msg(denies([stmt({"Action": "s3:*", "Resource": "*", "Effect": "Deny"})]), "administrator")
}

test_resource_not_s3_arn if {
	has_msg(denies([stmt({"Resource": "arn:aws:sqs:us-east-1:1:q"})]), "is not an S3 ARN")
	not has_msg(denies([fixture_rw]), "is not an S3 ARN")
}

test_warn_every_bucket if {
	has_msg(warns([stmt({"Action": "s3:ListAllMyBuckets", "Resource": "*"})]), "on every bucket")
	not has_msg(warns([fixture_rw]), "on every bucket")
}

test_warn_every_action if {
	has_msg(warns([stmt({"Action": "s3:*"})]), "grants every S3 action")
	not has_msg(warns([fixture_rw]), "grants every S3 action")
}
