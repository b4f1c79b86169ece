# tracetop build and test entry points. `make test` is the README's test command.
GO ?= go
BIN := bin/tracetop
PKGS := ./...

.PHONY: all build test test-short bench fuzz generate vet clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/tracetop

# The full suite. With TRACETOP_REQUIRE=all (CI) a test that needs a missing
# peer, root or kernel feature fails instead of skipping. Packages run one at
# a time (-p 1): the kernel tests record the whole machine and measure CPU
# time, which another package's tests running beside them would disturb.
test: build
	$(GO) vet $(PKGS)
	$(GO) test -p 1 -count=1 -timeout 40m $(PKGS)

test-short:
	$(GO) test -short -count=1 $(PKGS)

# Speed comparisons with the real peers, each printing its ratio.
bench: build
	./bench/run.sh

generate:
	$(GO) generate ./...

vet:
	$(GO) vet $(PKGS)

clean:
	rm -rf bin
