#!/usr/bin/env bash
# How close one worker comes to ONNX Runtime alone, in one run (BENCHMARKS.md
# "The ceiling" quotes what this prints):
#
#   1. ONNX Runtime alone on random input: Python onnxruntime 1.31.1
#      (benches/python_baseline.py --ort-alone) and the Rust tagger's own
#      session (benches/ceiling.rs), the same model, batch and threads;
#   2. one `adpipe worker` draining a backlog of ADS ads on embedded
#      defaults (SQLite, local disk, built-in queue), its pace taken from
#      the decision times the database holds, with its context switches;
#   3. `adpipe tag` over the photos against the Python baseline's best end
#      to end figure.
#
# For fp32 and int8 EfficientNet-Lite0 with one view, and fp32 with two
# views (against two inferences per ad).
#
#   benches/ceiling.sh
#
# Knobs: ADS (backlog, 600), BATCH (8), THREADS (intra-op threads, the
# number of cores), ORT_SECONDS (per ONNX Runtime figure, 5), PHOTOS
# (tests/fixtures/photos), BIN (target/release/adpipe, built when missing).
# Give it the machine: on 2 cores anything else running shows.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

case "${1:-}" in
  -h | --help) sed -n '2,22s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac

ADS=${ADS:-600}
BATCH=${BATCH:-8}
THREADS=${THREADS:-$(nproc)}
SECONDS_EACH=${ORT_SECONDS:-5}
PHOTOS=${PHOTOS:-tests/fixtures/photos}
BIN=${BIN:-target/release/adpipe}
PORT=${PORT:-18090}
say() { printf 'ceiling.sh: %s\n' "$*" >&2; }

bash scripts/setup.sh --no-models >/dev/null
if [ ! -x "$BIN" ]; then
  say "building $BIN"
  cargo build --release --locked --bin adpipe
fi
say "building the Rust session benchmark (benches/ceiling.rs)"
cargo bench --locked --bench ceiling --no-run 2>/dev/null

# shellcheck source=benches/backlog.sh
source benches/backlog.sh

# python_alone MODEL.onnx ROWS: rows/s of Python onnxruntime alone.
python_alone() {
  bash benches/run-python-baseline.sh --ort-alone "$1" --batch "$2" --threads "$THREADS" \
    --seconds "$SECONDS_EACH" | python3 -c 'import json, sys; print(json.loads(sys.stdin.readlines()[-1])["rows_per_s"])'
}

# rust_alone MODEL.toml VIEWS: ads/s of the tagger's session alone.
rust_alone() {
  CEILING_MODEL="$1" CEILING_VIEWS="$2" CEILING_BATCH="$BATCH" CEILING_THREADS="$THREADS" \
    CEILING_SECONDS="$SECONDS_EACH" cargo bench --locked --bench ceiling 2>/dev/null \
    | python3 -c 'import json, sys; print(json.loads(sys.stdin.readlines()[-1])["images_per_s"])'
}

# A model.toml with two views, beside the weights it names.
two_views_model() {
  local toml="$work/model-two-views.toml" dir=models/efficientnet-lite0
  sed -e "s|^file = \"|file = \"$root/$dir/|" -e "s|^labels = \"|labels = \"$root/$dir/|" \
    -e 's|^# views = \[|views = [|' "$dir/model.toml" >"$toml"
  grep -q '^views = \["center_crop", "stretch"\]' "$toml" || { say "could not make $toml"; exit 1; }
  echo "$toml"
}

fill_backlog "$work/backlog" "$ADS" "$PHOTOS"
ADS=$backlog
two_views=$(two_views_model)
say "$ADS ads, batch $BATCH, $THREADS intra-op threads, ONNX Runtime figures over $SECONDS_EACH s each"

rows=()
# label MODEL.toml MODEL.onnx VIEWS
for run in \
  "fp32, one view|models/efficientnet-lite0/model.toml|models/efficientnet-lite0/model.onnx|1" \
  "int8, one view|models/efficientnet-lite0-int8/model.toml|models/efficientnet-lite0-int8/model.onnx|1" \
  "fp32, two views|$two_views|models/efficientnet-lite0/model.onnx|2"; do
  IFS='|' read -r label toml onnx views <<<"$run"
  say "$label: Python onnxruntime alone"
  python_rows=$(python_alone "$onnx" $((BATCH * views)))
  say "$label: the Rust session alone"
  rust_ads=$(rust_alone "$toml" "$views")
  say "$label: one worker draining $ADS ads"
  drain "$work/backlog" ADPIPE_MODEL="$toml" ADPIPE_WORKER_THREADS="$THREADS" \
    ADPIPE_WORKER_BATCH_SIZE="$BATCH"
  rows+=("$(python3 - "$label" "$python_rows" "$views" "$rust_ads" "$decided" "$switches" <<'EOF'
import sys
label, python_rows, views, rust, decided, switches = sys.argv[1:]
python = float(python_rows) / int(views)
rust, decided = float(rust), float(decided)
print(f"| {label} | {python:.1f} | {rust:.1f} | {decided:.1f} | {decided / python:.0%} | "
      f"{decided / rust:.0%} | {switches} |")
EOF
)")
done

say "adpipe tag against the Python baseline on the same photos"
mapfile -t photos < <(find "$PHOTOS" -type f \( -name '*.jpg' -o -name '*.jpeg' -o -name '*.png' \) | sort)
repeat=$(((ADS + ${#photos[@]} - 1) / ${#photos[@]}))
files=()
for _ in $(seq 1 "$repeat"); do files+=("${photos[@]}"); done
started=$(date +%s%N)
"$BIN" tag --json --batch-size "$BATCH" --threads "$THREADS" "${files[@]}" >"$work/tag.json"
tag_per_s=$(python3 -c "print(round(${#files[@]} / (($(date +%s%N) - $started) / 1e9), 1))")
bash benches/run-python-baseline.sh --photos "$PHOTOS" --threads "$THREADS" --seconds 3 --json \
  >"$work/python.json" 2>/dev/null
python_best=$(python3 -c 'import json, sys; print(max(json.load(open(sys.argv[1]))["end_to_end"].values()))' "$work/python.json")

echo
echo "$(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $ADS ads from $PHOTOS, batch $BATCH, $THREADS intra-op threads, $(date -u +%Y-%m-%d)"
echo
echo '| run | ONNX Runtime alone, Python (ads/s) | ONNX Runtime alone, Rust session (ads/s) | one worker draining (decided/s) | worker / Python ORT | worker / Rust ORT | context switches per ad |'
echo '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'
printf '%s\n' "${rows[@]}"
echo
python3 - "$tag_per_s" "$python_best" "${#files[@]}" <<'EOF'
import sys
tag, python, files = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
print(f"`adpipe tag` over {files} files (process start and model load included): {tag:.1f} images/s; "
      f"Python baseline's best end to end (in memory): {python:.1f} images/s; {tag / python:.2f}×")
EOF
