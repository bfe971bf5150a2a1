#!/usr/bin/env bash
# `docker-compose up`, for real: builds adpipe's image from the project's
# Dockerfile and starts the project's docker-compose.yml, both unchanged, in
# containers on this machine, then uses the stack as a person would:
#   - every healthcheck passes; the api's /readyz and /metrics answer;
#   - a car photo is approved (category car) and a cat photo rejected, and
#     each submitter gets one email with the link to the ad;
#   - with `--scale worker=3`, 30 ads are shared among the three workers and
#     each is decided once;
#   - `docker-compose down` then `up` keeps the ads (named volumes);
#   - the logs carry none of the passwords;
# then tears everything down (containers removed by id, volumes, network).
#
# Engine: Debian's podman (rootful) behind its Docker-compatible socket, with
# Debian's docker-compose 1.29. Where Docker Hub cannot be reached (here),
# the official images the files name are replaced by local stand-ins tagged
# with the same names (scripts/compose-standins/README.md), built from a
# Debian debootstrap; nothing else changes. Needs root and apt-get; installs
# what it lacks. Non-interactive; any failure exits non-zero.
#
#   scripts/compose-e2e.sh              # everything, about 15 min the first time
#   KEEP_STACK=1 scripts/compose-e2e.sh # leave the stack up to look at it
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf 'compose-e2e: %s\n' "$*" >&2; }
fail() {
  say "FAILED: $*"
  exit 1
}
[ "$(id -u)" -eq 0 ] || fail "needs root (rootful podman, apt-get)"
# Podman, the Dockerfile's base images and adpipe's image (shared with
# scripts/k8s-e2e.sh).
# shellcheck source=scripts/podman-image.sh
. scripts/podman-image.sh

# --- tools --------------------------------------------------------------------
podman_tools docker-compose
# mailtutan and s3s-fs go into the SMTP and S3 stand-ins.
bash scripts/dev-services.sh --install-only
export PATH="$HOME/.cargo/bin:$PATH"

work=$(mktemp -d /tmp/adpipe-compose-e2e.XXXXXX)
project=adpipe-e2e-$$
compose=(docker-compose -p "$project" -f "$root/docker-compose.yml")
background=()
healthchecks=
cleanup() {
  local status=$?
  if [ "${KEEP_STACK:-0}" = 1 ] && [ -S "$work/podman.sock" ]; then
    [ -z "$healthchecks" ] || kill "$healthchecks" 2>/dev/null || true
    say "KEEP_STACK=1: the stack stays up, without healthchecks (project $project;" \
      "DOCKER_HOST=unix://$work/podman.sock; podman ps)"
    return
  fi
  if [ -S "$work/podman.sock" ]; then
    "${compose[@]}" down --volumes --remove-orphans --timeout 20 >/dev/null 2>&1 || true
  fi
  # Whatever compose left (a failed start), by id.
  local ids
  ids=$(podman ps -aq --filter "label=com.docker.compose.project=$project" 2>/dev/null || true)
  [ -z "$ids" ] || podman rm -f $ids >/dev/null 2>&1 || true
  ids=$(podman volume ls -q --filter "label=com.docker.compose.project=$project" 2>/dev/null || true)
  [ -z "$ids" ] || podman volume rm -f $ids >/dev/null 2>&1 || true
  podman network rm -f "${project}_default" >/dev/null 2>&1 || true
  for pid in "${background[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work" "$standins/s3s-fs" "$standins/mailtutan"
  exit "$status"
}
trap cleanup EXIT

# --- the images the files name: stand-ins, tagged with those names -------------
service_image() { sed -nE "s|^    image: ($1:.*)$|\1|p" docker-compose.yml | head -n 1; }

podman_base_images "$work"
standin_build "$(qualify "$(service_image postgres)")" postgres.Containerfile
standin_build "$(qualify "$(service_image rabbitmq)")" rabbitmq.Containerfile
cp "$(command -v s3s-fs)" "$standins/s3s-fs"
cp "$(command -v mailtutan)" "$standins/mailtutan"
standin_build "$(qualify "$(service_image minio/minio)")" minio.Containerfile
standin_build "$(qualify "$(service_image minio/mc)")" mc.Containerfile
standin_build "$(qualify "$(service_image mailhog/mailhog)")" mailhog.Containerfile
rm -f "$standins/s3s-fs" "$standins/mailtutan"

