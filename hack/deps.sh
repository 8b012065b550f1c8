#!/usr/bin/env bash
# Installs what `make test` needs on a fresh Debian machine, if missing.
# Go itself is expected at /usr/local/go or on PATH.
#   git, make      the build
#   postgresql     a throwaway PostgreSQL for Vault's database engine
#                  (test/e2e/postgres.go: initdb, postgres, psql)
set -euo pipefail
need=()
for cmd in git make; do
  command -v "$cmd" >/dev/null 2>&1 || need+=("$cmd")
done
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || ! command -v psql >/dev/null 2>&1; then
  need+=(postgresql)
fi
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi
