# Pail: make demo (see it work), make test (prove it works).
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

ROOT        := $(abspath .)
BIN         := $(ROOT)/bin
CACHE       ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/pail
TOOLBIN     := $(CACHE)/tools
export PAIL_BIN_DIR ?= $(CACHE)/bin
# The wazero compilation cache is shared by tests and the demo so a driver is
# compiled once per machine, not once per run.
export PAIL_WASM_CACHE ?= $(CACHE)/wasm
export PAIL_DRIVER_DIR ?= $(BIN)/drivers
export PAIL_POLICY_DIR ?= $(ROOT)/policies

CONTROLLER_GEN_VERSION := v0.23.0
GOLANGCI_VERSION       := v2.15.0
LEFTHOOK_VERSION       := v1.13.6
CONTROLLER_GEN := $(TOOLBIN)/controller-gen-$(CONTROLLER_GEN_VERSION)
GOLANGCI       := $(TOOLBIN)/golangci-lint-$(GOLANGCI_VERSION)
LEFTHOOK       := $(TOOLBIN)/lefthook-$(LEFTHOOK_VERSION)
OPA_VERSION    := v1.22.3
OPA            := $(TOOLBIN)/opa-$(OPA_VERSION)
ACTIONLINT_VERSION := v1.7.12
ACTIONLINT     := $(TOOLBIN)/actionlint-$(ACTIONLINT_VERSION)

# The Go modules are the `use` lines of go.work, said once there; test is the
# integration module, which only `make test` runs. The built-in drivers are
# the modules under plugins/, and what compiles into a driver (the sdk
# modules and the plugins) is vetted for wasm as well.
MODULES      := $(shell sed -n 's|^[[:space:]]*\./\([^[:space:]]*\).*|\1|p' go.work)
UNIT_MODULES := $(filter-out test,$(MODULES))
WASM_MODULES := $(filter sdk sdk/% plugins/%,$(MODULES))
PLUGINS      := $(patsubst plugins/%,%,$(filter plugins/%,$(MODULES)))
# Build tags per driver. Under `fips`, madmin-go derives the keys that encrypt
# MinIO admin bodies with PBKDF2 instead of argon2id, which needs 64 MiB and a
# lot of CPU per call inside wasm (plugins/minio/README.md).
WASM_TAGS_minio := fips
TEST_DRIVERS := rogue

.PHONY: all
all: build plugins

##@ Development

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code for api/.
	cd api && $(CONTROLLER_GEN) object:headerFile=../hack/boilerplate.go.txt paths=./...

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs into charts/pail/crds and RBAC into charts/pail/files.
	cd api && $(CONTROLLER_GEN) crd paths=./... output:crd:artifacts:config=../charts/pail/crds
	cd core && $(CONTROLLER_GEN) rbac:roleName=pail-operator webhook paths=./... output:rbac:artifacts:config=../charts/pail/files output:webhook:artifacts:config=../charts/pail/files

.PHONY: api-docs
api-docs: ## Generate docs/api-reference.md from the CRDs in charts/pail/crds.
	cd test && go run ./cmd/api-docs --crds ../charts/pail/crds --out ../docs/api-reference.md

.PHONY: verify-generated
verify-generated: generate manifests api-docs ## Fail when generated files differ from what is committed.
	@if [ -n "$$(git status --porcelain -- api charts/pail/crds charts/pail/files docs/api-reference.md)" ]; then \
	  echo "generated files are stale; run 'make generate manifests api-docs' and commit:"; \
	  git status --porcelain -- api charts/pail/crds charts/pail/files docs/api-reference.md; git diff --stat -- api charts/pail docs/api-reference.md; exit 1; \
	else echo "verify-generated: generated files are up to date"; fi

.PHONY: fmt
fmt: ## gofmt every module.
	gofmt -w $(MODULES)

.PHONY: vet
vet: ## go vet every module, natively and for the wasm target.
	@for m in $(MODULES); do echo "go vet $$m"; (cd $$m && go vet ./...); done
	@for m in $(WASM_MODULES); do echo "go vet $$m (wasip1/wasm)"; (cd $$m && GOOS=wasip1 GOARCH=wasm go vet ./...); done

.PHONY: verify-modules
verify-modules: ## Fail when the Dockerfile does not copy the go.mod of every go.work module.
	@for m in $(MODULES); do grep -qxF "COPY $$m/go.mod $$m/go.sum $$m/" Dockerfile || \
	  { echo "the Dockerfile does not COPY $$m/go.mod $$m/go.sum $$m/ before go mod download (go.work uses it)"; exit 1; }; done
	@echo "verify-modules: the Dockerfile copies every go.work module's go.mod and go.sum"

