# clipmill: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/clipmill
DEMO  := demo

.PHONY: setup build demo test test-short vet bench bench-api clean

setup:
	@scripts/setup.sh

build:
	$(GO) build -o $(BIN) ./cmd/clipmill

# A three-minute synthetic talk with a face in it, clipped to 30 s and 60 s
# portrait clips with captions, on this machine alone.
demo: setup build
	@mkdir -p $(DEMO)
	@face="$$($(GO) list -m -f '{{.Dir}}' github.com/esimov/pigo)/testdata/sample.jpg"; \
	  [ -f $(DEMO)/talk.mp4 ] || $(BIN) sample $(DEMO)/talk.mp4 --seconds 180 --face "$$face"
	$(BIN) clip $(DEMO)/talk.mp4 --transcript $(DEMO)/talk.srt --duration 30,60 --out $(DEMO)/clips
	@echo
	@echo "Open $(DEMO)/clips/index.html in a browser to watch the clips."

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: the files above need formatting"; exit 1; }
	$(GO) vet ./...

# Everything, the slow end-to-end tests included.
test: setup vet
	$(GO) test -count=1 -timeout 20m ./...

# Skips the slow end-to-end tests.
test-short:
	$(GO) test -short ./...

bench: setup build
	$(GO) run ./bench

# wrk against clipmill serve on loopback.
bench-api: setup build
	bench/api.sh

clean:
	rm -rf bin $(DEMO) clips
