# Bedrock gateway: build, test and run targets. `make help` lists them.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GOARCH_LAMBDA ?= arm64
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN := bin
DEMO_KEY ?= demo-key
DEMO_PORT ?= 8080
EMULATOR_PORT ?= 4000

# The gateway's module is the repository root; the benchmark harness, the
# deploy-file tests, the Anthropic SDK tests and the trace tests (against the
# OpenTelemetry Collector's receiver) are modules of their own (bench/,
# deploy/, app/anthropic/sdktest/, app/tracing/collectortest/) so their heavy
# dependencies stay out of the gateway's go.mod. Each replaces the gateway's
# module with its root, so a fresh clone builds them all.
MODULES := . bench deploy app/anthropic/sdktest app/tracing/collectortest

.PHONY: help build build-lambda demo docker test fmt-check vet test-go testbins check-modules fuzz soak bench bench-smoke tools clean

help: ## List the targets.
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## Build the gateway and the Bedrock emulator into bin/ (make demo runs them).
	CGO_ENABLED=0 $(GO) build -tags nomsgpack -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/gateway ./cmd/gateway
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/bedrock-emulator ./cmd/bedrock-emulator

build-lambda: ## Build the Lambda bootstrap (provided.al2023; GOARCH_LAMBDA=arm64|amd64).
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH_LAMBDA) $(GO) build -tags lambda,lambda.norpc,nomsgpack -trimpath \
		-ldflags '$(LDFLAGS)' -o bootstrap ./cmd/gateway

demo: build ## Run the gateway on 127.0.0.1 against the built-in Bedrock emulator (no AWS account).
	@set -m; \
	$(BIN)/bedrock-emulator -addr 127.0.0.1:$(EMULATOR_PORT) & emu=$$!; \
	trap 'kill $$emu 2>/dev/null' EXIT INT TERM; \
	for i in $$(seq 50); do curl -s -o /dev/null http://127.0.0.1:$(EMULATOR_PORT)/ && break; sleep 0.1; done; \
	echo; echo "Gateway on http://127.0.0.1:$(DEMO_PORT)/api/v1 (key: $(DEMO_KEY)). Try:"; \
	echo "  curl -s http://127.0.0.1:$(DEMO_PORT)/api/v1/chat/completions -H 'Authorization: Bearer $(DEMO_KEY)' -H 'Content-Type: application/json' -d '{\"model\":\"us.anthropic.claude-haiku-4-5-20251001-v1:0\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'"; \
	echo "  ANTHROPIC_BASE_URL=http://127.0.0.1:$(DEMO_PORT)/api ANTHROPIC_API_KEY=$(DEMO_KEY) claude -p Hello    # Claude Code"; \
	echo; \
	HOST=127.0.0.1 PORT=$(DEMO_PORT) API_KEY=$(DEMO_KEY) LOG_FORMAT=text \
	AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_EC2_METADATA_DISABLED=true \
	AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://127.0.0.1:$(EMULATOR_PORT) AWS_ENDPOINT_URL_BEDROCK=http://127.0.0.1:$(EMULATOR_PORT) \
	$(BIN)/gateway

IMAGE ?= ghcr.io/openbedrock/gateway

docker: ## Build the gateway and canary images (Docker with BuildKit; multi-arch: docker buildx build --platform linux/amd64,linux/arm64).
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE):$(VERSION) .
	docker build --build-arg VERSION=$(VERSION) --target canary -t $(IMAGE)-canary:$(VERSION) .

test: tools fmt-check lint-template ## Everything CI runs: gofmt, cfn-lint, then go vet (both builds) and go test -race of every module, as parallel jobs.
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) $(OUTPUT_SYNC) check-modules

# The checks compile without DWARF debug information: a fifth less CPU for
# the compiler (about 100 s of a cold make test on two cores) and smaller
# test binaries to link. Panics and race reports keep their file:line,
# which come from the binary's own tables; the shipped builds have no DWARF
# either (-ldflags -s -w).
NODWARF := -gcflags=all=-dwarf=false
test test-go vet testbins check-modules: export GOFLAGS := $(strip $(filter-out $(NODWARF),$(GOFLAGS)) $(NODWARF))

fmt-check: ## gofmt check of every Go file of every module.
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# vet builds with -race, as go test -race does: vet needs its dependencies
# compiled, and with the same flags the tests then find them in the build
# cache instead of compiling every dependency a second time.
VETFLAGS := -race

# The Lambda build differs from the server build only in the packages whose
# files, or whose dependencies' files, change with -tags lambda (today
# cmd/gateway); vet runs again with the tag on those alone, since vetting
# unchanged packages again would redo their analysis for the same result.
# LAMBDA_PKGS prints them for the module in the working directory.
define LAMBDA_PKGS
f='{{.ImportPath}} {{.GoFiles}} {{.CgoFiles}} {{.TestGoFiles}} {{.XTestGoFiles}}'; \
changed=$$(diff <($(GO) list -deps -test -f "$$f" ./... | sort) <($(GO) list -tags lambda -deps -test -f "$$f" ./... | sort) | \
	sed -n 's/^[<>] \([^ ]*\) .*/\1/p' | sort -u); \
