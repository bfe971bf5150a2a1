# shellcheck shell=bash
# Sourced by benches/ceiling.sh, benches/photo-text.sh and scripts/gpu-check.sh: a backlog of ads
# on embedded defaults (SQLite, local disk, built-in queue) and one worker
# draining it. Needs: BIN (the adpipe binary), PORT and say (a log function);
# gives the caller `work` and `server`, cleaned up on exit (below).
# It sets variables for its caller (backlog, decided, switches):
# shellcheck disable=SC2034,SC2154

# A scratch folder, `work`, and the server in flight, `server`: both gone
# when the caller exits, however it exits.
work=$(mktemp -d)
server=""
stop_and_clean() {
  if [ -n "$server" ]; then
    # The worker may run under GNU time, which does not pass signals on.
    pkill -TERM -P "$server" 2>/dev/null || true
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_and_clean EXIT

# sql DATA_DIR QUERY: one value from the data directory's SQLite database
# (Python's sqlite3, so no sqlite3 program is needed).
sql() {
  python3 - "$1/adpipe.db" "$2" <<'EOF'
import sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()
print(row[0] if row and row[0] is not None else "")
EOF
}

# wait_ready URL LOG: until the server answers /readyz (60 s at most).
wait_ready() {
  for _ in $(seq 1 300); do
    curl -sf "$1/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  say "the server did not become ready; its log:"
  tail -20 "$2" >&2
  return 1
}

# fill_backlog DATA_DIR ADS PHOTOS: `adpipe api` alone (no worker) accepts
# at least ADS ads in DATA_DIR, then stops. Sets `backlog` to the count.
fill_backlog() {
  local data=$1 ads=$2 photos=$3 rate=100
  say "submitting a backlog of $ads ads ($photos) to adpipe api on SQLite"
  ADPIPE_DATA_DIR="$data" ADPIPE_HTTP_ADDR="127.0.0.1:$PORT" ADPIPE_RATE_LIMIT_PER_MINUTE=0 \
    "$BIN" api >"$work/api.log" 2>&1 &
  server=$!
  wait_ready "http://127.0.0.1:$PORT" "$work/api.log"
  "$BIN" loadgen --url "http://127.0.0.1:$PORT" --mode submit --rate "$rate" \
    --duration $(((ads + rate - 1) / rate)) --photos "$photos" >"$work/loadgen.txt" 2>&1 \
    || { cat "$work/loadgen.txt" >&2; return 1; }
  kill -TERM "$server"
  wait "$server" || true
  server=""
  backlog=$(sql "$data" "SELECT COUNT(*) FROM ads WHERE status = 'pending'")
  if [ "$backlog" -lt "$ads" ]; then
    say "only $backlog ads were accepted (wanted $ads); the API's log:"
    tail -20 "$work/api.log" >&2
    return 1
  fi
}

# drain BACKLOG_DIR [VAR=VALUE...]: one `adpipe worker` on a copy of the
# backlog until nothing is pending. Sets `decided` (per second, from the
# first to the last decision the database holds, so the start-up is not
# counted) and `switches` (context switches per ad, every thread the worker
# ever had, from GNU time's rusage; "–" without /usr/bin/time).
drain() {
  local backlog_dir=$1 data="$work/drain"
  shift
  rm -rf "$data"
  cp -a "$backlog_dir" "$data"
  local ads timing=()
  ads=$(sql "$data" "SELECT COUNT(*) FROM ads")
  rm -f "$work/rusage"
  if [ -x /usr/bin/time ]; then
    timing=(/usr/bin/time -f '%c %w' -o "$work/rusage")
  fi
  env ADPIPE_DATA_DIR="$data" ADPIPE_HTTP_ADDR="127.0.0.1:$PORT" "$@" \
    ${timing[@]+"${timing[@]}"} "$BIN" worker >"$work/worker.log" 2>&1 &
  server=$!
  while [ "$(sql "$data" "SELECT COUNT(*) FROM ads WHERE status = 'pending'")" -gt 0 ]; do
    if ! kill -0 "$server" 2>/dev/null; then
      say "the worker stopped; its log:"
      tail -20 "$work/worker.log" >&2
      return 1
    fi
    sleep 0.5
  done
  # GNU time does not pass signals on: stop the worker itself.
  pkill -TERM -P "$server" 2>/dev/null || kill -TERM "$server" 2>/dev/null || true
  wait "$server" || true
  server=""
  decided=$(sql "$data" "SELECT ROUND((COUNT(*) - 1) * 1000.0 / (MAX(decided_at) - MIN(decided_at)), 1) FROM ads")
  switches="–"
  if [ -s "$work/rusage" ]; then
    switches=$(awk -v ads="$ads" '{ printf "%.1f", ($1 + $2) / ads }' "$work/rusage")
  fi
}
