# vaultcmp — make help lists the targets.
SHELL := /usr/bin/env bash
GO    ?= go
BIN   ?= bin
E2E   := test/e2e
# The first cold build of the real parts takes many minutes.
E2E_TIMEOUT ?= 60m
# The Argo CD tests run in full on Argo CD 3.6 (the current line) and this
# smoke subset on 3.4 (the oldest line Argo CD supports): create, sync, the seed webapp
# (static part, then whole with the companion), one failure. 2.14 (out of support since
# November 2025) is no longer run: one Argo CD build replaced the other, CI time stays flat.
ARGO34_SMOKE := ^TestArgoCD(Static|Failures|SeedWebapp|InCluster)$$/^(webapp-transform|seed-static|vault_down)$$

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z0-9_-]+:.*##/ {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## Install the Debian packages the tests need (if missing)
	@hack/deps.sh

.PHONY: build
build: ## Build bin/vaultcmp (static, as the sidecar image: without cgo, kustomize's Go-plugin loader would make it a dynamic binary, slower to start)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/vaultcmp .

.PHONY: parts
parts: ## Build the real parts (Vault, etcd, kube-apiserver, kube-controller-manager, Argo CD 3.6 and 3.4, Helm 4.3.2) for the e2e tests, cached
	cd $(E2E) && $(GO) run ./cmd/parts

.PHONY: demo
demo: deps ## Render examples/webapp against a real Vault, then fill its Secrets with the companion in a real kube-apiserver
	cd $(E2E) && $(GO) run ./cmd/parts vault etcd kube-apiserver
	cd $(E2E) && $(GO) run ./cmd/demo

.PHONY: fmt
fmt: ## Check formatting
	@out=$$(gofmt -l . ); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: vet
vet: ## go vet both modules
	$(GO) vet ./...
	cd $(E2E) && $(GO) vet ./...

.PHONY: lint
lint: ## golangci-lint (.golangci.yml) on both modules; hack/tools.sh builds it once
	@lint=$$(hack/tools.sh golangci-lint) && \
	$$lint run ./... && \
	(cd $(E2E) && $$lint run --config ../../.golangci.yml ./...)

.PHONY: verify
verify: ## Regenerate what is generated (go generate, golden files, the seed copy, go.mod) and fail on any difference
	@GO=$(GO) hack/verify.sh

.PHONY: test-unit
test-unit: ## Unit tests with the race detector: no Vault, no cluster
	$(GO) test -race -count=1 ./...

.PHONY: test-e2e
test-e2e: parts ## End-to-end tests against real parts on 127.0.0.1 (Argo CD 3.6, then the smoke subset on 3.4)
	cd $(E2E) && $(GO) test -count=1 -timeout $(E2E_TIMEOUT) ./...
	cd $(E2E) && VAULTCMP_E2E_ARGOCD=3.4 $(GO) test -count=1 -timeout $(E2E_TIMEOUT) -run '$(ARGO34_SMOKE)' .

# Go native fuzz targets: package and name.
FUZZ_TARGETS := ./api/v1beta1:FuzzDecode ./api/v1beta1:FuzzDecodeValue ./renderer:FuzzLoad ./renderer:FuzzBlockYAML ./transform:FuzzTemplate
FUZZTIME ?= 2m

.PHONY: fuzz-short
fuzz-short: ## Run each fuzz target briefly (10s; part of make test)
	@$(MAKE) --no-print-directory fuzz FUZZTIME=10s

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 2m); seeds in testdata/fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

.PHONY: test
test: deps fmt vet lint verify test-unit fuzz-short test-e2e ## Every test (what .ci/run runs)

# The render benchmark's repetitions (medians), and an argocd-vault-plugin
# binary to run side by side (optional; the benchmark builds nothing else).
BENCH_RUNS ?= 7
VAULTCMP_BENCH_AVP ?=

.PHONY: bench
bench: deps parts ## The render table against the real Vault (1,000/100, 10,000/1,000, process start; floor and AVP side by side: BENCH_RUNS, VAULTCMP_BENCH_AVP), then a hard refresh of 100 Argo CD 3.6 apps
	cd $(E2E) && VAULTCMP_BENCH_RUNS=$(BENCH_RUNS) VAULTCMP_BENCH_AVP=$(VAULTCMP_BENCH_AVP) \
		$(GO) test -count=1 -run '^$$' -bench '^BenchmarkRender$$' -benchtime 1x -timeout $(E2E_TIMEOUT) .
	cd $(E2E) && $(GO) test -count=1 -run '^$$' -bench '^BenchmarkArgoCDFleetHardRefresh$$' -benchtime 1x -timeout $(E2E_TIMEOUT) .

.PHONY: bench-more
bench-more: deps parts ## The other benchmarks: renderer and vault in-process, generate through Argo CD's repo-server code, the companion's leases
	$(GO) test -run '^$$' -bench . -benchmem ./renderer/... ./vault/...
	cd $(E2E) && $(GO) test -count=1 -run '^$$' -bench '^Benchmark(ArgoGenerate|Companion|Lifecycle)' -benchtime 5x -timeout $(E2E_TIMEOUT) .

.PHONY: clean
clean: ## Remove build output
	rm -rf $(BIN)