[ -z "$$changed" ] || { $(GO) list -test -f '{{.ImportPath}} {{join .Deps " "}}' ./...; $(GO) list -tags lambda -test -f '{{.ImportPath}} {{join .Deps " "}}' ./...; } | \
	awk -v c="$$changed" 'BEGIN { n = split(c, a, "\n"); for (i = 1; i <= n; i++) s[a[i]] = 1 } \
		$$1 !~ /\.test$$/ { for (i = 1; i <= NF; i++) if ($$i in s) { sub(/_test$$/, "", $$1); print $$1; next } }' | sort -u
endef

# The binaries the tests run (gateway, bootstrap, emulator, RIE, load
# generator, bare proxy) are built once, into TESTBIN_DIR, which the tests
# find in GATEWAY_TEST_BIN_DIR (internal/testbin); cmd/gateway, cmd/canary,
# bench/cmd/bench and bench/soak share them. They build with -race, as the
# tests do: they then share every compiled package with the tests instead
# of compiling the standard library and every dependency a second time,
# and a data race in the gateway, the emulator or RIE under the end-to-end
# tests and the soak fails them. make build, make bench and make soak
# build the shipped flags; run alone, a package builds its own with them.
# The Lambda build itself runs under RIE in cmd/gateway's
# TestLambdaUnderRIE and cmd/canary's TestCanaryEndToEnd; test-go also
# tests cmd/gateway with -tags lambda.
TESTBIN_DIR := $(CURDIR)/$(BIN)/testbin
# go test runs without its own vet: go vet has run the full set of checks
# on the same packages, and vet's analysis of every dependency for its
# narrower set would otherwise run a second time.
GOTEST := $(GO) test -race -count=1 -vet=off
# A race-enabled process sleeps a second on exit by default (to catch races
# at exit); every test binary and every black-box process of make test is
# one, so that second is left out unless GORACE says otherwise.
GORACE ?= atexit_sleep_ms=0
export GORACE

testbins: ## Build the binaries the tests run into bin/testbin (with -race).
	@echo "building the test binaries into $(TESTBIN_DIR)"; $(GO) run -race ./internal/testbin/build -race "$(TESTBIN_DIR)"

test-go: testbins ## go test -race in every module, and cmd/gateway with -tags lambda (no vet; make test vets first).
	@set -e; export GATEWAY_TEST_BIN_DIR="$(TESTBIN_DIR)"; \
	for m in $(MODULES); do echo "go test ($$m)"; (cd $$m && $(GOTEST) ./...); done; \
	echo "go test -tags lambda ./cmd/gateway/..."; $(GOTEST) -tags lambda ./cmd/gateway/...

# make test runs each module's vet and then its tests as jobs of one
# parallel make (TEST_JOBS at once, output kept together per job), so that
# one job's linking, waiting and single-package compiles leave the other
# cores to the rest. The root module's vet goes first: it compiles the
# standard library and the shared dependencies with -race, which every
# other module's vet and tests then find in the build cache instead of
# compiling them at the same moment; the test binaries build after it too.
TEST_JOBS ?= 3
# GNU make 3 (macOS's) has no --output-sync: the jobs' lines interleave there.
OUTPUT_SYNC := $(if $(filter 3.%,$(MAKE_VERSION)),,--output-sync=target)
modname = $(if $(filter .,$(1)),root,$(subst /,-,$(1)))

# module-checks defines vet-mod-NAME, vet-lambda-NAME (the Lambda build's
# vet, a job of its own) and test-mod-NAME for module $(1).
define module-checks
.PHONY: vet-mod-$(call modname,$(1)) vet-lambda-$(call modname,$(1)) test-mod-$(call modname,$(1))
vet-mod-$(call modname,$(1)): $(if $(filter .,$(1)),,vet-mod-root)
	@echo "go vet ($(1))"; cd $(1) && $$(GO) vet $$(VETFLAGS) ./...
vet-lambda-$(call modname,$(1)): vet-mod-$(call modname,$(1))
	@cd $(1) && pkgs=$$$$($$(LAMBDA_PKGS)) && if [ -n "$$$$pkgs" ]; then echo "go vet -tags lambda ($(1))" $$$$pkgs; $$(GO) vet $$(VETFLAGS) -tags lambda $$$$pkgs; fi
test-mod-$(call modname,$(1)): vet-mod-$(call modname,$(1)) check-testbins
	@echo "go test ($(1))"; export GATEWAY_TEST_BIN_DIR="$$(TESTBIN_DIR)"; cd $(1) && $$(GOTEST) ./...$(if $(filter .,$(1)), && \
	echo "go test -tags lambda ./cmd/gateway/..." && $$(GOTEST) -tags lambda ./cmd/gateway/...)
