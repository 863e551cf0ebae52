# clipmill: the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/clipmill
DEMO  := demo

.PHONY: setup build cli functions image invoke demo test test-short vet bench bench-select bench-api soak deploy clean

setup:
	@scripts/setup.sh

# Every Lambda function to build/<name>/bootstrap (the engine's image
# function too, so that it is known to compile for arm64), and the local binary.
build: functions cli

cli:
	$(GO) build -o $(BIN) ./cmd/clipmill

# The zip functions (provided.al2023, arm64), and the function that runs in
# a container image (functions/engine/Dockerfile builds it again in the image).
FUNCTIONS := submit poll store transcribe
IMAGE_FUNCTIONS := engine
LAMBDA_ENV := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags="-s -w"

functions: $(addprefix build/,$(addsuffix /bootstrap,$(FUNCTIONS) $(IMAGE_FUNCTIONS)))

build/%/bootstrap: FORCE
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $@ ./functions/$*

FORCE:

# sam build calls these, one per function (BuildMethod: makefile), with
# ARTIFACTS_DIR set to where the bootstrap must go.
build-SubmitFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/submit

build-PollFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/poll

build-StoreFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/store

build-TranscribeFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/transcribe

# The engine's container image for arm64, as sam build makes it from
# EngineFunction's Metadata (Dockerfile, DockerContext, DockerTag). Needs
# Docker, and on an x86 machine QEMU's arm64 emulation (see the Dockerfile).
ENGINE_IMAGE ?= clipmill-engine:latest
image:
	docker build --platform linux/arm64 -f functions/engine/Dockerfile -t $(ENGINE_IMAGE) .

# One function of template.yaml on one event, as sam local invoke runs it
# but without Docker: built for this machine and run under a local Lambda
# runtime API, its environment (events/local-env.json) pointed at a clipmill
# local on a scratch folder. Prints the response or the error; exits 1 on
# an error (make then says "Error 1"). See bin/clipmill invoke -h. The
# build and the function's logs go to stderr: stdout is its answer alone.
#   make invoke FUNCTION=PollFunction EVENT=events/poll-input.json
invoke:
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=<LogicalId> EVENT=<file>" >&2; exit 2; }
	@$(GO) build -o $(BIN) ./cmd/clipmill
	@$(BIN) invoke $(FUNCTION) $(EVENT)

# Needs the AWS SAM CLI and credentials (see samconfig.toml).
deploy:
	sam build && sam deploy

# A three-minute synthetic talk with a face in it, on this machine alone:
# first clipped directly (with its exact transcript), then dropped into the
# local S3 drop folder, where the stack's own engine (the steps of
# statemachine/engine.asl.json) clips it with the transcript beside it.
demo: setup cli
	@mkdir -p $(DEMO)/bucket/inbox
	@face="$$($(GO) list -m -f '{{.Dir}}' github.com/esimov/pigo)/testdata/sample.jpg"; \
	  [ -f $(DEMO)/talk.mp4 ] || $(BIN) sample $(DEMO)/talk.mp4 --seconds 180 --face "$$face"
	$(BIN) clip $(DEMO)/talk.mp4 --transcript $(DEMO)/talk.srt --duration 30,60 --out $(DEMO)/clips
	@echo '{"title":"Demo talk","output_settings":{"duration_types":["30"],"caption_style":"bold"}}' > $(DEMO)/bucket/inbox/talk.json
	@cp -n $(DEMO)/talk.srt $(DEMO)/bucket/inbox/talk.srt
	@cp -n $(DEMO)/talk.mp4 $(DEMO)/bucket/inbox/talk.mp4
	$(BIN) local --backend engine --data $(DEMO)/bucket --once --s3-addr 127.0.0.1:0
	@echo
	@echo "Watch the clips: open $(DEMO)/clips/index.html in a browser."
	@echo "The drop-folder pipeline wrote $(DEMO)/bucket/clips/talk/manifest.json and the clip files beside it."

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { gofmt -l .; echo "gofmt: the files above need formatting"; exit 1; }
	$(GO) vet ./...

# Everything, the slow end-to-end tests included.
test: setup vet
	$(GO) test -count=1 -timeout 20m ./...

# Skips the slow end-to-end tests.
test-short:
	$(GO) test -short ./...

bench: setup cli
	$(GO) run ./bench

# The selection stage on generated talks of known structure (text only).
bench-select:
	$(GO) run ./bench -select-only

# wrk against clipmill serve on loopback.
bench-api: setup cli
	bench/api.sh

# clipmill serve through a rough day: 50 jobs, a CPU hog on every core,
# three SIGKILLs and restarts, deletes; checks that every job ends with a
# real outcome and every webhook is delivered (about 15 minutes).
soak: setup cli
	$(GO) run ./bench/soak

clean:
	rm -rf bin $(DEMO) clips
