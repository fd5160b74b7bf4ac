# syntax=docker/dockerfile:1
#
# OneFlow image: the gateway and every plugin, statically linked, on an empty
# base with only CA certificates, a passwd entry for the non-root user and a
# writable /tmp (go-plugin's sockets) and /app/data (SQLite, if used).
#
#   docker build -t oneflow .          (or: make docker-build)
#   docker run -p 8080:8080 oneflow
#
# The runtime stage has no shell and no package manager. A distroless
# "static-debian12:nonroot" base is an equivalent drop-in for `scratch` below
# if you prefer a maintained base image.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false

# Dependencies first, so code edits do not invalidate the module cache layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY . .
ARG VERSION=dev
# The same targets as `make build`: bin/oneflow and bin/plugins/oneflow-{provider,strategy}-*.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    make build VERSION="${VERSION}" \
 && test -x bin/oneflow \
 && ls bin/plugins/oneflow-provider-* bin/plugins/oneflow-strategy-* >/dev/null

# The runtime file system, assembled here because the final stage has no shell.
RUN mkdir -p /rootfs/app/data /rootfs/tmp /rootfs/etc/ssl/certs \
 && cp -r bin /rootfs/app/bin \
 && cp oneflow.hcl /rootfs/app/oneflow.hcl \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
 && echo 'nonroot:x:65532:65532:nonroot:/app:/sbin/nologin' > /rootfs/etc/passwd \
 && echo 'nonroot:x:65532:' > /rootfs/etc/group \
 && chown -R 65532:65532 /rootfs/app/data \
 && chmod 1777 /rootfs/tmp

FROM scratch
COPY --from=build /rootfs/ /
WORKDIR /app
USER 65532:65532
ENV ONEFLOW_LISTEN=0.0.0.0:8080 \
    TMPDIR=/tmp
EXPOSE 8080
VOLUME ["/app/data"]
ENTRYPOINT ["/app/bin/oneflow", "serve", "-config", "/app/oneflow.hcl"]
