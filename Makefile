# OneFlow — `make run` serves with the embedded defaults; `make test` runs everything.
SHELL := /bin/bash
GO ?= go
GOBIN ?= $(shell $(GO) env GOPATH)/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/oneflow-ai/oneflow/core/internal/app.Version=$(VERSION)
PROVIDERS := $(notdir $(wildcard plugins/providers/*))
STRATEGIES := $(notdir $(wildcard plugins/strategies/*))
TEST_FLAGS ?= -race -count=1 -timeout 20m

.PHONY: all build run test lint proto proto-check bench bench-full fuzz cover clean tools

-include make/ops.mk

all: build

build: ## core into ./bin, every plugin into ./bin/plugins
	@mkdir -p bin/plugins
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/oneflow ./core/cmd/oneflow
	@for p in $(PROVIDERS); do echo "build oneflow-provider-$$p"; \
	  $(GO) build -trimpath -ldflags '-s -w' -o bin/plugins/oneflow-provider-$$p ./plugins/providers/$$p || exit 1; done
	@for s in $(STRATEGIES); do echo "build oneflow-strategy-$$s"; \
	  $(GO) build -trimpath -ldflags '-s -w' -o bin/plugins/oneflow-strategy-$$s ./plugins/strategies/$$s || exit 1; done

run: build ## serve with ./oneflow.hcl: SQLite under ./data, in-process limits, no keys needed
	./bin/oneflow serve -config oneflow.hcl

test: ## the whole suite with the race detector
	$(GO) vet ./...
	$(GO) test $(TEST_FLAGS) ./...

lint: ## go vet, gofmt, golangci-lint when it installs
	$(GO) vet ./...
	@out=$$(gofmt -l core sdk plugins examples); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@if $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@latest 2>/dev/null; then \
	  $(GOBIN)/golangci-lint run ./...; else echo "golangci-lint unavailable; skipped"; fi

tools:
	@command -v protoc >/dev/null || { echo "protoc missing: apt-get install -y protobuf-compiler"; exit 1; }
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1

proto: tools ## regenerate sdk/internal/pb from sdk/proto
	cd sdk && PATH="$(GOBIN):$$PATH" protoc -I proto \
	  --go_out=. --go_opt=module=github.com/oneflow-ai/oneflow/sdk \
	  --go-grpc_out=. --go-grpc_opt=module=github.com/oneflow-ai/oneflow/sdk \
	  proto/oneflow/provider/v1/provider.proto proto/oneflow/strategy/v1/strategy.proto

proto-check: proto ## fail when the committed generated code drifts from the .proto files
	@git diff --exit-code -- sdk/internal/pb || { echo "generated code is stale: run make proto and commit"; exit 1; }

bench: build ## Go benchmarks of the hot path, then the load baseline (quick) against a ReverseProxy floor
	$(GO) test -run '^$$' -bench . -benchmem ./core/internal/... ./sdk/...
	$(GO) run ./core/bench -quick -bin $(CURDIR)/bin -out bench-results.json -md bench-results.md

bench-full: build ## the full baseline (about 10 minutes); see BENCHMARKS.md
	$(GO) run ./core/bench -bin $(CURDIR)/bin -out bench-results.json -md bench-results.md

fuzz: ## each fuzz target for 20s
	@for t in $$(grep -rl --include='*_test.go' '^func Fuzz' core sdk plugins | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$t/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s ./$$t || exit 1; done; done

cover:
	$(GO) test -coverprofile=coverage.out ./... && $(GO) tool cover -func=coverage.out | tail -1

clean:
	rm -rf bin coverage.out