.PHONY: lint
lint: $(GOLANGCI) verify-modules ## gofmt, go vet and golangci-lint.
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(MAKE) vet
	@for m in $(MODULES); do echo "golangci-lint $$m"; (cd $$m && $(GOLANGCI) run ./...); done
	@out=$$(gofmt -l examples/custom-driver); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	cd examples/custom-driver && GOWORK=off $(GOLANGCI) run ./...

.PHONY: lint-changed
lint-changed: $(GOLANGCI) ## golangci-lint on the packages of FILES (the pre-commit hook passes the staged Go files).
	@hack/lint-changed.sh $(GOLANGCI) $(FILES)

.PHONY: hooks
hooks: $(LEFTHOOK) ## Install the git pre-commit hooks (lefthook.yml).
	$(LEFTHOOK) install

##@ Build

.PHONY: build
build: ## Build the operator binary bin/pail.
	go build -o $(BIN)/pail ./core/cmd/pail

# Each driver's metadata goes into a pail.driver custom section, which `go
# build` cannot emit: the driver's main, built natively, prints its Describe
# answer as JSON (`go run ./plugins/<name>`), and `pail-driver embed` appends
# it to the module. `pail-driver verify` then checks the module as the
# loader will (sdk/ABI.md, "Metadata section"). The JSON goes to
# bin/drivers-meta, not bin/drivers, which the image copies as is.
PAIL_DRIVER := $(BIN)/pail-driver

.PHONY: pail-driver
pail-driver: ## Build the driver author's CLI (sdk/cmd/pail-driver) to bin/pail-driver.
	cd sdk && go build -o $(PAIL_DRIVER) ./cmd/pail-driver

.PHONY: print-plugins
print-plugins: ## Print the built-in drivers `make plugins` builds (derived from go.work; the image test reads it).
	@echo $(PLUGINS)

.PHONY: plugins
plugins: pail-driver ## Build the built-in drivers to bin/drivers/<name>.wasm, with their metadata section.
	@mkdir -p $(BIN)/drivers $(BIN)/drivers-meta
	@$(foreach p,$(PLUGINS),echo "wasm driver $(p)" && GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -tags '$(WASM_TAGS_$(p))' -o $(BIN)/drivers/$(p).wasm ./plugins/$(p) && \
	  go run ./plugins/$(p) > $(BIN)/drivers-meta/$(p).json && \
	  $(PAIL_DRIVER) embed --meta $(BIN)/drivers-meta/$(p).json $(BIN)/drivers/$(p).wasm && \
	  $(PAIL_DRIVER) verify $(BIN)/drivers/$(p).wasm && ) true

.PHONY: test-drivers
test-drivers: ## Build the hostile drivers the tests use to attack the sandbox.
	@mkdir -p $(BIN)/testdrivers
	@for p in $(TEST_DRIVERS); do GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o $(BIN)/testdrivers/$$p.wasm ./test/drivers/$$p; done

.PHONY: servers
servers: ## Build kube-apiserver, etcd, MinIO and versitygw from the Go module proxy (cached outside the repo).
	cd test/tools && go run ./cmd/pail-tools ensure etcd minio versitygw kube-apiserver

.PHONY: test-servers
test-servers: servers ## Also build kube-controller-manager, whose namespace controller the namespace-deletion test runs.
	cd test/tools && go run ./cmd/pail-tools ensure kube-controller-manager

##@ Run

.PHONY: demo
demo: build plugins servers ## Start apiserver, MinIO and the operator, and apply examples/quickstart.
	cd test && go run ./cmd/pail-demo --operator $(BIN)/pail --driver-dir $(BIN)/drivers --state-dir $(ROOT)/.demo --examples $(ROOT)/examples/quickstart --crds $(ROOT)/charts/pail/crds --webhooks $(ROOT)/charts/pail/files/manifests.yaml $(DEMO_FLAGS)

.PHONY: demo-chart
# helm, not $(HELM): HELM is defined further down, and a prerequisite is
# expanded when make reads the line.
demo-chart: build plugins servers helm ## Like demo, but helm-install charts/pail and run its Deployment as a local process with the chart's ServiceAccount.
	cd test && go run ./cmd/pail-demo --chart $(ROOT)/charts/pail --helm $(HELM) --operator $(BIN)/pail --driver-dir $(BIN)/drivers --policy-dir $(ROOT)/policies --state-dir $(ROOT)/.demo-chart --examples $(ROOT)/examples/quickstart $(DEMO_FLAGS)

.PHONY: run
run: build plugins ## Run the operator against the current kubeconfig.
	$(BIN)/pail --driver-dir $(BIN)/drivers --policy-dir $(ROOT)/policies --webhook-port 0

##@ Test

.PHONY: unit
unit: ## Fast unit tests (no servers); the pre-commit hook runs these.
	@for m in $(UNIT_MODULES); do (cd $$m && go test -short -count=1 ./...); done

