#!/usr/bin/env bash
# The CI recipe of policies/README.md, run on real manifests by make test:
# turn a BucketPolicy (and its Bucket) into the packs' input with opa eval,
# then gate on every pack's deny. A good policy must pass, a bad one fail.
set -euo pipefail
opa=${OPA:-opa}
dir=$(cd "$(dirname "$0")" && pwd)
packs=$(cd "$dir/../../policies" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

to_input() { # $1 bucketpolicy.yaml, $2 bucket.yaml
  "$opa" eval --format raw -i "$1" -d "$2" '{
    "policy": input.spec.policy,
    "bucket": {"namespace": data.metadata.namespace, "name": data.metadata.name,
               "bucketName": data.spec.bucketName,
               "public": object.get(object.get(data.metadata, "annotations", {}), "pail.dev/public", "false") == "true",
               "requireTLS": object.get(object.get(data.metadata, "annotations", {}), "pail.dev/require-tls", "false") == "true"},
    "provider": {"name": data.spec.providerRef.name},
    "raw_size": count(json.marshal(input.spec.policy))
  }'
}

gate() { "$opa" eval --fail-defined --format pretty -d "$packs/baseline" -d "$packs/security" -i "$1" 'msg := data.pail[pack].deny[_]'; }

to_input "$dir/good-bucketpolicy.yaml" "$dir/bucket.yaml" > "$tmp/good.json"
to_input "$dir/bad-bucketpolicy.yaml" "$dir/bucket.yaml" > "$tmp/bad.json"
if ! gate "$tmp/good.json" > "$tmp/good.out"; then
  echo "policies/ci: the good BucketPolicy was denied:"; cat "$tmp/good.out"; exit 1
fi
if gate "$tmp/bad.json" > "$tmp/bad.out"; then
  echo "policies/ci: the bad BucketPolicy passed, but it grants public write"; exit 1
fi
grep -q "public write" "$tmp/bad.out" || { echo "policies/ci: the denial does not name public write:"; cat "$tmp/bad.out"; exit 1; }
echo "policies/ci: good BucketPolicy passes, bad one is denied (public write)"
