# stagehand's Makefile. `make help` lists the targets.
#
# Everything the targets need is built from Go modules at pinned versions:
# controller-gen from hack/tools/go.mod, golangci-lint with kube-api-linter
# from hack/lint/go.mod, kube-apiserver and etcd from hack/controlplane/go.mod,
# helm (`make helm`) from hack/helmcli/go.mod.
# Nothing is downloaded from anywhere but the Go module proxy, and nothing
# needs installing by hand beyond Go itself.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
.DEFAULT_GOAL := help

# Image built by docker-build and deployed by deploy.
IMG ?= ghcr.io/stagehand-dev/stagehand:dev
# The release `make release` writes dist/ for: the Helm chart's version, and
# (as v$(VERSION)) its appVersion and the image tag dist/install.yaml pins.
VERSION ?= 0.1.0

# The version and commit the manager's --version and `kubectl stagehand
# version` print, linked in by build, dev and docker-build: the tag `git
# describe` finds (until the clone has one, v<VERSION>-dev), and the commit,
# -dirty when the tree has changes.
BUILD_VERSION ?= $(shell git describe --tags --dirty 2>/dev/null || echo v$(VERSION)-dev)
BUILD_COMMIT ?= $(shell c=$$(git rev-parse HEAD 2>/dev/null) && { git diff --quiet HEAD 2>/dev/null && echo $$c || echo $$c-dirty; } || echo unknown)
VERSION_PKG := github.com/stagehand-dev/stagehand/internal/version
LDFLAGS := -X $(VERSION_PKG).version=$(BUILD_VERSION) -X $(VERSION_PKG).commit=$(BUILD_COMMIT)

LOCALBIN := $(CURDIR)/bin
# The control plane (kube-apiserver, etcd) envtest and `make dev` run. The
# versions are pinned by hack/controlplane/go.mod.
KUBEBUILDER_ASSETS := $(LOCALBIN)/k8s
CONTROLPLANE := $(KUBEBUILDER_ASSETS)/kube-apiserver $(KUBEBUILDER_ASSETS)/etcd

GO ?= go
TOOLS := $(GO) tool -modfile=$(CURDIR)/hack/tools/go.mod
CONTROLLER_GEN := $(TOOLS) controller-gen
# golangci-lint with kube-api-linter compiled in (.golangci.yml says what
# runs). `go tool` builds it once into the Go build cache (a few minutes the
# first time) and reuses it after.
GOLANGCI_LINT := $(GO) tool -modfile=$(CURDIR)/hack/lint/go.mod golangci-lint-kube-api-linter

# Go modules of their own, apart from the manager's dependency graph, whose
# tests `make test` runs too: hack/helm tests the Helm chart with Helm's Go
# library; hack/authentikclient reads every endpoint of the API with
# authentik's Go client (goauthentik.io/api/v3; compiling it takes about a
# minute the first time).
TEST_MODULES := hack/helm hack/authentikclient

# Flags for `go test` (for example TESTFLAGS=-run=TestAdmission). -count=1
# because go test's result cache cannot see everything a test depends on:
# TestDev builds and runs bin/manager, whose sources are not its package's.
TESTFLAGS ?= -count=1
# Flags for `make lint` (for example LINTFLAGS=--fix to apply the fixes the
# linters suggest).
LINTFLAGS ?=
# Where `make dev` serves the API.
DEV_API_ADDR ?= 127.0.0.1:9000
# Set to none to run `make dev` without authentication.
DEV_API_AUTH ?= kubernetes
# Set to self-signed to have `make dev` serve the API over HTTPS, as in a
# cluster: a certificate from the manager's own CA (docs/api.md).
DEV_API_TLS ?= none

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Generate the CRDs and the manager's RBAC role from the Go markers, and the role split by scope for a namespaced install.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd:allowDangerousTypes=true paths="./..." output:crd:artifacts:config=config/crd/bases
	$(GO) run ./hack/rbac

.PHONY: generate
generate: ## Generate the DeepCopy methods of the API types.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run go fmt.
	$(GO) fmt ./...

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet ./...

.PHONY: lint
lint: ## Run golangci-lint, and kube-api-linter on api/ (.golangci.yml), on every module of stagehand's code.
	$(GOLANGCI_LINT) run ./... $(LINTFLAGS)
	@for m in $(TEST_MODULES); do echo "cd $$m && golangci-lint run ./..."; (cd $$m && $(GOLANGCI_LINT) run ./... $(LINTFLAGS)) || exit 1; done

