#!/usr/bin/env bash
# Builds the project's Go tools from the Go module proxy, once, into a cache
# shared by every clone on this machine, and prints the path of the one asked
# for. Usage: hack/tools.sh golangci-lint
#   golangci-lint  v2 (.golangci.yml), run by `make lint` (part of `make test`)
set -euo pipefail
cache="${VAULTCMP_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/vaultcmp-tools}"
case "${1:-}" in
golangci-lint)
  version=v2.15.0
  dir="$cache/golangci-lint-$version"
  if [ ! -x "$dir/golangci-lint" ]; then
    echo "building golangci-lint $version (once, a few minutes)" >&2
    mkdir -p "$dir"
    (cd / && GOBIN="$dir" GOFLAGS=-mod=mod go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$version") >&2
  fi
  echo "$dir/golangci-lint"
  ;;
*)
  echo "usage: $0 golangci-lint" >&2
  exit 2
  ;;
esac
