# godwit's build. Targets that need root say so; run them with sudo.
# sudo's secure_path hides /usr/local/go/bin, so find go explicitly.
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
export PATH := $(dir $(GO)):$(PATH)

BIN := bin
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/godwit-bgp/godwit/internal/version.Version=$(VERSION)

.PHONY: all build test test-short vet fuzz bench bench-peers bench-go lab demo deps clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

# The whole suite: unit tests, fuzz-corpus replay and interop tests against
# the real peers in network namespaces (needs root and scripts/install-deps.sh).
test: build vet
	$(GO) test -race -count=1 -timeout 25m ./...

# Unit tests only (no root, no peers): interop tests skip themselves.
test-short:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

# Runs every fuzz target for FUZZTIME each (default 30s).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# The bgperf-style comparison (DESIGN.md scenarios S1-S3) of godwitd with
# BIRD, FRR, GoBGP and OpenBGPD on this machine; needs root and the peers.
# About 10 minutes, most of it GoBGP's; S4 and idle runs on request
# (godwit-bench --scenarios S4, --idle 10m). See docs/performance.md.
bench: build
	$(BIN)/godwit-bench --scenarios S1,S2,S3 --targets bird,frr,gobgp,openbgpd,godwit --runs 3 --json-out $(BIN)/bench.json

bench-peers: bench

# The Go benchmarks of the hot paths (codec, Loc-RIB, update groups, the
# daemon's pipeline): ns and bytes per prefix, no root needed.
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./wire/... ./rib/... ./daemon/

# The main job on its embedded default (DESIGN.md, "The lab"): FRR and three
# godwitd nodes in network namespaces, sessions, routes, ECMP and pings. Needs
# root; installs FRR and ping with apt-get when missing. The lab keeps
# running: `sudo bin/godwit lab status`, `sudo bin/godwit lab down`.
lab: build
	./$(BIN)/godwit lab up

# An example UPDATE, the way a BGP message looks to godwit.
demo: build
	$(BIN)/godwit decode -o text < examples/update.hex
	$(BIN)/godwit decode < examples/update.hex

deps:
	bash scripts/install-deps.sh

clean:
	rm -rf $(BIN)
