#!/usr/bin/env bash
# Checks every app directory without Vault or a cluster:
#   vaultcmp validate DIR -o json   -> OUT/<app>.validate.json
#   vaultcmp render --offline DIR   -> OUT/<app>.yaml (what Argo CD applies:
#                                      carriers, no values; add --delivery
#                                      inline for Secrets with placeholders)
# Runs all apps, reports every failure, exits 1 if any failed.
#
#   usage: vaultcmp-ci.sh OUT APP_DIR...
set -euo pipefail

out=${1:?usage: vaultcmp-ci.sh OUT APP_DIR...}
shift
mkdir -p "$out"

# No credentials: offline rendering must not need them.
unset VAULT_ADDR VAULT_TOKEN
# Checksums over placeholders; a fixed key keeps the output, and so the
# diffs, stable between runs. Not the installation's key.
export VAULTCMP_HMAC_KEY=offline-ci

failed=0
for dir in "$@"; do
  dir=${dir%/}
  [[ -d $dir ]] || continue
  name=${dir//\//_}
  if ! vaultcmp validate "$dir" -o json >"$out/$name.validate.json"; then
    echo "FAIL vaultcmp validate $dir (see $out/$name.validate.json)" >&2
    failed=1
  fi
  if ! vaultcmp render --offline "$dir" >"$out/$name.yaml"; then
    echo "FAIL vaultcmp render --offline $dir" >&2
    failed=1
  fi
done
exit "$failed"
