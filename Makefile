# statedriven — durable state-driven workflows on Temporal.
# `make test` is what CI runs (through .ci/run) on a fresh clone.

GO        ?= go
PKGS      ?= ./...
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHTIME ?= 1s
FUZZTIME  ?= 30s

.PHONY: all build test lint fmt vet staticcheck bench fuzz golden tidy clean

all: build test

## build: compile every package and the two commands into bin/
build:
	$(GO) build $(PKGS)
	$(GO) build -o bin/starter ./starter

## test: vet, then every test with the race detector
test: vet
	$(GO) test -race -count=1 $(PKGS)

## lint: formatting, go vet and staticcheck
lint: fmt vet staticcheck

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) run $(STATICCHECK) $(PKGS)

## bench: the micro-benchmarks (state machine, definition parsing and compiling)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./statemachine/ ./workflows/definition/

## fuzz: fuzz parse+validate+compile for FUZZTIME
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseCompile -fuzztime $(FUZZTIME) ./workflows/definition/

## golden: rewrite the expected validation messages after a deliberate change
golden:
	$(GO) test ./workflows/definition/ -run Golden -update

tidy:
	$(GO) mod tidy

clean:
	rm -rf bin
