# rollback-operator: every command developers and CI use. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
LOCK := requirements/dev.lock
CLUSTER_DIR := .dev-cluster

##@ Setup

$(STAMP): $(LOCK) pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check uv==0.13.9
	@$(BIN)/uv pip sync -q --python $(PY) $(LOCK)
	@$(BIN)/uv pip install -q --python $(PY) --no-deps -e .
	@touch $@

.PHONY: venv
venv: $(STAMP) ## Create .venv with the locked dependencies and the package (editable)

# What the image holds: requirements/runtime.lock and the package, nothing else (no test tools, no
# plugin client). The benchmark runs the operator from here, so memory is measured as deployed.
RUNTIME_VENV := .venv-runtime
RUNTIME_STAMP := $(RUNTIME_VENV)/.installed

$(RUNTIME_STAMP): requirements/runtime.lock pyproject.toml | $(STAMP)
	@test -x $(RUNTIME_VENV)/bin/python || $(PYTHON) -m venv $(RUNTIME_VENV)
	@$(BIN)/uv pip sync -q --python $(RUNTIME_VENV)/bin/python requirements/runtime.lock
	@$(BIN)/uv pip install -q --python $(RUNTIME_VENV)/bin/python --no-deps -e .
	@touch $@

.PHONY: runtime-venv
runtime-venv: $(RUNTIME_STAMP) ## Create .venv-runtime: the image's dependency set (the benchmark runs the operator from it)

.PHONY: lock
lock: ## Re-resolve requirements/dev.lock from pyproject.toml (and runtime.lock, the image's part of it)
	@test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(PY) -m pip install -q uv==0.13.9; }
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --python-version 3.11 -o $(LOCK)
	$(BIN)/uv pip compile -q pyproject.toml --python-version 3.11 --constraint $(LOCK) -o requirements/runtime.lock

.PHONY: controlplane
controlplane: ## Build etcd, kube-apiserver, -controller-manager, -scheduler, kubectl from the pinned modules (.bin/)
	@tests/controlplane/build.sh

.PHONY: node-build
node-build: venv ## Node tier: Debian packages if missing, kubelet + kube-proxy, the pause and operator images
	@tests/node/packages.sh
	@tests/controlplane/build.sh node
	@tests/node/image.sh

.PHONY: helm
helm: ## Build helm from its pinned Go module (cached in .bin/), with the monitoring CRDs the tests use
	@tests/helm/build.sh

.PHONY: actionlint
actionlint: ## Build actionlint from its pinned Go module (cached in .bin/)
	@tests/release/build.sh

##@ Develop

