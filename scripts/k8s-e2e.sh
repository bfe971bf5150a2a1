#!/usr/bin/env bash
# The Kubernetes chart, played and not only rendered: renders
# deploy/helm/adpipe (scripts/k8s-render.sh) with deploy/ci/values/play.yaml,
# validates it (scripts/k8s-validate.sh), and starts the rendered pods with
# `podman kube play` on this machine, against the services of the tests on
# 127.0.0.1 (PostgreSQL 15 with a database made for the run, RabbitMQ with a
# vhost made for the run, s3s-fs, mailtutan: scripts/dev-services.sh). Then:
#   - the migration (the chart's hook Job, played as its pod) exits 0;
#   - the api answers /readyz, /metrics only on its metrics port, and the
#     liveness probes (podman's healthchecks) pass;
#   - a car is approved and a cat rejected, one email each;
#   - a backlog drained by 1 worker pod and by 3: both times and the ratio.
#     The play values give each worker pod one core (CPU request and limit
#     1, one ONNX Runtime and one decoding thread), as a cluster gives each
#     replica its own share, so 3 pods may use up to 3 cores where one uses
#     one: the speed-up it can show is at most the machine's cores, capped
#     at 3 (about 2x on the 2-core CI machine, whose cores the api,
#     PostgreSQL, RabbitMQ and the other services share too). The ceiling is
#     printed with the ratio;
#   - a worker pod stopped while its batches are in flight: no ad lost, each
#     decided once, and after the others finish the backlog, one email each;
#   - no secret in the pods' logs;
# then removes the pods, the Secret, the volume, the database and the vhost.
# The image is the one scripts/compose-e2e.sh builds (CI runs this right
# after it); when it is absent it is built the same way (scripts/podman-image.sh).
#
#   scripts/k8s-e2e.sh                     # about 50 s once the image exists
#   ADPIPE_K8S_E2E_BACKLOG=600 scripts/k8s-e2e.sh  # a longer backlog (default 240)
#   ADPIPE_K8S_E2E_REBUILD=1 scripts/k8s-e2e.sh     # build the image first anyway
#   ADPIPE_K8S_VALIDATED=1 scripts/k8s-e2e.sh       # skip scripts/k8s-validate.sh
#   KEEP_PODS=1 scripts/k8s-e2e.sh                  # leave it all up to look at
#
# What podman 4.3 (Debian 12) does with the chart's objects, and how this
# test makes up for it:
#   - It plays Pods, Deployments (replicas included), ConfigMaps in the same
#     file, and secretKeyRef from a podman secret holding the Secret's `data`
#     as JSON (no Secret objects in 4.3): the Secret is created that way.
#   - It has no Jobs: the migration Job's pod template is played as a Pod.
#   - Services, NetworkPolicies, PodDisruptionBudgets, ServiceAccounts are
#     not played (nothing of them exists in podman): the pods share the
#     host's network (--network host) to reach the services on 127.0.0.1
#     (RabbitMQ's guest may only connect from there), and the api is
#     reached at its port. Podman makes every containerPort a port mapping,
#     which it refuses on the host network: the containers' `ports` are
#     dropped and the probes name their port by number instead. On one network every pod needs its own ports,
#     so each worker replica is the chart rendered under its own release
#     name with its own worker.metricsPort, instead of replicas: 3 (three
#     pods that would all bind port 9090).
#   - terminationGracePeriodSeconds is ignored (podman stops after 10 s):
#     a pod is stopped with the rendered grace period as its timeout.
#     preStop hooks are not run; podman's stop sends the same SIGTERM.
#   - Liveness probes become healthchecks, which podman runs from systemd
#     timers (none here): they are run by hand. Startup and readiness probes
#     are dropped: the test waits on /readyz and /healthz itself.
#   - readOnlyRootFilesystem, runAsUser/runAsNonRoot, dropped capabilities
#     and the CPU and memory limits are applied as rendered. The emptyDir
#     at /tmp becomes one named volume `tmp` shared by the pods; removed at
#     the end when it was not there before.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf 'k8s-e2e: %s\n' "$*" >&2; }
fail() {
  say "FAILED: $*"
  exit 1
}
[ "$(id -u)" -eq 0 ] || fail "needs root (rootful podman, apt-get)"
started_at=$SECONDS

# --- tools and services ---------------------------------------------------------
# shellcheck source=scripts/podman-image.sh
. scripts/podman-image.sh
podman_tools
command -v psql >/dev/null || podman_tools postgresql-client
command -v rabbitmqctl >/dev/null || fail "rabbitmqctl is needed (RabbitMQ on this machine)"
# S3 and SMTP; PostgreSQL and RabbitMQ started if installed and down.
bash scripts/dev-services.sh
# shellcheck source=deploy/ci/tools.sh
. deploy/ci/tools.sh
k8s_tools render

work=$(mktemp -d /tmp/adpipe-k8s-e2e.XXXXXX)
run_id=$(python3 -c 'import secrets; print(secrets.token_hex(4))')
database=adpipe_k8s_e2e_$run_id
vhost=adpipe-k8s-e2e-$run_id
secret_name=adpipe-k8s-e2e-$run_id
admin_url=postgres://postgres@127.0.0.1:5432/test
catcher=http://127.0.0.1:1080
pods=()
# The image's name in deploy/ci/values/play.yaml.
play_image=localhost/adpipe:k8s-e2e
tmp_volume_existed=0
podman volume exists tmp && tmp_volume_existed=1
database_made=0 vhost_made=0 secret_made=0
cleanup() {
  local status=$?
  if [ "$status" != 0 ]; then
    for pod in "${pods[@]}"; do
      for container in $(podman pod inspect -f '{{range .Containers}}{{.Name}} {{end}}' "$pod" 2>/dev/null); do
        case "$container" in *-infra) continue ;; esac
        say "the last lines of $container:"
        podman logs --tail 25 "$container" 2>&1 | cut -c1-400 >&2 || true
      done
    done
  fi
  if [ "${KEEP_PODS:-0}" = 1 ]; then
    say "KEEP_PODS=1: pods ${pods[*]}, secret $secret_name, database $database, vhost $vhost stay; $work"
    exit "$status"
  fi
  [ ${#pods[@]} -eq 0 ] || podman pod rm -f -t 0 "${pods[@]}" >/dev/null 2>&1 || true
  podman untag "$ADPIPE_IMAGE" "$play_image" >/dev/null 2>&1 || true
  [ "$tmp_volume_existed" = 1 ] || podman volume rm -f tmp >/dev/null 2>&1 || true
  [ "$secret_made" = 0 ] || podman secret rm "$secret_name" >/dev/null 2>&1 || true
  [ "$database_made" = 0 ] || psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  [ "$vhost_made" = 0 ] || rabbitmqctl -q delete_vhost "$vhost" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# --- the image: the compose test's, or built the same way -------------------------
if [ "${ADPIPE_K8S_E2E_REBUILD:-0}" = 1 ] || ! podman image exists "$ADPIPE_IMAGE"; then
  podman_base_images "$work"
  adpipe_image_build "$work"
else
  say "using the image scripts/compose-e2e.sh built ($(podman image inspect -f '{{.Created}}' "$ADPIPE_IMAGE" | cut -c1-19))"
fi
podman tag "$ADPIPE_IMAGE" "$play_image"

# --- the run's database, vhost and Secret ------------------------------------------
psql -q "$admin_url" -c "CREATE DATABASE $database" >/dev/null || fail "cannot create the database $database"
database_made=1
rabbitmqctl -q add_vhost "$vhost" >/dev/null || fail "cannot add the RabbitMQ vhost $vhost"
vhost_made=1
rabbitmqctl -q set_permissions -p "$vhost" guest '.*' '.*' '.*' >/dev/null
sql() { psql -qtAX "postgres://postgres@127.0.0.1:5432/$database" -c "$1"; }
# The Secret the chart names (secrets.existingSecret), as podman 4.3 reads a
# secretKeyRef: its `data`, base64 values, as JSON.
python3 - "$work/secret.json" <<EOF
import base64, json, sys
data = {
    "database-url": "postgres://postgres@127.0.0.1:5432/$database",
    "amqp-url": "amqp://guest:guest@127.0.0.1:5672/$vhost",
    "s3-access-key": "adpipe",
    "s3-secret-key": "adpipe-secret",
}
json.dump({k: base64.b64encode(v.encode()).decode() for k, v in data.items()}, open(sys.argv[1], "w"))
EOF
podman secret create "$secret_name" "$work/secret.json" >/dev/null
secret_made=1
rm -f "$work/secret.json"

# --- rendered and validated -------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api_port=$(free_port)
api=http://127.0.0.1:$api_port
run_values() { # worker metrics port -> the run's values file
  cat <<EOF
secrets: {existingSecret: $secret_name}
config: {publicUrl: "$api"}
api: {port: $api_port, metricsPort: $api_metrics_port}
worker: {metricsPort: $1}
EOF
}
api_metrics_port=$(free_port)
worker_ports=("$(free_port)" "$(free_port)" "$(free_port)")
# Worker replica i: the chart rendered as the release adpipe (i = 0) or
# adpipe-r<i>, with its own metrics port (see the top).
for i in 0 1 2; do
  release=adpipe
  [ "$i" = 0 ] || release=adpipe-r$i
  run_values "${worker_ports[$i]}" >"$work/run-$i.yaml"
  ADPIPE_K8S_RELEASE=$release bash scripts/k8s-render.sh deploy/ci/values/play.yaml "$work/run-$i.yaml" \
    >"$work/rendered-$i.yaml" || fail "scripts/k8s-render.sh failed"
done
say "rendered the chart with deploy/ci/values/play.yaml ($(grep -c '^kind:' "$work/rendered-0.yaml") objects)"
if [ "${ADPIPE_K8S_VALIDATED:-0}" != 1 ]; then
  # Every scenario, deploy/ci/values/play.yaml among them.
  bash scripts/k8s-validate.sh >"$work/validate.log" 2>&1 ||
    { tail -n 30 "$work/validate.log" >&2; fail "scripts/k8s-validate.sh"; }
  say "validated: $(tail -n 1 "$work/validate.log")"
fi

# What podman plays of a render: the ConfigMaps with each Deployment, the
# migration Job's pod template as a Pod; the rest listed.
split() { # rendered.yaml prefix
  PYTHONDONTWRITEBYTECODE=1 "$K8S_PYTHON" - "$1" "$2" <<'EOF'
import collections, sys, yaml
source, prefix = sys.argv[1], sys.argv[2]
docs = [d for d in yaml.safe_load_all(open(source)) if d]
configmaps = [d for d in docs if d["kind"] == "ConfigMap"]
skipped = collections.Counter()
for d in docs:
    component = d["metadata"].get("labels", {}).get("app.kubernetes.io/component")
    if d["kind"] == "Deployment":
        # podman 4.3 turns every containerPort into a port mapping, which it
        # refuses on the host network (where the listener is the port
        # already): ports go, the probes name their port by number.
        for container in d["spec"]["template"]["spec"]["containers"]:
            numbers = {p["name"]: p["containerPort"] for p in container.pop("ports", [])}
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                get = container.get(probe, {}).get("httpGet")
                if get:
                    get["port"] = numbers.get(get["port"], get["port"])
        yaml.safe_dump_all(configmaps + [d], open(f"{prefix}-{component}.yaml", "w"))
        grace = d["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
        open(f"{prefix}-{component}.grace", "w").write(f"{grace}\n")
    elif d["kind"] == "Job":
        template = d["spec"]["template"]
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": d["metadata"]["name"], "labels": template["metadata"]["labels"]},
               "spec": template["spec"]}
        yaml.safe_dump(pod, open(f"{prefix}-{component}.yaml", "w"))
    elif d["kind"] != "ConfigMap":
        skipped[d["kind"]] += 1
print(", ".join(f"{k} x{n}" for k, n in sorted(skipped.items())))
EOF
}
not_played=$(split "$work/rendered-0.yaml" "$work/pods-0")
for i in 1 2; do split "$work/rendered-$i.yaml" "$work/pods-$i" >/dev/null; done
say "not played (podman has no such objects): $not_played"

# --- played ---------------------------------------------------------------------
play() { # file pod-name
  pods+=("$2")
  podman kube play --replace --network host "$1" >>"$work/play.log" 2>&1 ||
    { tail -n 20 "$work/play.log" >&2; fail "podman kube play $1"; }
}
http_code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" || true; }
wait_200() { # url seconds what
  local deadline=$((SECONDS + $2))
  while [ "$(http_code "$1")" != 200 ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$3: $1 not 200 within $2 s"
    sleep 0.5
  done
}
worker_pod() { if [ "$1" = 0 ]; then echo adpipe-worker-pod-0; else echo "adpipe-r$1-worker-pod-0"; fi; }
play_worker() { # replica
  local pod
  pod=$(worker_pod "$1")
  play "$work/pods-$1-worker.yaml" "$pod"
}
# Its startup probe: /healthz on the metrics port answers once the model
# is loaded and warmed up and the database answers.
wait_worker() { wait_200 "http://127.0.0.1:${worker_ports[$1]}/healthz" 180 "worker $1"; }

step=$SECONDS
play "$work/pods-0-migrate.yaml" adpipe-migrate
migrated=$(podman wait adpipe-migrate-migrate)
[ "$migrated" = 0 ] || { podman logs adpipe-migrate-migrate >&2; fail "the migration pod exited $migrated"; }
say "migration pod: exit 0 in $((SECONDS - step)) s ($(podman logs adpipe-migrate-migrate 2>&1 | grep -c 'adpipe:') lines)"

step=$SECONDS
play "$work/pods-0-api.yaml" adpipe-api-pod-0
play_worker 0
wait_200 "$api/readyz" 120 "the api's readiness"
wait_worker 0
say "api ready and worker 0 up in $((SECONDS - step)) s"
curl -fsS "http://127.0.0.1:$api_metrics_port/metrics" | grep -q '^adpipe_' || fail "the api's metrics port has no adpipe_ series"
[ "$(http_code "$api/metrics")" = 404 ] || fail "/metrics is served on the api's public port"
for container in adpipe-api-pod-0-api adpipe-worker-pod-0-worker; do
  podman healthcheck run "$container" >/dev/null 2>&1 || fail "$container: its liveness probe fails"
done
say "/readyz 200, /metrics on the metrics port only, liveness probes pass"

# --- as a user: decided, one email each -----------------------------------------
# json, submit and decided: a submitter over curl (shared with the other e2e test).
# shellcheck source=scripts/api-client.sh
. scripts/api-client.sh
# Emails to the run's addresses (…-$run_id@k8s-e2e.test) by recipient.
emails() { curl -fsS "$catcher/api/messages" | python3 -c "
import collections, json, sys
count = collections.Counter(r for m in json.load(sys.stdin) for r in m.get('recipients', [])
                            if r.strip('<>').endswith(sys.argv[1] + '@k8s-e2e.test'))
for r, n in count.items(): print(r.strip('<>'), n)" "$run_id"; }
# Every ad of the run has its one email: waits up to a minute for them all,
# then a few seconds more for a second one.
one_email_each() {
  local want have
  want=$(sql "SELECT count(*) FROM ads")
  for _ in $(seq 1 120); do
    have=$(emails | wc -l)
    [ "$have" -ge "$want" ] && break
    sleep 0.5
  done
  sleep 3
  emails >"$work/emails"
  sql "SELECT email FROM ads ORDER BY email" >"$work/addresses"
  python3 - "$work/emails" "$work/addresses" <<'EOF' || fail "not one email per ad"
import sys
got = dict(line.split() for line in open(sys.argv[1]))
want = [line.strip() for line in open(sys.argv[2]) if line.strip()]
missing = [a for a in want if a not in got]
twice = {a: n for a, n in got.items() if int(n) != 1}
assert not missing and not twice, f"{len(missing)} without an email {missing[:3]}, more than one: {twice}"
EOF
  say "one email for each of the $want ads"
}

car=$(submit tests/fixtures/photos/vehicle/car_rear_motionblur.jpg \
  "Family car for sale, one owner, full service history" "car-$run_id@k8s-e2e.test")
cat=$(submit tests/fixtures/photos/other/cat_chelsea.png \
  "Friendly cat looking for a new home" "cat-$run_id@k8s-e2e.test")
[ "$(decided "$car")" = approved ] || fail "the car was not approved: $(curl -sS "$api/ads/$car")"
[ "$(decided "$cat")" = rejected ] || fail "the cat was not rejected: $(curl -sS "$api/ads/$cat")"
one_email_each
say "car approved, cat rejected, one email each"

# --- backlogs: 1 worker pod, then 3 ----------------------------------------------
backlog=${ADPIPE_K8S_E2E_BACKLOG:-240}
# Photos the default policy decides without a person (as compose-e2e.sh).
photos=(tests/fixtures/photos/{vehicle/car_rear_motionblur.jpg,other/cat_chelsea.png,vehicle/boats_nagasaki.jpg,other/coffee_cup.png})
post() { # api phase n photo run
  curl -sS -o /dev/null -w '%{http_code}\n' -F "text=$2 ad $3 for sale" \
    -F "email=$2-$3-$5@k8s-e2e.test" -F "image=@$4" "$1/ads"
}
export -f post
# Submits the backlog while the worker pods are paused (frozen, their
# connections open), then unpauses them: the drain time runs from there
# to the last decided_at the database records.
drain() { # phase replicas...
  local phase=$1 n unpaused last
  shift
  for i in "$@"; do podman pod pause "$(worker_pod "$i")" >/dev/null; done
  for n in $(seq 1 "$backlog"); do
    echo "$api $phase $n ${photos[$((n % ${#photos[@]}))]} $run_id"
  done | xargs -P 4 -L 1 bash -c 'post "$@"' _ | sort | uniq -c >"$work/$phase.codes"
  grep -qE "^ *$backlog 202$" "$work/$phase.codes" || fail "$phase: not every POST /ads was 202: $(cat "$work/$phase.codes")"
  unpaused=$(date +%s%3N)
  for i in "$@"; do podman pod unpause "$(worker_pod "$i")" >/dev/null; done
  wait_decided "$phase" 180
  last=$(sql "SELECT max(decided_at) FROM ads WHERE text LIKE '$phase ad %'")
  echo $((last - unpaused))
}
wait_decided() { # phase seconds
  local deadline=$((SECONDS + $2))
  while [ "$(sql "SELECT count(*) FROM ads WHERE text LIKE '$1 ad %' AND (status = 'pending' OR decided_at IS NULL)")" != 0 ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$1: ads still pending after $2 s"
    sleep 0.2
  done
}
# Which worker pod decided each ad of a phase (the workers' JSON logs).
decisions() { # phase -> "id pod" lines
  for i in 0 1 2; do
    local container
    container=$(worker_pod "$i")-worker
    podman container exists "$container" || continue
    podman logs "$container" 2>&1 | python3 -c "
import json, sys
for line in sys.stdin:
    try:
        fields = json.loads(line).get('fields', {})
    except ValueError:
        continue
    if fields.get('message') == 'decided':
        print(fields.get('id'), sys.argv[1])" "$i"
  done >"$work/decisions"
  sql "SELECT id FROM ads WHERE text LIKE '$1 ad %'" >"$work/$1.ids"
  awk 'NR == FNR { phase[$1] = 1; next } $1 in phase' "$work/$1.ids" "$work/decisions"
}

# Each worker pod's CPU limit as podman applied it, and the speed-up 3 pods
# can have over 1 on this machine: min(3, cores / CPUs per pod).
pod_cpus=$(podman inspect -f '{{.HostConfig.CpuQuota}} {{.HostConfig.CpuPeriod}}' "$(worker_pod 0)-worker" |
  awk '$1 > 0 && $2 > 0 { printf "%g", $1 / $2; next } { print 0 }')
cores=$(nproc)
ceiling=$(python3 -c "c, p = $cores, $pod_cpus; print(f'{min(3, c / p) if p else 1:.1f}')")
threads=$(podman exec "$(worker_pod 0)-worker" printenv ADPIPE_WORKER_THREADS 2>/dev/null || echo default)
say "each worker pod: CPU limit $pod_cpus, ADPIPE_WORKER_THREADS $threads; $cores cores here," \
  "so 3 pods can drain at most ${ceiling}x as fast as 1"
one_ms=$(drain drain-1 0)
say "a backlog of $backlog ads drained by 1 worker pod in $one_ms ms"

step=$SECONDS
play_worker 1
play_worker 2
wait_worker 1
wait_worker 2
say "worker pods 1 and 2 up in $((SECONDS - step)) s"
three_ms=$(drain drain-3 0 1 2)
shared=$(decisions drain-3 | awk '{print $2}' | sort | uniq -c | awk '{printf "%s%s:%s", sep, $2, $1; sep=" "}')
say "a backlog of $backlog ads drained by 3 worker pods in $three_ms ms (ads per pod: $shared)"
[ "$(decisions drain-3 | awk '{print $2}' | sort -u | wc -l)" = 3 ] || fail "not every worker pod took part of the backlog"
ratio=$(python3 -c "print(f'{$one_ms / $three_ms:.2f}')")
say "1 -> 3 worker pods: $one_ms ms -> $three_ms ms, ${ratio}x (at most ${ceiling}x on $cores cores at $pod_cpus CPU a pod)"

# --- a worker pod stopped mid-batch ------------------------------------------------
# The backlog again, to the three pods; as soon as pod 1 has decided some,
# it is stopped the way Kubernetes removes a pod (SIGTERM, then the grace
# period), while the other two go on.
for i in 0 1 2; do podman pod pause "$(worker_pod "$i")" >/dev/null; done
for n in $(seq 1 "$backlog"); do
  echo "$api stop $n ${photos[$((n % ${#photos[@]}))]} $run_id"
done | xargs -P 4 -L 1 bash -c 'post "$@"' _ | sort | uniq -c >"$work/stop.codes"
grep -qE "^ *$backlog 202$" "$work/stop.codes" || fail "stop: not every POST /ads was 202: $(cat "$work/stop.codes")"
for i in 0 1 2; do podman pod unpause "$(worker_pod "$i")" >/dev/null; done
deadline=$((SECONDS + 60))
until decisions stop | grep -q ' 1$'; do
  [ "$SECONDS" -lt "$deadline" ] || fail "worker pod 1 decided nothing of the last backlog"
  sleep 0.1
done
pending=$(sql "SELECT count(*) FROM ads WHERE text LIKE 'stop ad %' AND status = 'pending'")
grace=$(cat "$work/pods-1-worker.grace")
step=$SECONDS
podman pod stop -t "$grace" "$(worker_pod 1)" >/dev/null
stop_s=$((SECONDS - step))
exit_code=$(podman inspect -f '{{.State.ExitCode}}' "$(worker_pod 1)-worker")
[ "$exit_code" = 0 ] || fail "worker pod 1 exited $exit_code on SIGTERM (grace $grace s)"
podman logs "$(worker_pod 1)-worker" >"$work/stopped.log" 2>&1
grep -q 'shutting down: finishing the work in hand' "$work/stopped.log" || fail "worker pod 1 did not log its SIGTERM"
after_term=$(sed -n '/shutting down: finishing the work in hand/,$p' "$work/stopped.log" | grep -c '"message":"decided"' || true)
wait_decided stop 120
decisions stop >"$work/stop.decisions"
python3 - "$work/stop.decisions" "$work/stop.ids" <<'EOF' || fail "the stopped worker lost or repeated ads"
import collections, sys
times = collections.Counter(line.split()[0] for line in open(sys.argv[1]))
ids = [line.strip() for line in open(sys.argv[2]) if line.strip()]
assert len(ids) > 0
missing = [i for i in ids if i not in times]
twice = [i for i, n in times.items() if n > 1]
assert not missing, f"{len(missing)} ads decided by no worker pod"
assert not twice, f"decided twice: {twice[:5]}"
EOF
by_pod=$(awk '{print $2}' "$work/stop.decisions" | sort | uniq -c | awk '{printf "%s%s:%s", sep, $2, $1; sep=" "}')
say "worker pod 1 stopped with $pending of $backlog ads pending, exit 0 in $stop_s s," \
  "$after_term decided after its SIGTERM; every ad decided once (per pod: $by_pod)"
one_email_each

# --- no secret in the logs ------------------------------------------------------------
for pod in "${pods[@]}"; do
  for container in $(podman pod inspect -f '{{range .Containers}}{{.Name}} {{end}}' "$pod"); do
    podman logs "$container" >>"$work/all.log" 2>&1 || true
  done
done
! grep -qF adpipe-secret "$work/all.log" || fail "the S3 secret key is in the pods' logs"
say "no secret in $(wc -l <"$work/all.log") lines of the pods' logs"

say "backlog $backlog ads: 1 worker pod $one_ms ms, 3 worker pods $three_ms ms (${ratio}x, ceiling ${ceiling}x);" \
  "stopped pod: none lost, none twice, one email each"
say "ok in $((SECONDS - started_at)) s"
