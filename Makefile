# opschecks: one static binary per check.
GO      ?= go
PKG     := github.com/opschecks/opschecks
VERSION ?= $(shell cat VERSION 2>/dev/null || git describe --tags --always 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X $(PKG)/internal/plugin.Version=$(VERSION) -X $(PKG)/internal/plugin.Commit=$(COMMIT)
CHECKS  := $(notdir $(wildcard cmd/check_*))
FUZZTIME ?= 10s

.PHONY: all build test deps lint fuzz clean

all: build

build:
	@mkdir -p bin
	@for c in $(CHECKS); do \
	  CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/$$c ./cmd/$$c || exit 1; \
	done
	@echo "built: $(addprefix bin/,$(CHECKS))"

# Installs the test prerequisites when missing (Debian packages, FerretDB),
# then runs every test; -race where cgo is available.
deps:
	./scripts/install-test-deps.sh

test: deps lint
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" $(GO) test -race -count=1 -timeout 40m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Runs each fuzz target for FUZZTIME.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin dist
