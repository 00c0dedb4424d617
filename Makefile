# opschecks: one static binary per check.
GO      ?= go
PKG     := github.com/opschecks/opschecks
VERSION ?= $(shell cat VERSION 2>/dev/null || git describe --tags --always 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X $(PKG)/internal/plugin.Version=$(VERSION) -X $(PKG)/internal/plugin.Commit=$(COMMIT)
CHECKS  := $(notdir $(wildcard cmd/check_*))
FUZZTIME ?= 10s
# make test fuzzes each target for a count of inputs, not a duration: go1.26's
# fuzz coordinator can fail a target with "context deadline exceeded" when a
# -fuzztime duration ends while a worker is mid-input (golang/go#75804, fixed
# in go1.27); a count has no deadline to race.
CI_FUZZTIME ?= 20000x

.PHONY: all build test deps lint fuzz clean

all: build

build:
	@mkdir -p bin
	@for c in $(CHECKS); do \
	  CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/$$c ./cmd/$$c || exit 1; \
	done
	@echo "built: $(addprefix bin/,$(CHECKS))"

# Installs the test prerequisites when missing (Debian packages, FerretDB),
# then runs every test with -race, then every fuzz target briefly.
deps:
	./scripts/install-test-deps.sh

test: deps lint
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" $(GO) test -race -count=1 -timeout 40m ./...
	$(MAKE) fuzz FUZZTIME=$(CI_FUZZTIME)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Runs each fuzz target for FUZZTIME (a duration, or a count such as 20000x).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin dist

# ---- Packaging (README, "Packages and monitoring definitions") ----
# nfpm runs as a Go tool of its own module (packaging/tools/go.mod), so the
# product's go.mod stays lean.
NFPM        := $(GO) tool -modfile=packaging/tools/go.mod nfpm
PKG_VERSION := $(patsubst v%,%,$(VERSION))
PKG_ARCH    ?= $(shell $(GO) env GOARCH)
PKG_STAGE   := packaging/build
DIST        ?= dist

.PHONY: definitions package deb rpm

# Regenerates the Nagios/NRPE/Icinga 2 definitions, the sudoers snippet and
# the man pages from the binaries' own options; commit the result (a test
# fails when the committed files differ from what this writes).
definitions:
	$(GO) run ./packaging/gen

package: deb rpm

# dist/opschecks_<version>_<arch>.deb and dist/opschecks-<version>-1.<arch>.rpm
deb rpm: build
	@rm -rf $(PKG_STAGE)/$@ && mkdir -p $(PKG_STAGE)/$@/man $(PKG_STAGE)/$@/doc $(DIST)
	@for m in packaging/man/*.1; do gzip -9n < $$m > $(PKG_STAGE)/$@/man/$$(basename $$m).gz || exit 1; done
	@cp README.md $(PKG_STAGE)/$@/doc/; \
	  if [ -f LICENSE ]; then cp LICENSE $(PKG_STAGE)/$@/doc/copyright; else cp packaging/copyright $(PKG_STAGE)/$@/doc/copyright; fi
	OPSCHECKS_VERSION=$(PKG_VERSION) OPSCHECKS_ARCH=$(PKG_ARCH) OPSCHECKS_BINDIR=bin OPSCHECKS_STAGE=$(PKG_STAGE)/$@ \
	  $(NFPM) package -f packaging/nfpm.yaml -p $@ -t $(DIST)/

# Benchmark harness (bench/, issue 11): every check against its peers under
# 10k/50k/100k loopback connections; needs root; writes bench/RESULTS.md.
# bench-smoke is the quick N=1000 run (also part of go test ./bench).
.PHONY: bench bench-smoke
bench:
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" $(GO) run ./bench

bench-smoke:
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" $(GO) run ./bench -smoke
