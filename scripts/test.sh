#!/usr/bin/env bash
# The test command of the README and of CI: fetch what the tests load at
# run time (scripts/setup.sh), start the services they talk to
# (scripts/dev-services.sh) and the browser the web page test drives
# (scripts/install-chromium.sh), validate docker-compose.yml and the
# Dockerfile (scripts/check-compose.sh), the documentation's links
# (scripts/check-docs.sh) and the Kubernetes chart (scripts/k8s-validate.sh),
# check formatting and lints, run every test of the workspace, then test the
# OpenAPI document against the running service with Schemathesis
# (scripts/schemathesis.sh). Extra arguments go to `cargo test`.
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
phase clippy cargo clippy --workspace --all-targets --locked -- -D warnings
phase tests cargo test --workspace --locked "$@"
phase schemathesis bash scripts/schemathesis.sh