.PHONY: policy-test
policy-test: $(OPA) ## Run the Rego tests of the policy packs with opa test.
	$(OPA) test policies/ --explain fails
	OPA=$(OPA) test/policyci/check.sh

.PHONY: test
test: verify-generated verify-modules vet policy-test chart-test workflow-test plugins test-drivers test-servers example-driver-test ## Everything: generated files, vet, Rego tests, unit and integration tests on real servers.
	@for m in $(UNIT_MODULES); do echo "== go test $$m"; (cd $$m && go test -count=1 ./...); done
	@echo "== fuzz: a short run of each parser's fuzz target (longer: FUZZTIME=10m make fuzz)"
	hack/fuzz_test.sh
	$(MAKE) -s fuzz FUZZTIME=10s
	@echo "== go test test (integration: real kube-apiserver, etcd, MinIO)"
	cd test && go test -count=1 -timeout 30m ./...

N ?= 200
.PHONY: bench
bench: plugins servers ## Benchmarks on real servers (N Buckets, default 200); writes docs/benchmarks.md.
	cd test && go run ./cmd/pail-bench -n $(N) --out ../docs/benchmarks.md
	@echo "== the figures below the kept marker in docs/benchmarks.md come from these (copy them in by hand):"
	cd core && go test -run XXX -bench BenchmarkValidateAndDiff -benchtime 3000x -benchmem -count 3 ./controllers/bucketpolicy/
	cd core && go test -run XXX -bench BenchmarkDriverLoad -benchtime 2x ./wasmhost/
	cd core && go test -run XXX -bench BenchmarkMetricsCost -benchmem ./registry/

FUZZTIME ?= 30s
.PHONY: fuzz
fuzz: ## Run the fuzz targets of the parsers for FUZZTIME each (default 30s); hack/fuzz.sh retries Go 1.26's fuzztime deadline race once.
	hack/fuzz.sh sdk ./policydoc/ FuzzCanonicalPolicy $(FUZZTIME)
	hack/fuzz.sh sdk ./policydoc/ FuzzCanonicalPolicyMatchesJSONMarshal $(FUZZTIME)
	hack/fuzz.sh sdk ./policydoc/ FuzzSamePolicy $(FUZZTIME)
	hack/fuzz.sh sdk ./policydoc/ FuzzAppendString $(FUZZTIME)
	hack/fuzz.sh core ./policy/ FuzzStatementsJSON $(FUZZTIME)
	hack/fuzz.sh core ./policy/ FuzzDecodeDocument $(FUZZTIME)
	hack/fuzz.sh core ./hosthttp/ FuzzOriginOf $(FUZZTIME)
	hack/fuzz.sh core ./hosthttp/ FuzzAllowed $(FUZZTIME)
	hack/fuzz.sh core ./wasmhost/ FuzzGuestFrames $(FUZZTIME)
	hack/fuzz.sh core ./controllers/accesskey/ FuzzDocument $(FUZZTIME)
	hack/fuzz.sh core ./controllers/plugin/ FuzzParse $(FUZZTIME)
	hack/fuzz.sh api ./v1alpha1/ FuzzDurationRoundTrip $(FUZZTIME)
	hack/fuzz.sh sdk ./abi/ FuzzDecodeFrame $(FUZZTIME)
	hack/fuzz.sh sdk ./driver/ FuzzDispatchRequest $(FUZZTIME)
	hack/fuzz.sh sdk ./guest/ FuzzHandleCall $(FUZZTIME)
	hack/fuzz.sh sdk ./wasmmeta/ FuzzParse $(FUZZTIME)

##@ Example third-party driver (examples/custom-driver)

# The example is its own Go module and deliberately not in go.work: built
# with GOWORK=off, it proves a driver builds from its own go.mod (with a
# replace pointing at ./sdk), as it would outside this repository.
EXAMPLE_DRIVER     := $(ROOT)/examples/custom-driver
EXAMPLE_DRIVER_OUT := $(BIN)/examples/versity.wasm

.PHONY: example-driver
example-driver: pail-driver ## Build examples/custom-driver to bin/examples/versity.wasm, stamp and verify it.
	@mkdir -p $(dir $(EXAMPLE_DRIVER_OUT))
	cd $(EXAMPLE_DRIVER) && GOWORK=off GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o $(EXAMPLE_DRIVER_OUT) .
	cd $(EXAMPLE_DRIVER) && GOWORK=off go run . > $(EXAMPLE_DRIVER_OUT:.wasm=.meta.json)
	$(PAIL_DRIVER) embed --meta $(EXAMPLE_DRIVER_OUT:.wasm=.meta.json) $(EXAMPLE_DRIVER_OUT)
	$(PAIL_DRIVER) verify $(EXAMPLE_DRIVER_OUT)

