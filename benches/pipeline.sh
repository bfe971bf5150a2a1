#!/usr/bin/env bash
# End-to-end load benchmarks of a running adpipe, driven by `adpipe loadgen`
# (BENCHMARKS.md quotes what this prints). Each run starts its own server on
# a fresh data directory (or, for `scale`, scripts/stack.sh on PostgreSQL +
# RabbitMQ + S3 + SMTP), drives it, and stops it; one table row per run.
#
#   benches/pipeline.sh batching   # decided/s by batch size and max wait, at overload
#   benches/pipeline.sh latency    # submit → decision at half the maximum rate
#   benches/pipeline.sh threads    # inference × decoding threads in the worker
#   benches/pipeline.sh models     # fp32 against int8 EfficientNet-Lite0
#   benches/pipeline.sh api        # POST /ads and GET /ads/{id} alone, ~100 KB photos
#   benches/pipeline.sh scale      # 1, 2 and 3 `adpipe worker`s on RabbitMQ + PostgreSQL
#   benches/pipeline.sh text       # the photo alone, the default (static text model), MiniLM
#   benches/pipeline.sh all
#
# Knobs: RATE (overload rate, 200/s), DURATION (s, 15), HALF_RATE (70/s),
# BIN (target/release/adpipe, built when missing). JSON reports land in
# target/loadgen/. Give the benchmark the machine: on 2 cores anything else
# running (a build, a test) shows in the figures.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

case "${1:-}" in
  -h | --help) sed -n '2,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac

RATE=${RATE:-200}
DURATION=${DURATION:-15}
HALF_RATE=${HALF_RATE:-70}
BIN=${BIN:-target/release/adpipe}
PORT=${PORT:-18080}
URL="http://127.0.0.1:$PORT"
out=target/loadgen
mkdir -p "$out"
say() { printf 'pipeline.sh: %s\n' "$*" >&2; }

if [ ! -x "$BIN" ]; then
  say "building $BIN"
  cargo build --release --locked --bin adpipe
fi

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

wait_ready() {
  for _ in $(seq 1 300); do
    curl -sf "$URL/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  say "the server did not become ready; its log:"
  tail -20 "$work/server.log" >&2
  return 1
}

# start_server ROLE [VAR=VALUE...]: `adpipe ROLE` on a fresh SQLite data dir.
start_server() {
  local role=$1
  shift
  rm -rf "$work/data"
  env ADPIPE_DATA_DIR="$work/data" ADPIPE_HTTP_ADDR="127.0.0.1:$PORT" \
    ADPIPE_RATE_LIMIT_PER_MINUTE=0 ADPIPE_SMTP_FROM="adpipe <noreply@adpipe.localhost>" \
    "$@" "$BIN" "$role" >"$work/server.log" 2>&1 &
  server=$!
  wait_ready
}

# Peak resident memory of a process, in MiB.
peak_rss() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

stop_server() {
  # TERM: a background job of a script ignores INT, and stack.sh cannot trap it then.
  kill -TERM "$server"
  wait "$server" || true
  server=""
}

# summarize LABEL JSON [extra column]: one table row from a loadgen report.
summarize() {
  python3 - "$@" <<'EOF'
import json, sys
label, path = sys.argv[1], sys.argv[2]
extra = sys.argv[3] if len(sys.argv) > 3 else ""
r = json.load(open(path))
s = r.get("submit") or {}
d = r.get("decisions")
st = r.get("status")
cols = [label]
if d:
    cols += [f"{s['ok_per_s']}", f"{d['decided_per_s']}", f"{d['decided']}/{s['ok']}",
             f"{s['latency_ms']['p99_ms']:.1f}", f"{d['latency_ms']['p50_ms']:.0f}",
             f"{d['latency_ms']['p99_ms']:.0f}"]
elif st:
    cols += [f"{st['ok_per_s']}", f"{st['latency_ms']['p50_ms']:.2f}",
             f"{st['latency_ms']['p99_ms']:.2f}", str(sum(st['errors'].values()))]
else:
    cols += [f"{s['ok_per_s']}", f"{s['latency_ms']['p50_ms']:.2f}",
             f"{s['latency_ms']['p99_ms']:.2f}", str(sum(s['errors'].values()))]
cpu = r.get("generator_cpu_s")
cols.append(f"{cpu / r['elapsed_s']:.2f}" if cpu is not None and r["elapsed_s"] else "")
if extra:
    cols.append(extra)
print("| " + " | ".join(cols) + " |", flush=True)
EOF
}

