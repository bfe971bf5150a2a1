#!/usr/bin/env bash
# The docker-compose topology, natively, in the foreground: `adpipe migrate`,
# then one `adpipe api` and two `adpipe worker`s (--workers N for more) on
# PostgreSQL + RabbitMQ + the S3 server + the SMTP catcher that
# scripts/dev-services.sh starts. The same ADPIPE_* names as
# docker-compose.yml; only the hosts differ. Each process's log lines are
# shown prefixed with its name (`worker-1 | …`, as compose does).
#
# Ctrl-C (or SIGTERM) stops them all gracefully: each finishes the work in
# hand and exits. If one of them exits on its own, the others are stopped
# too and the script fails with its status (one stopped from outside,
# exit 0, stops the others and the script exits 0).
#
#   scripts/stack.sh                 # builds target/release/adpipe first
#   scripts/stack.sh --workers 3
#   scripts/stack.sh --bin PATH      # use that adpipe binary, build nothing
#   scripts/stack.sh --no-services   # do not run scripts/dev-services.sh
#
# Any ADPIPE_* variable already set wins over the defaults below (e.g.
# ADPIPE_HTTP_ADDR=127.0.0.1:9090, ADPIPE_LOG_JSON=true).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf 'stack: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  sed -n '2,20s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

bin=""
workers=2
services=1
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) [ $# -ge 2 ] || die "--bin needs a path"; bin=$2; shift 2 ;;
    --workers) [ $# -ge 2 ] || die "--workers needs a number"; workers=$2; shift 2 ;;
    --no-services) services=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done
[[ "$workers" =~ ^[1-9][0-9]*$ ]] || die "--workers must be 1 or more, not $workers"
((BASH_VERSINFO[0] > 5 || (BASH_VERSINFO[0] == 5 && BASH_VERSINFO[1] >= 1))) \
  || die "needs bash 5.1 or newer (this is $BASH_VERSION)"