.PHONY: example-driver-test
example-driver-test: example-driver servers ## Vet the example driver and run its conformance test against versitygw.
	cd $(EXAMPLE_DRIVER) && GOWORK=off go vet ./... && GOWORK=off GOOS=wasip1 GOARCH=wasm go vet ./...
	cd $(EXAMPLE_DRIVER) && PAIL_VERSITYGW_BIN=$$(cd $(ROOT)/test/tools && go run ./cmd/pail-tools path versitygw) GOWORK=off go test -count=1 ./...

$(CONTROLLER_GEN):
	@mkdir -p $(TOOLBIN)
	GOWORK=off GOBIN=$(TOOLBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)
	mv $(TOOLBIN)/controller-gen $@

$(GOLANGCI):
	@mkdir -p $(TOOLBIN)
	GOWORK=off GOBIN=$(TOOLBIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	mv $(TOOLBIN)/golangci-lint $@

$(ACTIONLINT):
	@mkdir -p $(TOOLBIN)
	GOWORK=off GOBIN=$(TOOLBIN) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	mv $(TOOLBIN)/actionlint $@

.PHONY: workflow-test
workflow-test: $(ACTIONLINT) ## actionlint on .github/workflows, and every `make` target they run exists here.
	$(ACTIONLINT) .github/workflows/*.yml
	@for t in $$(cat .github/workflows/*.yml | sed 's/#.*//' | grep -o '\bmake [a-z][a-z0-9-]*' | awk '{print $$2}' | sort -u); do \
	  grep -qE "^$$t:" Makefile || { echo "a workflow runs 'make $$t', which this Makefile does not have"; exit 1; }; \
	  echo "workflow step make $$t: the target exists"; \
	done

$(OPA):
	@mkdir -p $(TOOLBIN)
	GOWORK=off GOBIN=$(TOOLBIN) go install github.com/open-policy-agent/opa@$(OPA_VERSION)
	mv $(TOOLBIN)/opa $@

$(LEFTHOOK):
	@mkdir -p $(TOOLBIN)
	GOWORK=off GOBIN=$(TOOLBIN) go install github.com/evilmartians/lefthook@$(LEFTHOOK_VERSION)
	mv $(TOOLBIN)/lefthook $@

##@ Chart, image and release (charts/pail, Dockerfile)

HELM_VERSION := v3.22.0
HELM         := $(TOOLBIN)/helm-$(HELM_VERSION)
# The chart tests in test/chart find helm here.
export PAIL_HELM ?= $(HELM)
IMAGE        ?= ghcr.io/pail-dev/pail
IMAGE_TAG    ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' charts/pail/Chart.yaml)
CHART_OUT    ?= $(BIN)/charts

.PHONY: helm
helm: $(HELM) ## Install helm into the tool cache.

.PHONY: chart-test
chart-test: $(HELM) ## helm lint, render with default and all-feature values, schema checks, chart Go tests.
	$(HELM) lint --strict charts/pail
	$(HELM) lint --strict charts/pail -f charts/pail/ci/all-features-values.yaml
	$(HELM) template pail charts/pail --namespace pail-system >/dev/null
	$(HELM) template pail charts/pail --namespace pail-system -f charts/pail/ci/all-features-values.yaml >/dev/null
	@if $(HELM) template pail charts/pail --set webhook.failurePolicy=Sometimes >/dev/null 2>&1; then \
	  echo "values.schema.json accepted webhook.failurePolicy=Sometimes"; exit 1; \
	else echo "values.schema.json rejects a bad value: ok"; fi
	cd test && go test -count=1 -run 'TestRender|TestSchema|TestAlert|TestDashboard' ./chart/

.PHONY: chart-package
chart-package: $(HELM) ## Package the chart to bin/charts/pail-<version>.tgz.
	@mkdir -p $(CHART_OUT)
	$(HELM) package charts/pail --destination $(CHART_OUT)

.PHONY: image
image: ## Build the container image with docker (skipped, with the reason, when docker is absent).
	@if ! command -v docker >/dev/null 2>&1; then \
	  echo "make image: docker is not installed on this machine, so no image was built."; \
	  echo "make image: install docker (or run the release workflow) and run 'make image' again."; \
	  exit 0; \
	fi; \
	if ! docker info >/dev/null 2>&1; then \
	  echo "make image: docker is installed but its daemon does not answer, so no image was built."; \
	  exit 0; \
	fi; \
	docker build -t $(IMAGE):$(IMAGE_TAG) .

$(HELM):
	@mkdir -p $(TOOLBIN)
	GOWORK=off GOBIN=$(TOOLBIN) go install -ldflags "-X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	  -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37 \
	  -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37" \
	  helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	mv $(TOOLBIN)/helm $@

.PHONY: help
help: ## Show targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)