PIPELINE_HEADER='| run | accepted/s | decided/s | decided | submit p99 (ms) | decision p50 (ms) | decision p99 (ms) | generator cores | peak RSS (MiB) | worker decided/s |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'

# The workers' own pace, from the decision times the database holds (ms):
# the loadgen sees a decision only at its next poll, this does not.
# `sql` runs the query on the database in use.
DECIDED_PACE="SELECT CASE WHEN COUNT(*) > 1 THEN ROUND((COUNT(*) - 1) * 1000.0 / (MAX(decided_at) - MIN(decided_at)), 1) END FROM ads WHERE decided_at IS NOT NULL AND created_at >= "
sqlite_pace() { sqlite3 "$work/data/adpipe.db" "$DECIDED_PACE 0"; }

# More arguments for `adpipe loadgen` in pipeline_run (e.g. --texts FILE).
loadgen_extra=()

# pipeline_run LABEL RATE POLL_MS [VAR=VALUE...]: `adpipe serve` under load.
pipeline_run() {
  local label=$1 rate=$2 poll=$3
  shift 3
  start_server serve "$@"
  "$BIN" loadgen --url "$URL" --rate "$rate" --duration "$DURATION" --poll-interval "$poll" \
    --json "$out/$label.json" ${loadgen_extra[@]+"${loadgen_extra[@]}"} >"$work/loadgen.txt" 2>&1 \
    || { cat "$work/loadgen.txt" >&2; return 1; }
  local rss
  rss=$(peak_rss "$server")
  stop_server
  summarize "$label" "$out/$label.json" "$rss | $(sqlite_pace)"
}

batching() {
  say "decided/s by batch size and max wait: open loop at $RATE/s for $DURATION s (over the maximum)"
  echo "$PIPELINE_HEADER"
  for batch in 1 4 8 16; do
    pipeline_run "batch-$batch-wait-20" "$RATE" 1000 ADPIPE_WORKER_BATCH_SIZE="$batch" ADPIPE_WORKER_MAX_WAIT_MS=20
  done
  for wait in 0 50; do
    pipeline_run "batch-8-wait-$wait" "$RATE" 1000 ADPIPE_WORKER_BATCH_SIZE=8 ADPIPE_WORKER_MAX_WAIT_MS="$wait"
  done
}

latency() {
  say "submit → decision at $HALF_RATE/s (about half the maximum) for $DURATION s, polled every 20 ms"
  echo "$PIPELINE_HEADER"
  for wait in 0 20 50; do
    pipeline_run "half-rate-wait-$wait" "$HALF_RATE" 20 ADPIPE_WORKER_MAX_WAIT_MS="$wait"
  done
}

threads() {
  say "worker threads (inference x decoding): open loop at $RATE/s for $DURATION s"
  echo "$PIPELINE_HEADER"
  for split in 1x1 2x1 1x2 2x2; do
    pipeline_run "threads-$split" "$RATE" 1000 \
      ADPIPE_WORKER_THREADS="${split%x*}" ADPIPE_WORKER_DECODE_THREADS="${split#*x}"
  done
}

models() {
  say "fp32 and int8 EfficientNet-Lite0: open loop at ${INT8_RATE:-300}/s for $DURATION s"
  echo "$PIPELINE_HEADER"
  pipeline_run "model-fp32" "${INT8_RATE:-300}" 1000
  pipeline_run "model-int8" "${INT8_RATE:-300}" 1000 ADPIPE_MODEL=models/efficientnet-lite0-int8/model.toml
}

