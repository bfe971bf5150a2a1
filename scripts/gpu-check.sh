#!/usr/bin/env bash
# The CUDA check, on a machine with an NVIDIA GPU (a few minutes):
#
#   scripts/gpu-check.sh ORT_GPU_LIB_DIR
#
# ORT_GPU_LIB_DIR holds ONNX Runtime 1.31.1's CUDA build: libonnxruntime.so.1.31.1,
# libonnxruntime_providers_shared.so and libonnxruntime_providers_cuda.so (the
# `onnxruntime-gpu` wheel; `scripts/setup.sh --gpu` puts them in .ort/gpu).
# It needs CUDA 13's runtime, cuBLAS, cuFFT, cuRAND and cuDNN 9: from the
# system's library path, /usr/local/cuda, or else the CUDA 13 pip packages
# (nvidia-cudnn-cu13, nvidia-cublas, nvidia-cuda-runtime, nvidia-cufft,
# nvidia-curand) of any python3 on the PATH; it says which are missing
# otherwise. Then, in one table:
#
#   1. `adpipe tag --device cuda` over the committed photos: every decision
#      and category identical to the CPU's, and the largest difference of a
#      top label's probability;
#   2. inference alone (benches/ceiling.rs) at batch 1 to 256 on CUDA, and
#      at batch 8 on the CPU for scale;
#   3. one `adpipe worker` on CUDA draining a backlog of ADS ads (600) on
#      embedded defaults, against the same on the CPU.
#
# Binaries: BIN (target/release/adpipe) and CEILING_BIN (benches/ceiling.rs:
# built with cargo when cargo is there, else the newest
# target/release/deps/ceiling-*), so a machine without Rust can run what was
# built elsewhere. The CPU side loads CPU_ORT_LIB (.ort/cpu/libonnxruntime.so.1.31.1).
# GPU_CHECK_DEVICE=cpu rehearses every step on the CPU library alone, on a
# machine without a GPU.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf 'gpu-check: %s\n' "$*" >&2; }
fail() {
  say "$*"
  exit 1
}

case "${1:-}" in
  -h | --help | "") sed -n '2,29s/^# \{0,1\}//p' "$0"; [ -n "${1:-}" ]; exit ;;
esac
gpu_dir=$(cd "$1" 2>/dev/null && pwd) || fail "$1: no such folder"
device=${GPU_CHECK_DEVICE:-cuda}
ADS=${ADS:-600}
BIN=${BIN:-target/release/adpipe}
CPU_ORT_LIB=${CPU_ORT_LIB:-$root/.ort/cpu/libonnxruntime.so.1.31.1}
PORT=${PORT:-18095}
PHOTOS=tests/fixtures/photos
MODEL=models/efficientnet-lite0/model.toml
started_at=$(date +%s)

# --- What is needed, found or named -------------------------------------
[ -x "$BIN" ] || fail "$BIN is missing: build it (cargo build --release) or set BIN"
[ -f "$CPU_ORT_LIB" ] || fail "$CPU_ORT_LIB is missing: run scripts/setup.sh or set CPU_ORT_LIB"
gpu_lib="$gpu_dir/libonnxruntime.so.1.31.1"
if [ "$device" = cuda ]; then
  for file in libonnxruntime.so.1.31.1 libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
    [ -f "$gpu_dir/$file" ] || fail "$gpu_dir has no $file: it must hold the onnxruntime-gpu 1.31.1 wheel's onnxruntime/capi/*.so"
  done
  command -v nvidia-smi >/dev/null 2>&1 || fail "nvidia-smi not found: this needs a machine with an NVIDIA GPU and its driver"
  gpu_name=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1) \
    || fail "nvidia-smi sees no GPU"
  # The CUDA libraries the provider links against, looked for where they
  # usually are; the pip packages put theirs in site-packages/nvidia/*/lib.
  search=()
  [ -d /usr/local/cuda/lib64 ] && search+=(/usr/local/cuda/lib64)
  for python in python3 /opt/*/.venv/bin/python3 ${PYTHON:+"$PYTHON"}; do
    command -v "$python" >/dev/null 2>&1 || continue
    while IFS= read -r dir; do search+=("$dir"); done < <("$python" - <<'EOF' 2>/dev/null
import glob, os
try:
    import nvidia
except ImportError:
    raise SystemExit
for base in nvidia.__path__:
    for lib in sorted(glob.glob(os.path.join(base, "*", "lib"))):
        print(lib)
EOF
    )
  done
  if [ "${#search[@]}" -gt 0 ]; then
    LD_LIBRARY_PATH="$(IFS=:; echo "${search[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LD_LIBRARY_PATH
  fi
  missing=$(LD_LIBRARY_PATH="$gpu_dir:${LD_LIBRARY_PATH:-}" ldd "$gpu_dir/libonnxruntime_providers_cuda.so" \
    | awk '/not found/ { print $1 }' | tr '\n' ' ')
  if [ -n "$missing" ]; then
    fail "CUDA 13 libraries not found: $missing(looked in the library path, /usr/local/cuda/lib64 and the pip packages' nvidia/*/lib); install CUDA 13 with cuDNN 9, or: python3 -m pip install nvidia-cuda-runtime nvidia-cublas nvidia-cufft nvidia-curand nvidia-cudnn-cu13"
  fi
  say "GPU: $gpu_name; CUDA libraries found"
else
  gpu_lib=$CPU_ORT_LIB
  gpu_name="none (GPU_CHECK_DEVICE=cpu: a rehearsal on the CPU)"
fi

