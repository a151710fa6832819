# syntax=docker/dockerfile:1

# Container image of the gateway server (V2, on-premises).
#
#   docker build -t openbedrock/gateway --build-arg VERSION=$(git describe --tags --always) .
#   docker buildx build --platform linux/amd64,linux/arm64 -t openbedrock/gateway .
#
# Targets: gateway (default, last stage), lambda (the same code's Lambda build,
# a Lambda container image for V1: the same image source for both
# topologies), canary (the keep-warm prober for the Kubernetes CronJob) and
# emulator (the Bedrock emulator for the compose demo).
# Every final image is FROM scratch: one static binary, the CA bundle, a
# numeric non-root user. There is no shell; health checks use the binary's
# own healthcheck subcommand. Secrets are never baked in: AWS credentials and
# the API key arrive at run time as environment variables or from SSM.
# deploy/container_test.go checks this file.

# The builder runs on the build host's platform and cross-compiles for the
# target platform, so an arm64 image (Raspberry Pi) builds quickly on amd64.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=bind,source=go.mod,target=go.mod \
    --mount=type=bind,source=go.sum,target=go.sum \
    go mod download

# Each build stage declares the arguments it uses: TARGETOS and TARGETARCH are
# set by BuildKit from --platform; VERSION is stamped into the binary.
FROM build AS build-gateway
ARG TARGETOS TARGETARCH VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,target=. \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -tags nomsgpack -trimpath -ldflags "-s -w -X main.version=$VERSION" -o /out/gateway ./cmd/gateway

# The Lambda build of the gateway: what `make build-lambda` builds for the
# zip, here for the lambda target.
FROM build AS build-lambda
ARG TARGETOS TARGETARCH VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,target=. \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -tags lambda,lambda.norpc,nomsgpack -trimpath -ldflags "-s -w -X main.version=$VERSION" -o /out/bootstrap ./cmd/gateway

FROM build AS build-canary
ARG TARGETOS TARGETARCH VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,target=. \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o /out/canary ./cmd/canary

FROM build AS build-emulator
ARG TARGETOS TARGETARCH VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,target=. \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o /out/bedrock-emulator ./cmd/bedrock-emulator

# docker build --target emulator: the Bedrock emulator, for the compose demo
# (compose.demo.yaml). It listens on -addr; it needs no CA bundle.
FROM scratch AS emulator
COPY --from=build-emulator /out/bedrock-emulator /bedrock-emulator
USER 65532:65532
EXPOSE 4000
ENTRYPOINT ["/bedrock-emulator"]
CMD ["-addr", "0.0.0.0:4000"]

# docker build --target canary: the keep-warm prober run by
# deploy/kubernetes/cronjob-canary.yaml as "canary once -url ...".
FROM scratch AS canary
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build-canary /out/canary /canary
USER 65532:65532
ENTRYPOINT ["/canary"]

# docker build --target lambda: the gateway as a Lambda container image (V1,
# template.yaml's GatewayImageUri). AWS's requirements for a Go function on
# a non-AWS base image: a Linux image for one architecture (build it with
# --platform linux/arm64 or linux/amd64 to match the function's
# Architecture, and --provenance=false so the registry gets a single image
# manifest, not an index), the runtime interface client in the entry point
# (aws-lambda-go is compiled into the bootstrap), files readable by Lambda's
# default user, and a read-only file system but /tmp. Lambda honours
# ENTRYPOINT, CMD, WORKDIR and ENV and ignores the rest (USER only matters
# when the image runs elsewhere, e.g. under the emulator).
FROM scratch AS lambda
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build-lambda /out/bootstrap /bootstrap
USER 65532:65532
ENTRYPOINT ["/bootstrap"]

# The default target: the gateway server. API on PORT (8080); Prometheus
# metrics on METRICS_ADDR, which must listen on all interfaces in a container
# to be scraped (the server build's default is loopback only).
FROM scratch AS gateway
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build-gateway /out/gateway /gateway
ENV PORT=8080 \
    METRICS_ADDR=:9090
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/gateway", "healthcheck"]
ENTRYPOINT ["/gateway"]
