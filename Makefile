# Targets for building, testing and checking mqtt-check. `make help` is not a
# target: run `bin/mqtt-check help` for the CLI, and read README.md for these.

GO ?= go

BIN := bin/mqtt-check

# The version stamped into the binary: `git describe`, or "dev" outside a git
# work tree or before the first commit.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

# Arguments `make run` passes to the binary: `run` checks the embedded
# reference broker with the conformance suite (no --target given).
RUN_ARGS ?= run

# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 10s

# staticcheck, pinned; `go run pkg@version` builds it without touching go.mod.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build run test deps bench fuzz lint clean interop

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/mqtt-check

run: build
	./$(BIN) $(RUN_ARGS)

test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# Third-party programs the tests use (mosquitto, mosquitto-clients).
deps:
	./scripts/install-deps.sh

# Every benchmark of the module, then the codec side by side with mochi-mqtt
# and Eclipse Paho (a nested module, so go.mod stays lean) as a benchstat
# table. BENCHTIME and COUNT tune the comparison.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
	COUNT=$${COUNT:-6} BENCHTIME=$${BENCHTIME:-500ms} ./codec/compare/bench.sh

fuzz:
	GO='$(GO)' FUZZTIME='$(FUZZTIME)' ./scripts/fuzz.sh

lint:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt -l: these files need gofmt -w:"; echo "$$unformatted"; exit 1; \
	fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# The interoperability matrix (docs/interop.md): the conformance suite and
# the load smoke scenario against every broker scripts/brokers/ can run
# (mosquitto, RabbitMQ, ActiveMQ Classic, aedes, mochi-mqtt, the reference
# broker), installed as needed (apt-get, npm ci, go build; root for apt),
# one at a time; reports/interop/ gets matrix.md, matrix.html and
# summary.md. Not part of `make test` (it takes about ten minutes).
# INTEROP_BROKERS picks brokers, e.g. make interop INTEROP_BROKERS=mosquitto.
interop: build
	./scripts/interop.sh $(INTEROP_BROKERS)

clean:
	rm -rf bin
