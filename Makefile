# statedriven — durable state-driven workflows on Temporal.
# `make test` is what CI runs (through .ci/run) on a fresh clone.

GO        ?= go
PKGS      ?= ./...
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
WORKFLOWCHECK := go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0
BENCHTIME ?= 1s
FUZZTIME  ?= 30s

.PHONY: all build run test lint fmt vet staticcheck workflowcheck bench bench-micro bench-engine bench-projection bench-dev bench-scale fuzz golden record tidy clean

all: build test

## build: compile every package and the commands into bin/
build:
	$(GO) build $(PKGS)
	$(GO) build -o bin/worker ./worker
	$(GO) build -o bin/starter ./starter

## run: a worker in dev mode (Temporal server + Web UI on 127.0.0.1:8233 in
## the process), with the custom action and the specialist the examples use
run:
	$(GO) run ./examples/custom-action --dev --specialist validation_agent

## test: vet, then every test with the race detector; then the long tests
## (the 50,000-step loop, the 2,000-step sequence, the 20,000-item map) on
## their own without it: minutes of steps each, whose code the shorter
## tests run under the race detector, and which would hold the parallel
## slots that the short tests' two-minute deadlines count on
LONG_TESTS := ^(TestLongLoopStaysBounded|TestLongSequenceCompletes|TestMapOverTwentyThousandItems)$$
test: vet
	$(GO) test -race -count=1 -timeout 30m -skip '$(LONG_TESTS)' $(PKGS)
	$(GO) test -count=1 -timeout 60m -run '$(LONG_TESTS)' -v ./workflows/

## lint: formatting, go vet, staticcheck and workflowcheck (determinism)
lint: fmt vet staticcheck workflowcheck

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) run $(STATICCHECK) $(PKGS)

workflowcheck:
	$(GO) run $(WORKFLOWCHECK) -config workflowcheck.config.yaml ./workflows/...

## bench: the micro-benchmarks, then the engine against a hand-written
## workflow on an in-process server (BENCH_RUNS, BENCH_ROUNDS, BENCH_LATENCY_RUNS,
## BENCH_LATENCY_ONLY, BENCH_LATENCY_GAP_MS, BENCH_NO_EAGER, BENCH_TRACE: see BENCHMARKS.md)
bench: bench-micro bench-engine bench-projection

bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./statemachine/ ./definition/

bench-engine:
	$(GO) test -run '^$$' -bench EngineVersusPlain -benchtime 1x -count $(or $(BENCH_COUNT),1) ./workflows/

## bench-projection: progress read from Redis against the progress query
## (BENCH_READS), and the projection's lag with BENCH_RUNS runs at once
bench-projection:
	$(GO) test -run '^$$' -bench 'ProjectionRead|ProjectionLag' -benchtime 1x -count $(or $(BENCH_COUNT),1) ./workflows/

## bench-dev: the same against the dev server of `make run` (run it first)
bench-dev:
	BENCH_ADDRESS=$(or $(BENCH_ADDRESS),127.0.0.1:7233) $(GO) test -run '^$$' -bench EngineVersusPlain -benchtime 1x -count $(or $(BENCH_COUNT),1) ./workflows/

## bench-scale: BENCH_HELD (5000) runs held open on a dev server of its own
## (SQLite files) while BENCH_PROGRESS (500) more go through at once: the
## engine against the hand-written workflow with none held and while held,
## the worker's memory per held run, failures (BENCH_ROUNDS, BENCH_LATENCY_RUNS,
## BENCH_CACHE, BENCH_START_CONCURRENCY, BENCH_ADDRESS, BENCH_SERVER_GCTRACE:
## see BENCHMARKS.md)
bench-scale:
	$(GO) test -run '^$$' -bench Scale -benchtime 1x -timeout 90m -v -count $(or $(BENCH_COUNT),1) ./workflows/

## fuzz: fuzz parse+validate+compile for FUZZTIME
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseCompile -fuzztime $(FUZZTIME) ./definition/

## golden: rewrite the expected validation messages after a deliberate change
golden:
	$(GO) test ./definition/ -run Golden -update

## record: record new replay fixtures (keep the old ones: they must replay)
record:
	$(GO) test ./workflows/ -record

tidy:
	$(GO) mod tidy

clean:
	rm -rf bin .statedriven
