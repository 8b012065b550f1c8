#!/usr/bin/env bash
# Installs what `make test` needs on a fresh Debian machine, if missing.
# Go itself is expected at /usr/local/go or on PATH.
#   git           the e2e tests' file:// repositories (and Argo CD's repo-server)
#   make          the build
#   redis-server  Argo CD's cache in the e2e control plane (test/e2e/argocd.go)
#   postgresql    a throwaway PostgreSQL for Vault's database engine
#                 (test/e2e/postgres.go: initdb, postgres, psql)
#   time          GNU time: the render benchmark's peak RSS (test/e2e/bench_render_test.go)
set -euo pipefail
need=()
for pair in git:git make:make redis-server:redis-server; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
[ -x /usr/bin/time ] || need+=(time) # `command -v time` finds the shell keyword
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || ! command -v psql >/dev/null 2>&1; then
  need+=(postgresql)
fi
if ((${#need[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi
