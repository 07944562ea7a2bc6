# syntax=docker/dockerfile:1
#
# stagehand's manager image: a static Go binary on distroless, run as the
# non-root user 65532. `make docker-build IMG=...` builds it.

# Build on the platform of the machine that builds, for the platform asked
# for (docker buildx build --platform=linux/arm64 ...): Go cross-compiles.
FROM --platform=$BUILDPLATFORM golang:1.26 AS builder
ARG TARGETOS=linux
ARG TARGETARCH
# The version and commit `--version` prints (make docker-build passes them;
# the image holds no git to read them from).
ARG VERSION=dev
ARG COMMIT=unknown
WORKDIR /src

# Modules first, in their own layer: it is rebuilt only when go.mod or go.sum
# change, not on every change to the code.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w -X github.com/stagehand-dev/stagehand/internal/version.version=${VERSION} -X github.com/stagehand-dev/stagehand/internal/version.commit=${COMMIT}" -o /manager ./cmd

# Nothing but the binary, CA certificates and a passwd entry for nonroot: no
# shell, no package manager.
FROM gcr.io/distroless/static:nonroot
COPY --from=builder /manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