endef
$(foreach m,$(MODULES),$(eval $(call module-checks,$(m))))

check-modules: $(foreach m,$(MODULES),test-mod-$(call modname,$(m)) vet-lambda-$(call modname,$(m)))

.PHONY: check-testbins
check-testbins: vet-mod-root
	@$(MAKE) --no-print-directory testbins

vet: $(foreach m,$(MODULES),vet-mod-$(call modname,$(m)) vet-lambda-$(call modname,$(m))) ## go vet, server and Lambda builds, in every module.

# The soak test (bench/soak) runs the gateway and emulator binaries with the
# emulator's faults on; make test runs a short one (about 12 s, 32 clients).
SOAK_DURATION ?= 3m
SOAK_CLIENTS ?= 256
SOAK_FAULTS ?=

soak: ## Soak the gateway for SOAK_DURATION (3m) with SOAK_CLIENTS (256) clients against the emulator with faults on (SOAK_FAULTS).
	cd bench && SOAK_DURATION=$(SOAK_DURATION) SOAK_CLIENTS=$(SOAK_CLIENTS) SOAK_FAULTS='$(SOAK_FAULTS)' \
		$(GO) test -count=1 -timeout 0 -v -run '^TestSoak$$' ./soak

bench: ## Benchmark the gateway against a bare proxy and the emulator (about 8 minutes): bench/REPORT.md, bench/chart.svg.
	cd bench && $(GO) run ./cmd/bench

bench-smoke: ## A seconds-long run of the benchmark harness; make test runs it too (bench/cmd/bench TestBenchSmoke).
	cd bench && $(GO) test -count=1 -run '^TestBenchSmoke$$' ./cmd/bench

# tools installs what the tests need and a fresh machine may lack. Add other
# tools as prerequisites: `tools: tools-x`.
tools: tools-moto ## Install missing test tools (moto_server for the API-key store tests; the tests build the Lambda RIE, pinned in go.mod, themselves).

# FUZZ_TARGETS: module:package:FuzzFunc[:build tags], one per parser of
# untrusted input. Their seed corpora (testdata/fuzz and f.Add) run in every
# go test, so make test runs them.
FUZZ_TARGETS := .:./app/openai:FuzzChatRequest .:./app/openai:FuzzEmbeddingRequest .:./app/bedrock:FuzzTranslate .:./app/bedrock:FuzzEmbeddingVector \
	.:./app/server:FuzzClientIP .:./app/auth:FuzzParseSecret .:./cmd/gateway:FuzzALBRequest:lambda \
	bench:./cmd/loadgen:FuzzReadSSE bench:./cmd/loadgen:FuzzReadEventStream
FUZZTIME ?= 30s

fuzz: ## Fuzz each parser of untrusted input for FUZZTIME (default 30s; make test runs the seeds).
	@set -e; for t in $(FUZZ_TARGETS); do \
		IFS=: read -r mod pkg name tags <<< "$$t"; \
		echo "== $$name ($$mod $$pkg)"; \
		(cd "$$mod" && $(GO) test -tags "$$tags" -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg"); \
	done

.PHONY: tools-moto tools-rie lint-template build-GatewayFunction build-GatewayStreamFunction build-CanaryFunction
# The Lambda Runtime Interface Emulator is a Go tool pinned in go.mod; the
# tests build it themselves (testbins), this puts it in $(go env GOPATH)/bin
# for manual runs, built with the flags of the tests' copy.
tools-rie: ## go install the Lambda Runtime Interface Emulator pinned in go.mod.
	CGO_ENABLED=0 $(GO) install -trimpath github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie

tools-moto: ## pip install moto_server when it is missing.
	@command -v moto_server >/dev/null 2>&1 || pip install 'moto[server]'

clean: ## Remove build output.
	rm -rf $(BIN) bootstrap .aws-sam

# --- AWS SAM (template.yaml). `sam build` runs build-<LogicalId> for each
# function with BuildMethod makefile, with ARTIFACTS_DIR set. For x86_64:
# GOARCH_LAMBDA=amd64 sam build, and deploy with Architecture=x86_64.

lint-template: ## Lint template.yaml with cfn-lint (pip-installed when missing); warnings fail too.
	@command -v cfn-lint >/dev/null 2>&1 || pip install cfn-lint
	cfn-lint template.yaml

build-GatewayFunction build-GatewayStreamFunction:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is unset: $@ is run by sam build"; exit 1; }
	$(MAKE) build-lambda
	cp bootstrap $(ARTIFACTS_DIR)/bootstrap

build-CanaryFunction:
	@test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is unset: $@ is run by sam build"; exit 1; }
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH_LAMBDA) $(GO) build -tags lambda.norpc -trimpath \
		-ldflags '-s -w' -o $(ARTIFACTS_DIR)/bootstrap ./cmd/canary