.PHONY: crds
crds: venv ## Regenerate crds/ (and its copies in deploy/crd/ and the chart) from the pydantic models
	$(PY) -m rollback_operator.crd --write
	cp crds/*.yaml deploy/crd/
	cp crds/*.yaml charts/rollback-operator/crds/

.PHONY: lint
lint: venv actionlint helm ## ruff, mypy (strict), import-linter layer contracts, actionlint, helm lint, checkov
	$(BIN)/ruff check operator tests bench
	$(BIN)/ruff format --check operator tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	.bin/actionlint -no-color .github/workflows/*.yaml
	.bin/helm lint --strict $(CHART)
	$(MAKE) --no-print-directory scan

.PHONY: check
check: venv ## Fail when crds/ drifts from the models, then lint
	$(PY) -m rollback_operator.crd --check
	$(MAKE) --no-print-directory lint

##@ Test

# The node tier takes its node down itself, also when tests fail; `node-down` after it covers a run
# that was killed.
.PHONY: test
test: venv controlplane helm node-build ## The whole suite: a real local control plane, the chart, and the operator as a Pod on a real node
	@$(PY) -m pytest tests; status=$$?; $(PY) -m tests.node down; exit $$status

.PHONY: test-unit
test-unit: venv ## Only the tests that need no API server
	$(PY) -m pytest tests -m "not kube and not node"

.PHONY: test-node
test-node: venv controlplane node-build ## Only the node tier (tests/node/, docs/node.md): install deploy/ and test the Pod
	@$(PY) -m pytest tests/node; status=$$?; $(PY) -m tests.node down; exit $$status

##@ Local cluster and demo

.PHONY: cluster
cluster: venv controlplane ## Start a local control plane (no node) in the background; prints the KUBECONFIG line
	@$(PY) -m tests.support.controlplane up --dir $(CLUSTER_DIR)

.PHONY: cluster-down
cluster-down: venv ## Stop the cluster started by `make cluster`
	@$(PY) -m tests.support.controlplane down --dir $(CLUSTER_DIR)

.PHONY: node-up
node-up: venv controlplane node-build ## Start the local node (docs/node.md) in the background; prints the KUBECONFIG line
	@$(PY) -m tests.node up

.PHONY: node-down
node-down: venv ## Stop the local node and undo every change it made to the machine
	@$(PY) -m tests.node down

.PHONY: demo
demo: venv controlplane ## Control plane + sandboxes + operator; rollbacks through all three providers
	@$(PY) -m tests.support.demo

.PHONY: sandbox
sandbox: venv ## Run the three provider sandboxes in the foreground
	$(BIN)/rollback-operator sandbox

.PHONY: clean
clean: ## Remove the virtual environment, caches and the local cluster state (keeps .bin/, .node/images/)
	@if [ -d .node ] && [ -x $(PY) ]; then $(PY) -m tests.node down; fi
	rm -rf $(VENV) $(CLUSTER_DIR) .pytest_cache .mypy_cache .ruff_cache .node/logs .node/docker

##@ Image and installation

SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed
SCAN_LOCK := requirements/scan.lock
CHECKOV := PATH="$(CURDIR)/.bin:$$PATH" $(SCAN_VENV)/bin/checkov --config-file tests/deploy/checkov.yaml
IMAGE ?= rollback-operator:0.1.0
CHART := charts/rollback-operator

# checkov has its own environment: it pulls in far more dependencies than the project may share.
# (Re-lock: $(BIN)/uv pip compile -q tests/deploy/scan.in --python-version 3.11 -o $(SCAN_LOCK))
$(SCAN_STAMP): $(SCAN_LOCK) | $(STAMP)
	@test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	@$(BIN)/uv pip sync -q --python $(SCAN_VENV)/bin/python $(SCAN_LOCK)
	@touch $@

.PHONY: scan
scan: $(SCAN_STAMP) helm ## checkov over deploy/, the chart rendered with every option on, and the Dockerfile
	@PATH="$(CURDIR)/.bin:$$PATH" command -v kubectl >/dev/null || \
	  { echo "scan: the kustomize checks need kubectl (make controlplane builds one into .bin/)" >&2; exit 1; }
	$(CHECKOV) --directory deploy --framework kubernetes kustomize
	@rm -rf build/chart-scan && mkdir -p build/chart-scan
	.bin/helm template rollback-operator $(CHART) --namespace rollback-operator --kube-version 1.36.3 \
	  --values tests/helm/values/everything.yaml > build/chart-scan/rendered.yaml
	$(CHECKOV) --directory build/chart-scan --framework kubernetes
	$(CHECKOV) --file Dockerfile --framework dockerfile

.PHONY: image
image: ## Build the operator image (IMAGE=rollback-operator:0.1.0); without a Docker daemon, check the Dockerfile only
	@if docker info >/dev/null 2>&1; then \
	  docker build --tag $(IMAGE) . ; \
	else \
	  echo "image: no Docker daemon answers here, so the image cannot be built; checking the Dockerfile only"; \
	  $(MAKE) --no-print-directory --silent $(SCAN_STAMP) && $(CHECKOV) --file Dockerfile --framework dockerfile; \
	fi

# The SBOM tool has its own small environment too.
# (Re-lock: $(BIN)/uv pip compile -q tests/release/sbom.in --python-version 3.11 -o $(SBOM_LOCK))
SBOM_VENV := .venv-sbom
SBOM_STAMP := $(SBOM_VENV)/.installed
SBOM_LOCK := requirements/sbom.lock
SBOM ?= build/sbom.cdx.json

$(SBOM_STAMP): $(SBOM_LOCK) | $(STAMP)
	@test -x $(SBOM_VENV)/bin/python || $(PYTHON) -m venv $(SBOM_VENV)
	@$(BIN)/uv pip sync -q --python $(SBOM_VENV)/bin/python $(SBOM_LOCK)
	@touch $@

.PHONY: sbom
sbom: $(SBOM_STAMP) ## CycloneDX SBOM of the image's Python packages (requirements/runtime.lock) into build/sbom.cdx.json
	@mkdir -p $(dir $(SBOM))
	PYTHONWARNINGS=ignore::UserWarning $(SBOM_VENV)/bin/cyclonedx-py requirements requirements/runtime.lock --pyproject pyproject.toml \
	  --output-reproducible --output-format JSON --output-file $(SBOM)

.PHONY: kind-e2e
kind-e2e: venv ## Needs Docker + kind: install deploy/ into a throwaway kind cluster and run the in-cluster tests
	tests/deploy/kind-e2e.sh

##@ Measure

.PHONY: bench
bench: venv runtime-venv controlplane node-build ## Benchmarks vs the floors, and a Job per rollback on the node: prints a table, writes docs/performance.md (~10 min)
	@$(PY) -m bench; status=$$?; $(PY) -m tests.node down; exit $$status

# e.g. PEER_ARGS="--rounds 50 --output build/peer.json"
PEER_ARGS ?=

.PHONY: bench-peer
bench-peer: venv controlplane node-build ## On the node: the operator beside a Job per rollback, latency and CPU per rollback (~3 min)
	@$(PY) -m bench.peer $(PEER_ARGS); status=$$?; $(PY) -m tests.node down; exit $$status

.PHONY: resilience
resilience: venv controlplane ## Crash loop, provider faults, API server restart, bad input, soak at full size (the soak alone over 10 min); writes docs/resilience.md
	$(PY) -m pytest tests/resilience --resilience-full --timeout=1800

##@ Help

.PHONY: help
help: ## List every command
	@awk 'BEGIN {FS = ":.*##"} /^##@/ {printf "\n\033[1m%s\033[0m\n", substr($$0, 5)} \
	  /^[a-zA-Z0-9_-]+:.*##/ {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
