# The one Bazaar image: the `bazaar` binary (every component, the operator, migrations) on a minimal glibc base.
#
# Two ways to make it, both ending in the same runtime layout:
#
#   1. From source (users, release CI): the default target.
#        docker build -t bazaar .
#      Dependencies are compiled in their own layer (cargo-chef), so a change to Bazaar's code rebuilds only
#      Bazaar's crates; `--locked` builds exactly Cargo.lock.
#
#   2. Packing a binary built outside (Tilt, our CI): target `packed`, build context = a directory holding
#      `bazaar` (the binary, built for the runtime base's glibc or older), `storefront/` (may be empty) and
#      `lib/` (shared libraries the binary links that the base lacks, e.g. libz.so.1 when zlib is linked
#      dynamically; may be empty).
#        docker build -f Dockerfile --target packed -t bazaar:dev CONTEXT_DIR
#      No cargo runs in the image. scripts/image-test and the Tiltfile prepare that directory.
#
# Runtime base: distroless `cc` (glibc, libgcc, CA certificates, tzdata; no shell) as user `nonroot`, or any
# Debian-compatible base given as a build argument, e.g. --build-arg RUNTIME_IMAGE=debian:bookworm-slim
# (has a shell and tar, which Tilt's live update needs). The user is numeric (65532) whatever the base, so
# Kubernetes can verify runAsNonRoot without reading /etc/passwd.
#
# Builders: the source build needs BuildKit (Docker's default since 23.0), which builds only the stages a
# target uses. `--target packed` also works with the legacy builder (DOCKER_BUILDKIT=0), which builds every
# stage before its target: that is why `packed` comes right after `runtime`. No `# syntax=` line on purpose (it
# would make BuildKit fetch a frontend image).

ARG RUST_IMAGE=rust:1.94-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# ---------------------------------------------------------------------------------------------------------
# Runtime
# ---------------------------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
# Where the source lives, e.g. https://github.com/<org>/bazaar (links the image to its repository).
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="bazaar" \
      org.opencontainers.image.description="Bazaar: a Kubernetes-native commerce platform. One binary runs every component." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="Bazaar" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
# Clusters read JSON logs; `docker run ... -e BAZAAR_LOG_FORMAT=pretty` for reading by eye.
# The storefront's built files (if any) are in /usr/share/bazaar/storefront and served at `/`
# (BAZAAR_STOREFRONT_DIR; without an index.html there, nothing is served at `/`). There is no Node.js stage:
# base images are made from Debian packages, with no registry to pull a node image from, so the storefront
# is built before `docker build` (`npm ci && npm run build` in storefront/) and its `storefront/dist` is
# copied in (the source build below; scripts/image-test and the Tiltfile for `packed`).
ENV BAZAAR_HTTP_ADDR=0.0.0.0:8080 \
    BAZAAR_LOG_FORMAT=json \
    BAZAAR_STOREFRONT_DIR=/usr/share/bazaar/storefront
WORKDIR /
EXPOSE 8080
USER 65532:65532
ENTRYPOINT ["bazaar"]
CMD ["--help"]

# Packs a binary built outside the image (Tilt, CI). Context: `bazaar`, `storefront/`, `lib/`.
FROM runtime AS packed
COPY storefront/ /usr/share/bazaar/storefront/
COPY lib/ /usr/lib/
COPY bazaar /usr/local/bin/bazaar

# Tilt's live update only (`tilt up -- --live-update`), on a base with a shell and tar such as
# debian:trixie-slim: the binary lives in a directory the runtime user owns, so that Tilt can replace it in a
# running container and restart the process. Never for production: the process could rewrite its own binary.
FROM packed AS live
USER 0:0
RUN install -d -o 65532 -g 65532 /opt/bazaar /opt/bazaar/bin \
 && mv /usr/local/bin/bazaar /opt/bazaar/bin/bazaar \
 && chown 65532:65532 /opt/bazaar/bin/bazaar \
 && ln -s /opt/bazaar/bin/bazaar /usr/local/bin/bazaar
USER 65532:65532

# ---------------------------------------------------------------------------------------------------------
# Source build (BuildKit; the legacy builder would also build `packed` and `live` on the way)
# ---------------------------------------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS chef
ARG CARGO_CHEF_VERSION=0.1.78
# librdkafka is compiled from source by rdkafka-sys (needs a C toolchain, make, perl; the rust image has them).
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
# zlib (Kafka compression) linked statically: distroless `cc` has no libz.so. Symbols stripped: 57 MB -> 42 MB
# (panic messages keep their file and line; backtraces show addresses only).
ENV CARGO_TERM_COLOR=never \
    LIBZ_SYS_STATIC=1 \
    CARGO_PROFILE_RELEASE_STRIP=symbols
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --bin bazaar --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin bazaar \
 && mkdir -p /out/storefront \
 && cp target/release/bazaar /out/bazaar \
 && if [ -d storefront/dist ]; then cp -R storefront/dist/. /out/storefront/; fi \
 && /out/bazaar --version

# The default target: the image built from source.
FROM runtime AS image
COPY --from=builder /out/storefront/ /usr/share/bazaar/storefront/
COPY --from=builder /out/bazaar /usr/local/bin/bazaar
