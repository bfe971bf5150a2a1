#!/usr/bin/env bash
# The test command of the README and of CI: fetch what the tests load at
# run time (scripts/setup.sh), start the services they talk to
# (scripts/dev-services.sh) and the browser the web page test drives
# (scripts/install-chromium.sh), validate docker-compose.yml and the
# Dockerfile (scripts/check-compose.sh), the documentation's links
# (scripts/check-docs.sh) and the Kubernetes chart (scripts/k8s-validate.sh),
# check formatting, build every target of the workspace once with Clippy's
# lints on (warnings are errors), run every test binary, several at once
# (scripts/run-tests.py), then test the OpenAPI document against the
# running service with Schemathesis (scripts/schemathesis.sh).
#
# Extra arguments go to scripts/run-tests.py: cargo's before `--` (which
# tests to build: `-p adpipe-api`, `--test chaos`), the test binaries'
# after it (a name filter, `--nocapture`).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/phases.sh
. scripts/phases.sh

phase setup bash scripts/setup.sh
# The OpenAPI validator crates/adpipe-api/tests/openapi.rs runs.
phase openapi-validator python3 -m pip install --quiet --disable-pip-version-check \
  --root-user-action=ignore openapi-spec-validator==0.9.0
# The Standard Webhooks library tests/webhooks_standard.rs verifies
# deliveries with (through scripts/verify-webhook.py).
phase standardwebhooks python3 -m pip install --quiet --disable-pip-version-check \
  --root-user-action=ignore standardwebhooks==1.3.0
phase dev-services bash scripts/dev-services.sh
phase chromium bash scripts/install-chromium.sh
phase check-compose bash scripts/check-compose.sh
phase check-docs bash scripts/check-docs.sh
phase k8s-validate bash scripts/k8s-validate.sh
phase fmt cargo fmt --all -- --check
# One build serves the lints, the tests, the benchmarks and Schemathesis:
# Clippy's driver compiles the workspace's own crates (as `cargo clippy`
# does, but producing the binaries too), so the dependencies are compiled
# once instead of once checked for Clippy and once built for the tests.
# CLIPPY_ARGS is how `cargo clippy -- -D warnings` passes its flags to the
# driver; dependencies are compiled by rustc itself, their lints capped.
# mold links the ~65 test and benchmark binaries much faster than the
# system's linker (BENCHMARKS.md, "CI's build"); installed where apt-get
# can, otherwise the system's linker does the work, only slower.
phase linker bash scripts/install-mold.sh
if command -v mold >/dev/null 2>&1; then
  export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-fuse-ld=mold"
fi
export RUSTC_WORKSPACE_WRAPPER=clippy-driver
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
# Every target: the benchmarks must compile and link too (their figures
# come from `cargo bench`, on a quiet machine, not from CI).
phase build cargo test --workspace --all-targets --locked --no-run
phase tests python3 scripts/run-tests.py --workspace --all-targets --locked "$@"
phase doc-tests cargo test --workspace --locked --doc
phase schemathesis bash scripts/schemathesis.sh
