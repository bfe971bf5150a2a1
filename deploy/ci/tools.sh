# shellcheck shell=bash
# Sourced by scripts/k8s-render.sh and scripts/k8s-validate.sh: puts the
# Python tools they need in a virtual environment, from PyPI by package
# name at the versions pinned here (requirements-*.txt, constraints.txt),
# once. Later runs find the environment's stamp matching and install
# nothing. Override the place with ADPIPE_K8S_TOOLS (default .dev/k8s-tools,
# which git ignores). Sets K8S_PYTHON. pip's output goes to stderr, so a
# render's stdout holds the manifests only.

k8s_tools() { # render | validate
  local want=$1
  local ci root venv stamp python_version
  ci=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  root=$(cd "$ci/../.." && pwd)
  venv=${ADPIPE_K8S_TOOLS:-$root/.dev/k8s-tools}
  local reqs=("$ci/requirements-render.txt")
  [ "$want" = validate ] && reqs+=("$ci/requirements-validate.txt")
  command -v python3 >/dev/null || { echo "k8s-tools: python3 is needed" >&2; return 1; }
  python_version=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  stamp="$python_version $(cat "${reqs[@]}" "$ci/constraints.txt" | sha256sum | cut -c1-16)"
  K8S_PYTHON=$venv/bin/python
  if [ -f "$venv/.stamp-$want" ] && [ "$(cat "$venv/.stamp-$want")" = "$stamp" ] \
    && [ -x "$K8S_PYTHON" ]; then
    return 0
  fi
  mkdir -p "$(dirname "$venv")"
  (
    # One installer at a time (k8s-e2e.sh may render while another run installs).
    if command -v flock >/dev/null; then flock 9; fi
    if [ -f "$venv/.stamp-$want" ] && [ "$(cat "$venv/.stamp-$want")" = "$stamp" ]; then
      exit 0
    fi
    echo "k8s-tools: installing the $want tools into $venv (once)" >&2
    if [ ! -x "$venv/bin/python" ] || [ "$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$python_version" ]; then
      rm -rf "$venv"
      if ! python3 -m venv "$venv" >&2 2>&1; then
        # Debian's python3 keeps venv in a package of its own.
        if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
          export DEBIAN_FRONTEND=noninteractive
          apt-get update -q </dev/null >&2 || true
          apt-get install -y -q python3-venv </dev/null >&2
          rm -rf "$venv"
          python3 -m venv "$venv" >&2
        else
          echo "k8s-tools: python3 -m venv failed (install python3-venv)" >&2
          exit 1
        fi
      fi
    fi
    local_args=()
    for req in "${reqs[@]}"; do local_args+=(-r "$req"); done
    "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q \
      -c "$ci/constraints.txt" "${local_args[@]}" </dev/null >&2
    echo "$stamp" >"$venv/.stamp-$want"
    # A validate environment can render too.
    if [ "$want" = validate ]; then
      render_stamp="$python_version $(cat "$ci/requirements-render.txt" "$ci/constraints.txt" | sha256sum | cut -c1-16)"
      echo "$render_stamp" >"$venv/.stamp-render"
    fi
  ) 9>>"$(dirname "$venv")/.k8s-tools.lock"
}
