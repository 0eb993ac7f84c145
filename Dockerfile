# syntax=docker/dockerfile:1.7
# The Pail operator image: a static binary, the built-in wasm drivers, the
# built-in policy packs, and the drivers already compiled for this
# architecture (so a pod's first driver load reads the cache instead of
# compiling a 13 MB module for several seconds).
#
#   make image               (docker build -t ghcr.io/pail-dev/pail:<appVersion> .)

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
# Module files first, so dependency downloads stay cached while code changes.
COPY go.work go.work.sum ./
COPY api/go.mod api/go.sum api/
COPY core/go.mod core/go.sum core/
COPY sdk/go.mod sdk/go.sum sdk/
COPY sdk/s3compat/go.mod sdk/s3compat/go.sum sdk/s3compat/
COPY plugins/aws/go.mod plugins/aws/go.sum plugins/aws/
COPY plugins/minio/go.mod plugins/minio/go.sum plugins/minio/
COPY plugins/wasabi/go.mod plugins/wasabi/go.sum plugins/wasabi/
COPY test/go.mod test/go.sum test/
COPY test/tools/go.mod test/tools/go.sum test/tools/
RUN --mount=type=cache,target=/root/go/pkg/mod go mod download
COPY . .
# A static binary (CGO_ENABLED=0): the final image has no libc.
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -ldflags "-s -w" -o bin/pail ./core/cmd/pail && \
    make plugins
# Compile every driver into the cache the image ships; this fails the build
# when a driver does not load, so a broken driver never reaches a cluster.
RUN bin/pail --warm-cache --driver-dir bin/drivers --cache-dir /out/wasm-cache --log-json=false

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.source="https://github.com/pail-dev/pail" \
      org.opencontainers.image.description="Pail: S3-compatible object storage operator with sandboxed wasm drivers"
COPY --from=build /src/bin/pail /pail
COPY --from=build /src/bin/drivers/ /drivers/
COPY --from=build /src/policies/ /policies/
COPY --from=build --chown=65532:65532 /out/wasm-cache/ /opt/pail/wasm-cache/
# The chart mounts a writable emptyDir at --cache-dir and seeds it from here.
ENV PAIL_DRIVER_DIR=/drivers \
    PAIL_POLICY_DIR=/policies \
    PAIL_CACHE_SEED_DIR=/opt/pail/wasm-cache
USER 65532:65532
EXPOSE 8080 8081 9443
ENTRYPOINT ["/pail"]
