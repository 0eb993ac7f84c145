#!/usr/bin/env bash
# lint-changed.sh GOLANGCI FILE...: golangci-lint on the packages that hold
# the given Go files (the pre-commit hook passes the staged ones), each run
# from the module that owns it, so a commit is linted like `make lint` lints
# the tree, in seconds rather than minutes.
set -euo pipefail
lint=$1; shift
root=$(git rev-parse --show-toplevel)
mapfile -t modules < <(sed -n 's|^[[:space:]]*\./\([^[:space:]]*\).*|\1|p' "$root/go.work" | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-)
declare -A pkgs=()
for f in "$@"; do
  [[ $f == *.go && -f $root/$f ]] || continue
  dir=$(dirname "$f")
  for m in "${modules[@]}"; do
    if [[ $dir == "$m" || $dir == "$m"/* ]]; then
      rel=${dir#"$m"}
      [[ ${pkgs[$m]:-} == *" ./${rel#/} "* ]] || pkgs[$m]+=" ./${rel#/} "
      break
    fi
  done
done
status=0
for m in "${!pkgs[@]}"; do
  # shellcheck disable=SC2086 # one argument per package
  (cd "$root/$m" && "$lint" run ${pkgs[$m]}) || status=1
done
exit $status
