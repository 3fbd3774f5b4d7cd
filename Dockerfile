# syntax=docker/dockerfile:1
#
# One Dockerfile for every Stampede binary. The builder compiles the whole workspace once; each
# image then takes one binary:
#
#   docker build --build-arg BIN=gateway -t stampede/gateway:dev .
#
# BIN is a binary of the workspace: gateway, user-service, event-service, booking-service,
# inventory-service, payment-service, notification-service, stack, chaos, faultproxy, loadgen.
# Builds of different BINs share every layer up to the runtime stage, so building all ten images
# compiles the workspace once (docker-compose.yml does exactly that).
#
# Layers: cargo-chef turns the manifests into a recipe, `cargo chef cook` compiles only the
# dependencies (cached until Cargo.toml/Cargo.lock change), then the workspace itself is built.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS chef
ARG CARGO_CHEF_VERSION=0.1.78
# C toolchain for librdkafka (rdkafka-sys builds it from source with ./configure + make, zlib on),
# ring and aws-lc-sys (cmake only as aws-lc-sys's fallback). Debian's versions of the day: the
# Rust toolchain and Cargo.lock are what is pinned.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
ENV CARGO_TERM_COLOR=never
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: this layer is reused until a manifest or Cargo.lock changes.
RUN cargo chef cook --release --locked --workspace --recipe-path recipe.json
COPY . .
# Every binary of the workspace, debug info stripped (symbols kept, so backtraces name functions).
RUN cargo build --release --locked --workspace --bins \
 && mkdir -p /out \
 && find target/release -maxdepth 1 -type f -perm -u+x -exec cp {} /out/ \; \
 && strip --strip-debug /out/* \
 && ls -l /out

# Shared by every image (built once): system packages, the user, the health probe.
FROM debian:${DEBIAN_RELEASE}-slim AS runtime-base
# ca-certificates: TLS clients (loadgen's rustls verifier reads the system store); zlib1g: librdkafka.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 stampede \
 && useradd --system --uid 10001 --gid stampede --home-dir /home/stampede --create-home \
      --shell /usr/sbin/nologin stampede \
 && mkdir -p /runs \
 && chown stampede:stampede /runs
COPY infra/docker/healthcheck /usr/local/bin/healthcheck

# One binary per image.
FROM runtime-base AS runtime
ARG BIN
# The entrypoint is a fixed name for whichever binary this image holds.
RUN test -n "${BIN}" || { echo "build with --build-arg BIN=<binary>" >&2; exit 1; } \
 && ln -s "/usr/local/bin/${BIN}" /usr/local/bin/stampede-entrypoint
COPY --from=builder /out/${BIN} /usr/local/bin/${BIN}
LABEL org.opencontainers.image.title="stampede-${BIN}" \
      org.opencontainers.image.source="stampede" \
      org.opencontainers.image.licenses="Apache-2.0"
# Services bind 127.0.0.1 by default (local development); in a container they must listen on all
# interfaces. Runs (loadgen, chaos) write under /runs, a volume in docker-compose and Kubernetes.
ENV STAMPEDE_BIN=${BIN} \
    HOST=0.0.0.0 \
    RUST_LOG=info
WORKDIR /home/stampede
USER 10001:10001
ENTRYPOINT ["/usr/local/bin/stampede-entrypoint"]
