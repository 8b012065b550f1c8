#!/usr/bin/env bash
# Regenerates everything the repository holds that is generated, and fails
# when that changed anything: the copies made by go generate (sidecar/), the
# golden files of renderer, the seed's webapp copied into renderer's testdata,
# and both go.mod files. Edits not yet committed are left alone and do not
# count: only what regeneration changes does.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
state() { git status --porcelain --untracked-files=all -- . ':!bin'; git --no-pager diff -- . ':!bin'; }
before=$(state | sha256sum)

"$GO" generate ./...
UPDATE_GOLDEN=1 "$GO" test -count=1 -run 'Golden' ./renderer/ >/dev/null
rm -rf renderer/testdata/seed-webapp/input
cp -r examples/webapp renderer/testdata/seed-webapp/input
"$GO" mod tidy -diff
(cd test/e2e && "$GO" mod tidy -diff)

if [ "$(state | sha256sum)" != "$before" ]; then
  echo "make verify: regenerating changed the repository; commit the result:" >&2
  git status --short -- . ':!bin' >&2
  exit 1
fi
echo "make verify: generated files are up to date"

# The import graph beyond depguard's direct imports (.golangci.yml): nothing
# the shared core or the companion pulls in, however indirectly, is a
# consumer, Helm or kustomize; the renderer never reaches the companion;
# cmp (Argo CD's contract) reaches no consumer and no limits.
mod=github.com/vaultcmp/vaultcmp
graph() { # graph <what is forbidden> <packages...>
  local bad=$1; shift
  if found=$("$GO" list -deps "$@" | grep -E "$bad"); then
    echo "make verify: $* reach what they must not:" >&2
    echo "$found" >&2
    exit 1
  fi
}
graph "^(helm\.sh/|sigs\.k8s\.io/kustomize|$mod/(renderer|companion|plugin|cmp)\$)" \
  ./identity ./transform ./contract ./credentials ./vault ./kube ./limits ./api/... ./internal/...
graph "^(helm\.sh/|sigs\.k8s\.io/kustomize|$mod/(renderer|plugin|cmp)\$)" ./companion
graph "^$mod/(companion|plugin)\$" ./renderer
graph "^(helm\.sh/|sigs\.k8s\.io/kustomize|$mod/(renderer|companion|plugin|limits)\$)" ./cmp
echo "make verify: the import graph holds"
