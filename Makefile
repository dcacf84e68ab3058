# Suanli developer targets. `make test` is the one CI runs (.ci/run).
GO       ?= go
PKGS     ?= ./...
BENCH    ?= .
COUNT    ?= 6
BENCHTIME ?= 1s
FUZZTIME ?= 30s
# VERSION is the build version servers advertise (suanli cluster status,
# VERSION; docs/operations.md, Upgrading a cluster).
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo devel)
LDFLAGS  := -X github.com/suanli/suanli/scheduler/server.Version=$(VERSION)

.PHONY: all build test test-short bench bench-compare verify demo fuzz chaos chaos-preempt cluster clean

all: verify test

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/suanli ./cmd/suanli

## test: the full test suite (race detector on), as CI runs it.
test:
	$(GO) test -race -timeout 20m $(PKGS)

test-short:
	$(GO) test -short $(PKGS)

## bench: every benchmark, $(COUNT) runs each, benchstat-comparable output in bench.txt.
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(COUNT) -benchtime $(BENCHTIME) ./... | tee bench.txt

## bench-compare: the benchmarks matching $(BENCH) in $(BENCHPKG) at revision $(BASE) against the
## working tree, run alternately $(COUNT) times each, compared with benchstat (benchmarks/compare.sh).
BASE ?= HEAD
BENCHPKG ?= ./benchmarks/
bench-compare:
	PKG='$(BENCHPKG)' benchmarks/compare.sh '$(BASE)' '$(BENCH)' $(COUNT) $(BENCHTIME)

## verify: formatting, vet and a tidy go.mod.
verify:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@cp go.mod /tmp/suanli.go.mod.bak; cp go.sum /tmp/suanli.go.sum.bak; \
	 $(GO) mod tidy; \
	 if ! git diff --quiet -- go.mod go.sum; then echo "go mod tidy changed go.mod/go.sum:"; git --no-pager diff -- go.mod go.sum; \
	   cp /tmp/suanli.go.mod.bak go.mod; cp /tmp/suanli.go.sum.bak go.sum; exit 1; fi

## demo: the planner's main job on the built-in baseline scenario.
demo:
	$(GO) run ./cmd/suanli sim scenarios/shandong-baseline.yaml --out out/shandong-baseline

## cluster: a local cluster (3 servers, 1 agent) on 127.0.0.1; Ctrl-C stops it. See README "For operators".
cluster: build
	./bin/suanli dev $(DEVFLAGS)

## chaos: long multi-process fault runs (leader/follower/agent SIGKILL and SIGSTOP, quorum loss) against
## 3 servers and 2 agents, then every safety check; CHAOS=duration, CHAOS_SEED picks the fault sequence.
CHAOS ?= 3m
CHAOS_SEED ?= 1
chaos:
	SUANLI_CHAOS=$(CHAOS) SUANLI_CHAOS_SEED=$(CHAOS_SEED) $(GO) test -run '^TestChaos$$' -v -count 1 -timeout 2h ./test/cluster/

## chaos-preempt: the same faults against servers started with --preempt, on a small cluster (2 agents x
## 2 8-core nodes) kept full by a mix of priorities and sizes (TestChaosPreempt; a ~25 s version runs in make test).
chaos-preempt:
	SUANLI_CHAOS=$(CHAOS) SUANLI_CHAOS_SEED=$(CHAOS_SEED) $(GO) test -run '^TestChaosPreempt$$' -v -count 1 -timeout 2h ./test/cluster/

clean:
	rm -rf bin out bench.txt
