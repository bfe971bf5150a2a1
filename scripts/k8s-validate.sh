#!/usr/bin/env bash
# Validates the Kubernetes chart offline (deploy/ci/validate.py has the
# details): renders deploy/helm/adpipe with Helm's own SDK for the defaults,
# deploy/examples/*.yaml, deploy/ci/values/*.yaml and the values files given;
# checks every object against the Kubernetes schemas of 1.25 and the newest
# release kubernetes-validate knows (strict), KEDA's and the Prometheus
# Operator's CRD schemas (deploy/ci/crds), the chart's own promises (hardening,
# probes, resources, references, ADPIPE_* names), `helm lint --strict`, the
# values that must be refused (deploy/ci/rejected-values.yaml), and checkov,
# whose findings must each be explained (deploy/ci/checkov-explained.yaml).
#
#   scripts/k8s-validate.sh [VALUES.yaml ...]
#
# Installs its tools into .dev/k8s-tools on the first run (deploy/ci/tools.sh),
# then takes about ten seconds. Non-interactive; exits 1 on any problem.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=deploy/ci/tools.sh
. "$root/deploy/ci/tools.sh"
k8s_tools validate
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in deploy/ci
exec "$K8S_PYTHON" "$root/deploy/ci/validate.py" "$@"
