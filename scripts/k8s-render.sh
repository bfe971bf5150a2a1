#!/usr/bin/env bash
# Prints adpipe's Kubernetes manifests on stdout: the chart deploy/helm/adpipe
# rendered by Helm itself (Helm v4's Go SDK, from the helm-python-sdk wheel:
# deploy/ci/render.py), with the values files given over the chart's
# values.yaml (later files win), checked against values.schema.json first,
# as `helm template` does. One `---` document per object with its `# Source:`,
# in Helm's install order; the migration hook (pre-install, pre-upgrade) last,
# as `helm template` prints hooks.
#
#   scripts/k8s-render.sh                          # the chart's defaults
#   scripts/k8s-render.sh deploy/examples/external-services.yaml
#   ADPIPE_K8S_RELEASE=ads ADPIPE_K8S_NAMESPACE=prod scripts/k8s-render.sh my.yaml
#
# Installs its tools into .dev/k8s-tools on the first run (deploy/ci/tools.sh).
# Exit 2: the values break the schema; 3: a template fails. Non-interactive.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=deploy/ci/tools.sh
. "$root/deploy/ci/tools.sh"
k8s_tools render
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in deploy/ci
exec "$K8S_PYTHON" "$root/deploy/ci/render.py" \
  --release "${ADPIPE_K8S_RELEASE:-adpipe}" --namespace "${ADPIPE_K8S_NAMESPACE:-adpipe}" "$@"