# --- adpipe's image, from the Dockerfile as it is ---------------------------------
adpipe_image_build "$work"

# --- the engine: podman's Docker API, and its healthchecks -----------------------
podman system service --time=0 "unix://$work/podman.sock" >"$work/podman-service.log" 2>&1 &
background+=($!)
export DOCKER_HOST=unix://$work/podman.sock
for _ in $(seq 1 100); do [ -S "$work/podman.sock" ] && break; sleep 0.1; done
# Without systemd podman never runs healthchecks by itself, and compose
# would wait forever on `service_healthy`.
(
  while true; do
    for id in $(podman ps -q --filter "label=com.docker.compose.project=$project"); do
      podman healthcheck run "$id" >/dev/null 2>&1 || true
    done
    sleep 2
  done
) &
healthchecks=$!
background+=("$healthchecks")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
secret() { python3 -c 'import secrets; print(secrets.token_hex(12))'; }
export API_PORT=$(free_port) MAILHOG_UI_PORT=$(free_port) RABBITMQ_UI_PORT=$(free_port) MINIO_CONSOLE_PORT=$(free_port)
export POSTGRES_PASSWORD=$(secret) RABBITMQ_PASSWORD=$(secret) S3_SECRET_KEY=$(secret)
export ADPIPE_PUBLIC_URL=http://127.0.0.1:$API_PORT
api=http://127.0.0.1:$API_PORT
catcher=http://127.0.0.1:$MAILHOG_UI_PORT

healthy() { # service count: waits until that many of its containers are healthy
  local service=$1 count=$2
  for _ in $(seq 1 150); do
    local ok=0
    for id in $("${compose[@]}" ps -q "$service"); do
      [ "$(podman inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null)" = healthy ] && ok=$((ok + 1))
    done
    [ "$ok" -ge "$count" ] && return 0
    sleep 2
  done
  "${compose[@]}" ps >&2 || true
  "${compose[@]}" logs --no-color --tail 30 "$service" >&2 || true
  fail "$service: fewer than $count healthy containers after 5 minutes"
}
up() { # compose up arguments
  "${compose[@]}" up -d --no-build "$@" >"$work/up.log" 2>&1 ||
    { cat "$work/up.log" >&2; "${compose[@]}" logs --no-color --tail 40 >&2 || true; fail "docker-compose up $*"; }
  for service in postgres rabbitmq minio mailhog api; do healthy "$service" 1; done
}

say "docker-compose up -d (project $project, API on $api)"
up
healthy worker 1

# --- as a user: the two answers, the two emails ---------------------------------
[ "$(curl -s -o /dev/null -w '%{http_code}' "$api/readyz")" = 200 ] || fail "/readyz is not 200"
curl -fsS "$api/metrics" | grep -q '^adpipe_' || fail "/metrics has no adpipe_ series"

