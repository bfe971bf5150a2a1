#!/usr/bin/env bash
# Runs the Python baseline (benches/python_baseline.py) in a virtual
# environment at .venv-bench in the repository root, created on first use.
# Arguments are passed to the script, e.g.
#   bash benches/run-python-baseline.sh --photos ../shared/photos --seconds 3 --json
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
venv="$root/.venv-bench"
requirements="$here/python-requirements.txt"
python="${PYTHON:-python3}"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "error: '$*' needs root (and sudo is not available)" >&2
        return 1
    fi
}

create_venv() {
    rm -rf "$venv"
    if "$python" -m venv "$venv" >/dev/null 2>&1; then
        return 0
    fi
    # Debian/Ubuntu ship venv without ensurepip unless python3-venv is installed.
    rm -rf "$venv"
    echo "'$python -m venv' failed (ensurepip missing?); installing python3-venv" >&2
    local version
    version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq python3-venv \
        || as_root apt-get install -y -qq "python${version}-venv"
    "$python" -m venv "$venv"
}

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    echo "creating $venv" >&2
    create_venv
    # Old pips do not know the manylinux tags of current onnxruntime wheels.
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip \
        || echo "warning: could not upgrade pip; continuing" >&2
fi

# Install (or update) the pinned requirements when they changed since the
# last successful install.
stamp="$venv/.requirements-installed"
if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
fi

exec "$venv/bin/python" "$here/python_baseline.py" "$@"
