#!/usr/bin/env bash
# Installs the mold linker with apt-get for scripts/test.sh's build, where
# this machine allows it (root, Debian); elsewhere says why it is skipped:
# the build then links with the system's linker, correct but slower.
set -euo pipefail
say() { echo "install-mold: $*" >&2; }
command -v mold >/dev/null 2>&1 && exit 0
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  say "mold is not installed and apt-get cannot install it here; linking with the system's linker"
  exit 0
fi
say "installing mold (apt-get install mold)"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mold >/dev/null ||
  { apt-get update -q >/dev/null &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mold >/dev/null; }
