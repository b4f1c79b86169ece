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

# Every fuzz target of the tree, FUZZTIME each (default 60s), one after
# the other. New crashers land in the package's testdata/fuzz/ and stay
# there as regression inputs of `make test`.
FUZZTIME ?= 60s
fuzz:
	@set -e; grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do \
		d=$$(dirname "$$f"); \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$f"); do \
			echo "== $$d $$t"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 3s "$$d"; \
		done; \
	done

generate:
	$(GO) generate ./...

vet:
	$(GO) vet $(PKGS)

clean:
	rm -rf bin