# json, submit and decided: a submitter over curl (shared with the other e2e test).
# shellcheck source=scripts/api-client.sh
. scripts/api-client.sh
emails_to() { curl -fsS "$catcher/api/messages" | python3 -c "
import json, sys
print(sum(1 for m in json.load(sys.stdin) if sys.argv[1] in m.get('recipients', [])))" "$1"; }
email_body() { # address -> the plain body of its (only) email
  local id
  id=$(curl -fsS "$catcher/api/messages" | python3 -c "
import json, sys
print([m['id'] for m in json.load(sys.stdin) if sys.argv[1] in m.get('recipients', [])][0])" "$1")
  curl -fsS "$catcher/api/messages/$id/plain"
}
wait_email() { # address
  for _ in $(seq 1 60); do
    [ "$(emails_to "$1")" -ge 1 ] && return 0
    sleep 1
  done
  fail "no email to $1 within a minute"
}

run_id=$(secret | cut -c1-8)
car=$(submit tests/fixtures/photos/vehicle/car_rear_motionblur.jpg \
  "Family car for sale, one owner, full service history" "car-$run_id@e2e.test")
cat=$(submit tests/fixtures/photos/other/cat_chelsea.png \
  "Friendly cat looking for a new home" "cat-$run_id@e2e.test")
[ "$(decided "$car")" = approved ] || fail "the car was not approved: $(curl -sS "$api/ads/$car")"
[ "$(curl -fsS "$api/ads/$car" | json "d['category']")" = car ] || fail "the car's category: $(curl -sS "$api/ads/$car")"
[ "$(decided "$cat")" = rejected ] || fail "the cat was not rejected: $(curl -sS "$api/ads/$cat")"
for pair in "car-$run_id@e2e.test:$car" "cat-$run_id@e2e.test:$cat"; do
  address=${pair%%:*} id=${pair#*:}
  wait_email "$address"
  sleep 2 # a second one would have come by now
  [ "$(emails_to "$address")" = 1 ] || fail "$(emails_to "$address") emails to $address"
  # The link opens the ad's status page.
  email_body "$address" | grep -qF "$api/?id=$id" || fail "the email to $address has no link to $api/?id=$id"
done
say "car approved (car), cat rejected; one email each, with the link"

# --- three workers share 30 ads, each decided once ---------------------------------
say "docker-compose up -d --scale worker=3"
up --scale worker=3
healthy worker 3
# Photos the default policy decides without a person (tests/support/load.rs
# sends the same): an ad sent to review gets its email only once a
# moderator decides.
photos=(tests/fixtures/photos/{vehicle/car_rear_motionblur.jpg,other/cat_chelsea.png,vehicle/boats_nagasaki.jpg,other/coffee_cup.png})
ids=()
for n in $(seq 1 30); do
  ids+=("$(submit "${photos[$((n % ${#photos[@]}))]}" "Ad number $n for sale" "scale-$n-$run_id@e2e.test")")
done
for id in "${ids[@]}"; do decided "$id" >/dev/null; done
for n in $(seq 1 30); do wait_email "scale-$n-$run_id@e2e.test"; done
"${compose[@]}" logs --no-color worker >"$work/workers.log"
python3 - "$work/workers.log" "${ids[@]}" <<'EOF' || fail "the 30 ads were not shared among three workers, each decided once"
import collections, json, sys
log, ids = sys.argv[1], set(sys.argv[2:])
by_worker, times = collections.Counter(), collections.Counter()
for line in open(log, encoding="utf-8", errors="replace"):
    container, _, rest = line.partition("|")
    try:
        event = json.loads(rest)
    except ValueError:
        continue
    fields = event.get("fields", {})
    if fields.get("message") == "decided" and fields.get("id") in ids:
        by_worker[container.strip()] += 1
        times[fields["id"]] += 1
print(f"compose-e2e: decisions per worker: {dict(by_worker)}", file=sys.stderr)
assert len(times) == len(ids), f"{len(ids) - len(times)} ads without a decision in the logs"
assert all(n == 1 for n in times.values()), f"decided twice: {[i for i, n in times.items() if n > 1]}"
assert len(by_worker) == 3, "not every worker decided some"
EOF
for n in $(seq 1 30); do
  [ "$(emails_to "scale-$n-$run_id@e2e.test")" = 1 ] || fail "not one email to scale-$n-$run_id@e2e.test"
done
say "30 ads shared among three workers, each decided and emailed once"

# --- down, up: the ads stay ---------------------------------------------------
say "docker-compose down, then up"
# The logs so far go with the containers: kept for the secrets' check.
"${compose[@]}" logs --no-color >"$work/all.log" 2>&1
"${compose[@]}" down --timeout 30 >/dev/null 2>&1 || fail "docker-compose down"
up
[ "$(curl -fsS "$api/ads/$car" | json "d['status']")" = approved ] || fail "the car is gone after down/up"
image_url=$(curl -fsS "$api/ads/$car" | json "d['image_url']")
[ "$(curl -s -o /dev/null -w '%{http_code}' "$image_url")" = 200 ] || fail "the car's image is gone after down/up"
say "after down and up the ads and their images are there"

# --- no secrets in the logs -----------------------------------------------------
"${compose[@]}" logs --no-color >>"$work/all.log" 2>&1
for secret in "$POSTGRES_PASSWORD" "$RABBITMQ_PASSWORD" "$S3_SECRET_KEY"; do
  if grep -qF "$secret" "$work/all.log"; then
    grep -F "$secret" "$work/all.log" | head -n 3 | sed "s/$secret/<SECRET>/g" >&2
    fail "a password is in the logs"
  fi
done
say "no password in $(wc -l <"$work/all.log") lines of logs"
say "ok"