.PHONY: verify
verify: manifests generate release ## Regenerate everything and fail if the tree changed (generated code is never edited by hand); then lint.
	@$(GO) mod tidy -diff
	@cd hack/tools && $(GO) mod tidy -diff
	@cd hack/lint && $(GO) mod tidy -diff
	@cd hack/controlplane && $(GO) mod tidy -diff
	@cd hack/helmcli && $(GO) mod tidy -diff
	@for m in $(TEST_MODULES); do (cd $$m && $(GO) mod tidy -diff) || exit 1; done
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed on:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@git diff --exit-code -- api config dist || { echo "generated files are stale: run 'make manifests generate release' and commit the result"; exit 1; }
	@test -z "$$(git status --porcelain -- api config dist)" || { echo "untracked or stale generated files:"; git status --porcelain -- api config dist; exit 1; }
	@$(MAKE) --no-print-directory lint LINTFLAGS=

.PHONY: test
test: test-unit test-fuzz test-e2e ## Run every test: the unit and envtest tests, a short run of each fuzzer, then the end-to-end ones.

.PHONY: test-unit
test-unit: envtest ## Run the unit tests and the tests on a real kube-apiserver and etcd (built once into bin/k8s).
	KUBEBUILDER_ASSETS="$(KUBEBUILDER_ASSETS)" $(GO) test ./... $(TESTFLAGS)
	@for m in $(TEST_MODULES); do echo "cd $$m && go test ./..."; (cd $$m && KUBEBUILDER_ASSETS="$(KUBEBUILDER_ASSETS)" $(GO) test ./... $(TESTFLAGS)) || exit 1; done

# How long `make test-fuzz` runs each fuzzer (beyond its seed corpus).
FUZZTIME ?= 3s

.PHONY: test-fuzz
test-fuzz: ## Run each fuzzer (go test -fuzz) for FUZZTIME: everything that parses a caller's or a file's input.
	@mkdir -p $(LOCALBIN); set -e; for file in $$(git grep -l '^func Fuzz' -- '*_test.go' ':!hack/helm' ':!hack/authentikclient' ':!hack/lint'); do \
		for f in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
			echo "fuzzing ./$$(dirname $$file) $$f for $(FUZZTIME)"; \
			$(GO) test ./$$(dirname $$file) -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) > $(LOCALBIN)/fuzz.log 2>&1 || { cat $(LOCALBIN)/fuzz.log; exit 1; }; \
		done; \
	done

.PHONY: test-e2e
test-e2e: envtest ## Run the end-to-end tests: `make dev`'s program, run as a person runs it.
	KUBEBUILDER_ASSETS="$(KUBEBUILDER_ASSETS)" $(GO) test -tags e2e ./hack/dev/... $(TESTFLAGS)

# The Go benchmarks `make bench-go` runs (a go test -bench pattern).
BENCH ?= .
# Flags for `make bench` (hack/bench): -stages, -flows, -create-clients,
# -load-clients, -rounds, -load-time, -steady, -manager-args; see
# `go run ./hack/bench -h`.
BENCHFLAGS ?=

.PHONY: bench
bench: envtest build ## Measure stagehand as a whole and print a table: creates to Ready, memory, steady writes, API throughput beside kube-apiserver's (BENCHFLAGS=...).
	KUBEBUILDER_ASSETS="$(KUBEBUILDER_ASSETS)" $(GO) run ./hack/bench --manager=$(LOCALBIN)/manager --dir=$(LOCALBIN)/bench $(BENCHFLAGS)

.PHONY: bench-go
bench-go: envtest ## Run the Go benchmarks of the hot paths (BENCH=pattern narrows them).
	KUBEBUILDER_ASSETS="$(KUBEBUILDER_ASSETS)" $(GO) test ./... -run='^$$' -bench='$(BENCH)' -benchmem

.PHONY: envtest
envtest: $(CONTROLPLANE) ## Build kube-apiserver and etcd from Go modules into bin/k8s (once; reused after).

# $(call with-progress,WHAT,COMMAND) runs COMMAND and, while it runs, says
# every 30 seconds that WHAT is still being built, and for how long: a first
# build of the control plane prints nothing of its own for minutes.
with-progress = ( start=$$(date +%s); while sleep 30 </dev/null >/dev/null 2>&1; do echo "  still building $(1): $$(( $$(date +%s) - start ))s so far"; done ) & ticker=$$!; \
	trap "kill $$ticker 2>/dev/null" EXIT; $(2)

