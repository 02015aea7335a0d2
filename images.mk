# Server images of the sample app for the docker backend: one per release,
# FROM scratch around a static binary, so no registry is needed.
# Included by the Makefile; alone: make -f images.mk images
GO              ?= go
SAMPLE_RELEASES ?= 1.0 1.1 1.2
SAMPLE_IMAGE    ?= rehearse-sample/app

.PHONY: images
images: $(addprefix image-,$(SAMPLE_RELEASES))

image-%:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.release=$*" -o bin/app-$* ./fixtures/app
	DOCKER_BUILDKIT=0 docker build -q -f fixtures/app/Dockerfile --build-arg RELEASE=$* -t $(SAMPLE_IMAGE):$* .