# --- configuration: the names of docker-compose.yml, native addresses --------
export ADPIPE_DATABASE_URL=${ADPIPE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
export ADPIPE_AMQP_URL=${ADPIPE_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}
export ADPIPE_AMQP_QUEUE=${ADPIPE_AMQP_QUEUE:-adpipe.ads}
export ADPIPE_S3_ENDPOINT=${ADPIPE_S3_ENDPOINT:-http://127.0.0.1:9000}
export ADPIPE_S3_BUCKET=${ADPIPE_S3_BUCKET:-adpipe}
export ADPIPE_S3_ACCESS_KEY=${ADPIPE_S3_ACCESS_KEY:-adpipe}
export ADPIPE_S3_SECRET_KEY=${ADPIPE_S3_SECRET_KEY:-adpipe-secret}
export ADPIPE_S3_REGION=${ADPIPE_S3_REGION:-us-east-1}
export ADPIPE_S3_PATH_STYLE=${ADPIPE_S3_PATH_STYLE:-true}
export ADPIPE_SMTP_HOST=${ADPIPE_SMTP_HOST:-127.0.0.1}
export ADPIPE_SMTP_PORT=${ADPIPE_SMTP_PORT:-1025}
export ADPIPE_SMTP_TLS=${ADPIPE_SMTP_TLS:-none}
export ADPIPE_SMTP_FROM=${ADPIPE_SMTP_FROM:-adpipe <noreply@adpipe.localhost>}
export ADPIPE_HTTP_ADDR=${ADPIPE_HTTP_ADDR:-127.0.0.1:8080}
export ADPIPE_PUBLIC_URL=${ADPIPE_PUBLIC_URL:-http://$ADPIPE_HTTP_ADDR}
# Empty: no admin endpoints.
export ADPIPE_ADMIN_TOKEN=${ADPIPE_ADMIN_TOKEN:-}
export ADPIPE_GATES=${ADPIPE_GATES:-}
export ADPIPE_WORKER_BATCH_SIZE=${ADPIPE_WORKER_BATCH_SIZE:-8}
# Text logs for a terminal (docker-compose.yml: JSON).
export ADPIPE_LOG_JSON=${ADPIPE_LOG_JSON:-false}
export RUST_LOG=${RUST_LOG:-info,ort=warn,sqlx=warn,lapin=warn}

# --- the services ----------------------------------------------------------------
if [ "$services" = 1 ]; then
  bash scripts/dev-services.sh
fi

# host:port of a URL (default port when it names none).
endpoint() { # URL DEFAULT_PORT
  local rest=${1#*://}
  rest=${rest%%/*}
  rest=${rest##*@}
  case "$rest" in
    *:*) printf '%s\n' "$rest" ;;
    *) printf '%s:%s\n' "$rest" "$2" ;;
  esac
}
reachable() { # HOST:PORT
  local host=${1%:*} port=${1##*:}
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}
check() { # NAME HOST:PORT
  reachable "$2" || die "$1 is not reachable at $2 (scripts/dev-services.sh starts it; or set its ADPIPE_* URL)"
}
check PostgreSQL "$(endpoint "$ADPIPE_DATABASE_URL" 5432)"
check RabbitMQ "$(endpoint "$ADPIPE_AMQP_URL" 5672)"
check "the S3 server" "$(endpoint "$ADPIPE_S3_ENDPOINT" 80)"
check "the SMTP server" "$ADPIPE_SMTP_HOST:$ADPIPE_SMTP_PORT"

# --- the binary ------------------------------------------------------------------
if [ -z "$bin" ]; then
  say "building adpipe (cargo build --release)"
  cargo build --release --locked --bin adpipe
  bin="${CARGO_TARGET_DIR:-target}/release/adpipe"
fi
[ -x "$bin" ] || die "no adpipe binary at $bin"
if [ -z "${ADPIPE_ORT_LIB:-}" ] && [ ! -f .ort/cpu/libonnxruntime.so.1.31.1 ] \
  && [ ! -f .ort/gpu/libonnxruntime.so.1.31.1 ]; then
  bash scripts/setup.sh --no-models
fi

# --- the processes -----------------------------------------------------------------
"$bin" migrate || die "adpipe migrate failed"

names=()
pids=()
# Prefixes each line with the process's name; ends when the process does.
# It ignores Ctrl-C, which the terminal sends to the whole group: it must
# pass on the last lines, and a process whose log pipe broke cannot report.
prefix() { # NAME
  trap '' INT TERM
  local label line
  label=$(printf '%-8s |' "$1")
  while IFS= read -r line || [ -n "$line" ]; do
    printf '%s %s\n' "$label" "$line" >&2
  done
}
start() { # NAME SUBCOMMAND
  "$bin" "$2" > >(prefix "$1") 2>&1 &
  names+=("$1")
  pids+=("$!")
  say "started $1 (adpipe $2) pid $!"
}

stopping=0
stop_all() {
  [ "$stopping" = 1 ] && return
  stopping=1
  say "stopping: ${names[*]} (each finishes the work in hand)"
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
}
trap 'stop_all' INT TERM

start api api
for n in $(seq 1 "$workers"); do
  start "worker-$n" worker
done
say "api on http://$ADPIPE_HTTP_ADDR (POST /ads, GET /ads/{id}); emails: the catcher's UI (mailtutan: http://127.0.0.1:1080); Ctrl-C stops everything"

# Wait until every process has exited; the first to exit (Ctrl-C or not)
# stops the others. The status is the first failure's, else 0.
status=0
remaining=${#pids[@]}
while [ "$remaining" -gt 0 ]; do
  finished=""
  set +e
  wait -n -p finished "${pids[@]}"
  code=$?
  set -e
  if [ -z "${finished:-}" ]; then
    # A signal interrupted the wait (the trap ran); wait again.
    continue
  fi
  remaining=$((remaining - 1))
  for i in "${!pids[@]}"; do
    if [ "${pids[$i]}" = "$finished" ]; then
      name=${names[$i]}
      unset 'pids[i]' 'names[i]'
      pids=("${pids[@]}")
      names=("${names[@]}")
      break
    fi
  done
  if [ "$code" != 0 ]; then
    say "$name exited with status $code"
    [ "$status" = 0 ] && status=$code
  else
    say "$name stopped"
  fi
  if [ "$stopping" = 0 ]; then
    if [ "$code" = 0 ]; then
      # adpipe exits 0 only when asked to stop. Ctrl-C reaches the whole
      # group at once, and a process that stops quickly can be reaped
      # before this shell has run its trap: a stop, not a failure.
      say "$name was stopped; stopping the others"
    else
      say "$name ended on its own; stopping the others"
    fi
    stop_all
  fi
done
# Let the log prefixers print their last lines.
wait 2>/dev/null || true
say "all stopped (status $status)"
exit "$status"
