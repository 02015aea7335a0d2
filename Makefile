# rehearse — see README.md
GO      ?= go
BIN     := bin/rehearse
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/rehearse-dev/rehearse/harness/version.Version=$(VERSION)

.PHONY: build test rehearse bench lint clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/rehearse

# The test command of the README and of .ci/run.
test:
	$(GO) test -count=1 -timeout 45m ./...

# The bundled example: release 1.0 -> 1.2 of the sample migrations, report in reports/sample/.
rehearse: build
	./$(BIN) matrix --migrations migrations --from 1.0 --to 1.2 \
		--old-queries fixtures/queries/release-1.0.sql --out reports/sample

# Matrix on a 30-migration set over 100k rows vs a naive replay, same run.
bench:
	$(GO) test -run '^$$' -bench 'BenchmarkMatrixVsReplay' -benchtime 1x -count 1 -timeout 30m ./harness/matrix/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin
