# kind backend: the images a cluster needs on a machine without a registry.
# Included by the Makefile; alone: make -f kind.mk node-image
#
# KIND_OFFLINE is ../shared/kind-offline (CI copies shared/ beside the clone).
# On a machine with a registry none of this is needed: the kind backend then
# uses kind's own node image and `docker pull`ed images.
GO              ?= go
KIND_OFFLINE    ?= ../shared/kind-offline
KIND_NODE_IMAGE ?= kind-offline/node:v1.34.4
POSTGRES_IMAGE  ?= kind-offline/postgres:15

.PHONY: node-image postgres-image kind-test

# kind-offline/node:v1.34.4 for kind v0.33.0: about 13 minutes cold, 0 s
# when it exists (the script skips every stage whose output exists).
node-image:
	$(KIND_OFFLINE)/build-node-image

# kind-offline/postgres:15 (about 30 s), only when missing.
postgres-image:
	@docker image inspect $(POSTGRES_IMAGE) >/dev/null 2>&1 || $(KIND_OFFLINE)/build-postgres-image

# The kind end-to-end test alone, with its stage times (-v). docker-shim
# first in PATH is required where `docker run --privileged` fails.
kind-test: node-image postgres-image
	CI=$${CI:-1} REHEARSE_DOCKER_SHIM=$(abspath $(KIND_OFFLINE)/docker-shim) REHEARSE_KIND_NODE_IMAGE=$(KIND_NODE_IMAGE) REHEARSE_POSTGRES_IMAGE=$(POSTGRES_IMAGE) \
	  $(GO) test -count=1 -v -timeout 40m -run 'TestKindRehearsal' ./harness/env/kind/
