# rehearse — see README.md
GO      ?= go
BIN     := bin/rehearse
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/rehearse-dev/rehearse/harness/version.Version=$(VERSION)

.PHONY: chaos cluster-chaos setup build test rehearse bench bench-pair lint clean corpus fuzz

# images (docker backend) and node-image / postgres-image / kind-test (kind backend).
include images.mk kind.mk

# Installs PostgreSQL, git and gcc when missing (Debian/Ubuntu).
setup:
	@.ci/setup

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/rehearse

# The test command of the README and of .ci/run.
test: setup
	$(GO) test -count=1 -timeout 70m ./...

# The bundled example: the sample app's releases 1.0 -> 1.1 and 1.1 -> 1.2,
# reports in reports/sample-1.0-1.1/ and reports/sample-1.1-1.2/. Exit 1 from
# rehearse means "blocking findings", which the sample has by design.
rehearse: setup build
	./$(BIN) matrix --migrations migrations --from 1.0 --to 1.1 \
		--old-queries fixtures/queries/release-1.0.sql --out reports/sample-1.0-1.1 || [ $$? -eq 1 ]
	./$(BIN) matrix --migrations migrations --from 1.1 --to 1.2 \
		--old-queries fixtures/queries/release-1.1.sql --out reports/sample-1.1-1.2 || [ $$? -eq 1 ]

# The sample's bad day: every chaos fault on the local backend (docs/chaos.md).
chaos: setup build
	./$(BIN) run -f scenarios/sample-1.0-to-1.1-chaos.yaml --out reports/sample-chaos || [ $$? -eq 1 ]

# The cluster faults (kill-hook, kill-postgres-pod) on a throwaway kind
# cluster in hook mode (docs/chaos.md, "Cluster faults"); the images are
# loaded into the cluster, the cluster deleted at the end.
cluster-chaos: build images node-image postgres-image
	PATH=$(abspath $(KIND_OFFLINE)/docker-shim):$$PATH REHEARSE_DOCKER_SHIM=$(abspath $(KIND_OFFLINE)/docker-shim) \
	  REHEARSE_KIND_NODE_IMAGE=$(KIND_NODE_IMAGE) REHEARSE_POSTGRES_IMAGE=$(POSTGRES_IMAGE) \
	  ./$(BIN) run -f scenarios/sample-1.0-to-1.1-cluster-chaos.yaml --backend kind --out reports/sample-cluster-chaos || [ $$? -eq 1 ]

# The regression corpus of real public migration folders (corpus/README.md):
# needs their git dirs fetched (CORPUS_DIR/git/<owner>+<name> or
# MIRROR_DIR/<owner>+<name>/repo); not part of .ci/run.
corpus: build
	@[ -n "$(CORPUS_DIR)" ] || { echo "make corpus CORPUS_DIR=/path/to/work/folder"; exit 2; }
	scripts/corpus $(CORPUS_DIR)

# Every parser under go test -fuzz for FUZZTIME each (scripts/fuzz lists them).
fuzz:
	FUZZTIME=$${FUZZTIME:-10s} GO=$(GO) scripts/fuzz

# Matrix time per migration, the naive replay, their ratio, peak RSS and peak
# disk in one run; BENCH_LARGE=1 adds the second size (10 tables x 1M rows,
# 30 migrations: time per migration; a 1 GB dump loaded by --data-from vs
# pg_restore), which takes far longer. The test server's data directory is
# on tmpfs when /dev/shm has room (see harness/pgtest); the large size, GBs,
# stays on disk.
BENCH_ENV = REHEARSE_BENCH_LARGE=$(BENCH_LARGE) $(if $(BENCH_LARGE),REHEARSE_PG_TMPDIR=$${TMPDIR:-/tmp})
bench: setup
	$(BENCH_ENV) $(GO) test -run '^$$' -bench 'BenchmarkMatrixVsReplay|BenchmarkMatrixLarge' \
		-benchtime 1x -count 1 -timeout $(if $(BENCH_LARGE),180m,30m) ./harness/matrix/
	$(BENCH_ENV) $(GO) test -run '^$$' -bench 'BenchmarkLoadVsPgRestore|BenchmarkSampleCost' \
		-benchtime 1x -count 1 -timeout $(if $(BENCH_LARGE),180m,30m) ./harness/datasource/

# One benchmark, BASE (a commit) against the working tree, run alternately
# PAIRS times: medians and head/base per metric (scripts/benchpair).
PAIRS ?= 6
bench-pair:
	@[ -n "$(BASE)" ] && [ -n "$(PKG)" ] && [ -n "$(BENCH)" ] || { echo 'usage: make bench-pair BASE=<commit> PKG=./harness/seed BENCH='"'"'BenchmarkLoad$$$$'"'"' [PAIRS=6]'; exit 2; }
	scripts/benchpair '$(BASE)' '$(PKG)' '$(BENCH)' '$(PAIRS)'

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
