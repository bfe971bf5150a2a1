#!/usr/bin/env bash
# The OpenAPI document is a contract: Schemathesis (an independent
# property-based tester) generates requests from /openapi.json, all its
# checks on (status codes, content types, response schemas and headers,
# negative data rejected, positive data accepted, auth on the admin
# operations, stateful links), against `adpipe serve` on the embedded
# defaults with an admin token. One run with a fixed seed, one with a
# random seed (printed, to replay a failure with --seed); any failure
# fails the script. scripts/test.sh runs it after the tests.
#
# Usage: scripts/schemathesis.sh [FIXED_SECONDS [RANDOM_SECONDS]]  (120, 60; 0 skips)
# The rate limit is off for the run: a generator sends thousands of
# submissions a minute from one address, and 429 is tested elsewhere.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
fixed_seconds=${1:-120}
random_seconds=${2:-60}

python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
  schemathesis==4.32.5
# The same selection as `cargo test --workspace` (dev-dependencies' features
# included), so after the tests this builds nothing: `--bin adpipe` alone
# would unify features differently and recompile half the dependencies.
cargo build --workspace --all-targets --locked --quiet

work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
ADPIPE_HTTP_ADDR=127.0.0.1:$port ADPIPE_DATA_DIR=$work/data ADPIPE_ADMIN_TOKEN=$token \
  ADPIPE_RATE_LIMIT_PER_MINUTE=0 target/debug/adpipe serve >"$work/serve.log" 2>&1 &
serve=$!
cleanup() {
  kill "$serve" 2>/dev/null || true
  wait "$serve" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 120); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  if ! kill -0 "$serve" 2>/dev/null; then
    cat "$work/serve.log" >&2
    echo "schemathesis: adpipe serve did not start" >&2
    exit 1
  fi
  sleep 0.5
done

# From the scratch directory: Schemathesis writes its cache where it runs.
run() {
  (cd "$work" && PYTHONPATH=$root/scripts/schemathesis SCHEMATHESIS_HOOKS=hooks \
    schemathesis --config-file "$root/scripts/schemathesis/schemathesis.toml" run \
    "http://127.0.0.1:$port/openapi.json" --checks all \
    --header "Authorization: Bearer $token" "$@")
}
# 0 seconds skips that run (e.g. `scripts/schemathesis.sh 0 600`: one long
# random run by hand).
if [ "$fixed_seconds" -gt 0 ]; then
  echo "schemathesis: fixed seed, ${fixed_seconds} s"
  run --seed 1 --max-time "$fixed_seconds"
fi
if [ "$random_seconds" -gt 0 ]; then
  echo "schemathesis: random seed, ${random_seconds} s"
  run --max-time "$random_seconds"
fi