$(KUBEBUILDER_ASSETS)/kube-apiserver: hack/controlplane/go.mod hack/controlplane/go.sum
	@mkdir -p $(KUBEBUILDER_ASSETS)
	@echo "building kube-apiserver from k8s.io/kubernetes into bin/k8s, once: the first time takes about 5 minutes on two cores (later runs reuse it)"
	@$(call with-progress,kube-apiserver,cd hack/controlplane && CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $@ k8s.io/kubernetes/cmd/kube-apiserver)

$(KUBEBUILDER_ASSETS)/etcd: hack/controlplane/go.mod hack/controlplane/go.sum hack/controlplane/etcd/main.go
	@mkdir -p $(KUBEBUILDER_ASSETS)
	@echo "building etcd into bin/k8s, once (about a minute the first time)"
	@$(call with-progress,etcd,cd hack/controlplane && CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $@ ./etcd)

##@ Build

.PHONY: build
build: ## Build the manager into bin/manager, and stagehand's command line tool (a kubectl plugin: kubectl stagehand import) into bin/kubectl-stagehand.
	@echo "building bin/manager and bin/kubectl-stagehand $(BUILD_VERSION) (the first time compiles their dependencies: a minute or two)"
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='$(LDFLAGS)' -o $(LOCALBIN)/manager ./cmd
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='$(LDFLAGS)' -o $(LOCALBIN)/kubectl-stagehand ./cmd/kubectl-stagehand

.PHONY: run
run: ## Run the manager against the cluster of the current kubeconfig.
	$(GO) run ./cmd --leader-elect=false

.PHONY: dev
dev: DEV_STARTED := $(shell date +%s%N)
dev: envtest build ## Run stagehand end to end on a local control plane, with the samples, until Ctrl-C.
	@# Built, not `go run`, so that signals reach the program itself and it
	@# stops everything it started; with the manager's flags, so that a first
	@# build reuses the packages the manager's build just compiled.
	@CGO_ENABLED=0 $(GO) build -trimpath -o $(LOCALBIN)/stagehand-dev ./hack/dev
	@$(LOCALBIN)/stagehand-dev --manager=$(LOCALBIN)/manager --assets=$(KUBEBUILDER_ASSETS) --dir=$(LOCALBIN)/dev \
		--api-bind-address=$(DEV_API_ADDR) --api-auth=$(DEV_API_AUTH) --api-tls=$(DEV_API_TLS) --started=$(DEV_STARTED)

.PHONY: chart
chart: ## Generate the Helm chart dist/chart from config/ (never edit it by hand).
	$(GO) run ./hack/chart --version=$(VERSION) --chart=dist/chart

HELM := $(LOCALBIN)/helm

.PHONY: helm
helm: $(HELM) ## Build helm, at the version hack/helmcli/go.mod pins, into bin/helm: to render, lint and install dist/chart (docs/deploy.md).

$(HELM): hack/helmcli/go.mod hack/helmcli/go.sum
	@mkdir -p $(LOCALBIN)
	@echo "building helm into bin/helm (the first time compiles its dependencies: a few minutes)"
	@$(call with-progress,helm,cd hack/helmcli && v=$$($(GO) list -m -f '{{.Version}}' helm.sh/helm/v4) && \
		CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$$v" -o $@ helm.sh/helm/v4/cmd/helm)

.PHONY: release
release: ## Write dist/install.yaml (config/default in one file, the image pinned to v<VERSION>) and the Helm chart dist/chart.
	$(GO) run ./hack/chart --version=$(VERSION) --chart=dist/chart --install=dist/install.yaml

.PHONY: docker-build
docker-build: ## Build the manager's container image IMG (needs a Docker engine).
	@docker info >/dev/null 2>&1 || { echo "docker-build needs a running Docker engine (docker info fails)"; exit 1; }
	docker build --build-arg VERSION=$(BUILD_VERSION) --build-arg COMMIT=$(BUILD_COMMIT) -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the manager's container image IMG.
	docker push $(IMG)

##@ Deployment

.PHONY: install
install: ## Install the CRDs into the cluster of the current kubeconfig.
	kubectl apply --server-side -k config/crd

.PHONY: uninstall
uninstall: ## Remove the CRDs (and with them every stagehand object) from the cluster.
	kubectl delete -k config/crd

.PHONY: render
render: ## Print what deploy applies: config/default, with image IMG.
	@$(GO) run ./hack/render --image=$(IMG) config/default

.PHONY: deploy
deploy: ## Deploy stagehand to the cluster of the current kubeconfig, with image IMG.
	$(GO) run ./hack/render --image=$(IMG) config/default | kubectl apply --server-side -f -

.PHONY: undeploy
undeploy: ## Remove stagehand's Deployment, RBAC and CRDs from the cluster.
	kubectl delete -k config/default