# The same ads (the labelled set's texts with the committed photos) judged
# by the photo alone, by the default (photo and text, the static text
# model) and with MiniLM reading the text, one after the other.
text_evidence() {
  say "photo alone against photo and text: the labelled ads' texts, open loop at $RATE/s for $DURATION s"
  tail -n +2 tests/fixtures/ads/labelled.tsv | cut -f5 >"$work/texts.txt"
  loadgen_extra=(--texts "$work/texts.txt")
  echo "$PIPELINE_HEADER"
  pipeline_run "photo-only" "$RATE" 1000 ADPIPE_POLICY=models/policies/vehicles-photo.toml
  pipeline_run "default-static-text" "$RATE" 1000 ADPIPE_POLICY=models/policies/vehicles.toml
  pipeline_run "minilm-text" "$RATE" 1000 ADPIPE_POLICY=models/policies/vehicles-text.toml
  loadgen_extra=()
}

# ~100 KB photos: the committed ones between 50 and 150 KB (87 KB on average).
small_photos() {
  mkdir -p "$work/photos"
  find tests/fixtures/photos -type f \( -name '*.jpg' -o -name '*.png' \) -size +50k -size -150k \
    -exec cp {} "$work/photos/" \;
  echo "$work/photos"
}

api() {
  local photos
  photos=$(small_photos)
  say "API alone on SQLite with $(ls "$photos" | wc -l) photos of $(du -sk "$photos" | cut -f1) KB in all"
  echo '| run | requests/s | p50 (ms) | p99 (ms) | errors | generator cores | server peak RSS (MiB) |'
  echo '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'
  # `adpipe api` with no worker: every accepted ad stays pending. Status is
  # asked of decided ads (the longest answers: tags, category, image link).
  for clients in 16 64; do
    api_run "POST /ads, $clients clients" api submit "$clients" "$photos"
  done
  for clients in 16 64; do
    api_run "GET /ads/{id}, $clients clients" serve status "$clients" "$photos"
  done
}

# api_run LABEL ROLE MODE CLIENTS PHOTOS: one closed-loop run of 10 s.
api_run() {
  local label=$1 role=$2 mode=$3 clients=$4 photos=$5 rss
  start_server "$role"
  "$BIN" loadgen --url "$URL" --mode "$mode" --rate max --concurrency "$clients" --duration 10 \
    --photos "$photos" --json "$out/$mode-$clients.json" >"$work/loadgen.txt" 2>&1
  rss=$(peak_rss "$server")
  stop_server
  summarize "$label" "$out/$mode-$clients.json" "$rss"
}

scale() {
  say "1, 2, 3 workers on PostgreSQL + RabbitMQ + S3 + SMTP (scripts/stack.sh): open loop at $RATE/s for $DURATION s"
  scripts/dev-services.sh
  echo '| workers | accepted/s | decided/s | decided | submit p99 (ms) | decision p50 (ms) | decision p99 (ms) | generator cores | worker peak RSS (MiB) | worker decided/s | decided by each worker |'
  echo '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |'
  for workers in 1 2 3; do
    local started
    started=$(($(date +%s%N) / 1000000))
    ADPIPE_HTTP_ADDR="127.0.0.1:$PORT" ADPIPE_RATE_LIMIT_PER_MINUTE=0 \
      scripts/stack.sh --workers "$workers" --bin "$BIN" --no-services >"$work/server.log" 2>&1 &
    server=$!
    wait_ready
    "$BIN" loadgen --url "$URL" --rate "$RATE" --duration "$DURATION" --poll-interval 1000 \
      --json "$out/scale-$workers.json" >"$work/loadgen.txt" 2>&1
    local rss="" pid
    for pid in $(pgrep -f "$BIN worker" || true); do
      rss="$rss$(peak_rss "$pid") "
    done
    stop_server
    local pace
    pace=$(psql -qAt "${ADPIPE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}" -c "$DECIDED_PACE $started")
    local shares
    shares=$(grep -o '^worker-[0-9]* |.*"decided"\|^worker-[0-9]* |.* decided' "$work/server.log" \
      | cut -d' ' -f1 | sort | uniq -c | awk '{ printf "%s %s, ", $2, $1 }')
    summarize "$workers" "$out/scale-$workers.json" "${rss% } | $pace | ${shares%, }"
  done
}

case "${1:-all}" in
  batching) batching ;;
  latency) latency ;;
  threads) threads ;;
  api) api ;;
  scale) scale ;;
  models) models ;;
  text) text_evidence ;;
  all) threads; batching; latency; models; text_evidence; api; scale ;;
  *) say "unknown benchmark $1"; exit 2 ;;
esac