if [ -z "${CEILING_BIN:-}" ]; then
  if command -v cargo >/dev/null 2>&1; then
    cargo bench --locked --bench ceiling --no-run >/dev/null 2>&1 || fail "could not build benches/ceiling.rs"
  fi
  # The newest build of it (cargo names it ceiling-<hash>).
  for candidate in target/release/deps/ceiling-*; do
    case "$candidate" in *.d) continue ;; esac
    [ -x "$candidate" ] || continue
    if [ -z "${CEILING_BIN:-}" ] || [ "$candidate" -nt "$CEILING_BIN" ]; then
      CEILING_BIN=$candidate
    fi
  done
fi
if [ -z "${CEILING_BIN:-}" ] || [ ! -x "$CEILING_BIN" ]; then
  fail "benches/ceiling.rs is not built: cargo bench --bench ceiling --no-run, or set CEILING_BIN"
fi

# shellcheck source=benches/backlog.sh
source benches/backlog.sh

# --- 1. The same decisions ---------------------------------------------
mapfile -t photos < <(find "$PHOTOS" -type f \( -name '*.jpg' -o -name '*.png' \) | sort)
say "adpipe tag over ${#photos[@]} photos on the CPU, then on $device"
ADPIPE_ORT_LIB=$CPU_ORT_LIB "$BIN" tag --json --device cpu "${photos[@]}" >"$work/cpu.json" 2>"$work/cpu.log"
RUST_LOG=info ADPIPE_ORT_LIB=$gpu_lib "$BIN" tag --json --device "$device" "${photos[@]}" \
  >"$work/gpu.json" 2>"$work/gpu.log"
if [ "$device" = cuda ] && ! grep -q 'execution="\{0,1\}cuda' "$work/gpu.log"; then
  say "adpipe tag did not run on CUDA; its log:"
  grep -i 'cuda\|error\|warn' "$work/gpu.log" | head -20 >&2
  exit 1
fi
compare=$(python3 - "$work/cpu.json" "$work/gpu.json" <<'EOF'
import json, sys
def load(path):
    return {r["file"]: r for r in map(json.loads, open(path)) if "tags" in r}
cpu, gpu = load(sys.argv[1]), load(sys.argv[2])
same = [f for f in cpu if f in gpu and (cpu[f]["decision"], cpu[f]["category"]) == (gpu[f]["decision"], gpu[f]["category"])]
top = [f for f in cpu if f in gpu and cpu[f]["tags"][0]["label"] == gpu[f]["tags"][0]["label"]]
diff = max((abs(cpu[f]["tags"][0]["confidence"] - gpu[f]["tags"][0]["confidence"]) for f in top), default=0.0)
for f in sorted(set(cpu) - set(same)):
    print(f"differs: {f}: cpu {cpu[f]['decision']}/{cpu[f]['category']}, "
          f"gpu {gpu.get(f, {}).get('decision')}/{gpu.get(f, {}).get('category')}", file=sys.stderr)
print(f"{len(same)} {len(cpu)} {len(top)} {diff:.4f}")
EOF
)
read -r same total top_same top_diff <<<"$compare"

# --- 2. Inference alone ------------------------------------------------
say "inference alone: batch 8 on the CPU, batch 1 to 256 on $device"
cpu_inference=$(ADPIPE_ORT_LIB=$CPU_ORT_LIB CEILING_MODEL=$MODEL CEILING_BATCH=8 CEILING_SECONDS=3 \
  CEILING_THREADS="$(nproc)" "$CEILING_BIN" | python3 -c 'import json, sys; print(round(json.loads(sys.stdin.readlines()[-1])["images_per_s"]))')
ADPIPE_ORT_LIB=$gpu_lib CEILING_MODEL=$MODEL CEILING_DEVICE=$device CEILING_BATCH=1,2,4,8,16,32,64,128,256 \
  CEILING_SECONDS=2 CEILING_THREADS="$(nproc)" "$CEILING_BIN" >"$work/inference.jsonl" 2>"$work/inference.log" \
  || { tail -20 "$work/inference.log" >&2; fail "inference on $device failed"; }

# --- 3. A worker draining a backlog -------------------------------------
fill_backlog "$work/backlog" "$ADS" "$PHOTOS"
say "one worker draining $backlog ads on the CPU"
drain "$work/backlog" ADPIPE_ORT_LIB="$CPU_ORT_LIB" ADPIPE_DEVICE=cpu
cpu_decided=$decided
say "one worker draining $backlog ads on $device (batch 32)"
drain "$work/backlog" ADPIPE_ORT_LIB="$gpu_lib" ADPIPE_DEVICE="$device" ADPIPE_WORKER_BATCH_SIZE=32
gpu_decided=$decided

echo
echo "GPU check, $(date -u +%Y-%m-%d): $gpu_name; $(nproc) CPU cores; ONNX Runtime 1.31.1; $(($(date +%s) - started_at)) s"
echo
echo "| check | result |"
echo "| --- | --- |"
echo "| \`adpipe tag\`: decision and category as on the CPU | $same of $total photos |"
echo "| \`adpipe tag\`: top label as on the CPU; largest difference of its probability | $top_same of $total; $top_diff |"
echo "| inference alone on the CPU, batch 8 | $cpu_inference images/s |"
python3 - "$work/inference.jsonl" "$device" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(f"| inference alone on {r['execution']}, batch {r['batch']} | {r['images_per_s']:.0f} images/s |")
EOF
echo "| one worker draining $backlog ads: CPU (batch 8) | $cpu_decided decided/s |"
echo "| one worker draining $backlog ads: $device (batch 32) | $gpu_decided decided/s |"
[ "$same" = "$total" ] || fail "decisions differ between the CPU and $device (listed above)"
