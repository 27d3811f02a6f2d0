# Hearth: one binary, one embedded database, a federated chat node.
#
#   make run    build everything and start a node on 127.0.0.1:8080
#   make test   install what the tests need and run every test
#
# `make help` lists the other targets.

GO        ?= go
BIN       := bin/hearth
APP       := webui/app
GOTEST    := $(GO) test -race -count=1
# make test fuzzes each target for a number of inputs, not a duration: with a
# duration Go's fuzzing coordinator can fail a target with a bare "context
# deadline exceeded" when the deadline lands while a starved worker is mid-call
# (a race in internal/fuzz; it failed CI on a busy machine, no crasher found).
# A count has no deadline. FuzzStateMachine runs a whole node per input, so it
# gets its own, smaller count. `make fuzz` fuzzes for minutes instead.
FUZZTIME  ?= 10000x
FUZZTIME_STATEMACHINE ?= 40x
FUZZPKGS  ?= ./...
export CGO_ENABLED ?= 1

# make run: HTTP and DATA become --http and --data when set (make run
# HTTP=127.0.0.1:9000); unset, the node's own defaults apply
# (127.0.0.1:8080, ./hearth-data) and so do HEARTH_* environment
# variables (HEARTH_HTTP=127.0.0.1:9000 make run). ARGS adds any other
# flags of `hearth serve`.
HTTP      ?=
DATA      ?=
ARGS      ?=
# make demo: node A's HTTP port; B and C take the next two (0: any free
# ports). DEMO_DATA holds the three data directories and logs.
DEMO_PORT ?= 8081
DEMO_DATA ?= ./demo-data
# make test-stress: see scripts/stress.sh for every knob.
STRESS_TIME ?= 20m

.DEFAULT_GOAL := help
.PHONY: screenshots help run build ui dev test test-stress test-go test-fuzz test-ui test-e2e test-e2ee test-interop deps deps-go deps-ui deps-browser deps-interop lint fuzz bench soak demo clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: build ## build everything and start a node on 127.0.0.1:8080 (HTTP=addr to move it)
	./$(BIN) serve $(if $(DATA),--data $(DATA)) $(if $(HTTP),--http $(HTTP)) $(ARGS)

build: ## build bin/hearth (the UI is embedded from the committed webui/dist)
	$(GO) build -o $(BIN) ./cmd/hearth

ui: deps-ui ## rebuild the embedded UI into webui/dist
	cd $(APP) && npm run build

dev: deps-ui ## run the UI with Vite, proxying the API to a node on 127.0.0.1:8080
	cd $(APP) && npm run dev

demo: build ## three federated nodes A-B-C on one machine (DEMO_PORT=8081: A's port)
	HEARTH_BIN=$(BIN) DEMO_PORT=$(DEMO_PORT) DEMO_DATA=$(DEMO_DATA) bash scripts/demo.sh

# --- tests ------------------------------------------------------------------

test: deps lint test-go test-fuzz test-ui test-e2e test-e2ee test-interop ## install what tests need, run every test
	@echo "make test: all suites passed"

deps: deps-go deps-ui deps-browser deps-interop ## install test dependencies (Go modules, npm packages, Chromium)

deps-go:
	$(GO) mod download

deps-ui:
	cd $(APP) && npm ci --no-audit --no-fund --loglevel=error

# UI tests drive Debian's Chromium; install it when missing (never a
# downloaded browser build).
deps-browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

deps-interop:
	@if [ -f p2p/interop/package-lock.json ]; then cd p2p/interop && npm ci --no-audit --no-fund --loglevel=error; fi

test-go: ## Go tests with the race detector
	$(GOTEST) -timeout 15m ./...

test-stress: ## the Go tests round after round with every core busy (STRESS_TIME=20m; see scripts/stress.sh)
	STRESS_TIME=$(STRESS_TIME) bash scripts/stress.sh

test-fuzz: ## run every fuzz target briefly (FUZZTIME inputs each, default 10000x; FUZZPKGS=./...)
	@set -e; for pkg in $$($(GO) list $(FUZZPKGS)); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			t=$(FUZZTIME); [ "$$f" != FuzzStateMachine ] || t=$(FUZZTIME_STATEMACHINE); \
			echo "fuzz $$pkg $$f ($$t)"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $$t $$pkg; \
		done; \
	done

test-ui: deps-ui ## Vitest unit tests of the UI, and a check that webui/dist is fresh
	cd $(APP) && npm test
	node $(APP)/scripts/check-dist.mjs

test-e2e: build deps-ui deps-browser ## browser tests against real nodes
	cd $(APP) && HEARTH_BIN=$(CURDIR)/$(BIN) HEARTH_E2E_REQUIRED=1 npm run e2e

test-e2ee: build deps-ui ## end-to-end encryption: real OlmMachines under Node.js on three real nodes
	cd $(APP) && HEARTH_BIN=$(CURDIR)/$(BIN) HEARTH_E2E_REQUIRED=1 timeout 600 npm run e2ee

screenshots: build deps-ui deps-browser ## regenerate docs/screenshots from the browser tests
	@command -v fc-list >/dev/null 2>&1 && fc-list | grep -qi "color emoji" || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get install -y -qq fonts-noto-color-emoji >/dev/null || true; }
	cd $(APP) && HEARTH_BIN=$(CURDIR)/$(BIN) HEARTH_E2E_REQUIRED=1 HEARTH_SCREENSHOTS=$(CURDIR)/docs/screenshots npm run e2e

test-interop: build deps-interop ## a js-libp2p node receives a room's gossip
	@if [ -f p2p/interop/package.json ]; then HEARTH_INTEROP=1 $(GOTEST) -timeout 5m -run JSLibp2p ./p2p; fi

lint: ## gofmt, go vet and staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

fuzz: ## fuzz each target for longer (FUZZTIME=2m by default here)
	$(MAKE) test-fuzz FUZZTIME=2m FUZZTIME_STATEMACHINE=2m

bench: build ## Go, federation and load benchmarks vs Socket.io and Centrifugo; writes docs/benchmarks.md
	bash bench/run.sh

soak: build ## long-running fault tests (kill -9 rounds, partitions)
	HEARTH_SOAK=1 $(GOTEST) -timeout 60m -run Soak ./...

clean: ## remove build output
	rm -rf bin bench/.bin bench/out
