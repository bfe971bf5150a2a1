#!/usr/bin/env bash
# Installs what tests/web_page.rs drives: Debian's chromium and its
# chromedriver (/usr/bin/chromium, /usr/bin/chromedriver), with apt-get.
# Safe to run again: nothing is done when both are there. Non-interactive;
# needs root (or sudo without a password) when something is missing.
set -euo pipefail

say() { printf 'install-chromium: %s\n' "$*" >&2; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ ${#missing[@]} -eq 0 ]; then
  say "chromium and chromedriver are installed ($(chromium --version 2>/dev/null | head -n1))"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  say "apt-get is not available; install ${missing[*]} with your package manager"
  exit 1
fi
if [ "$(id -u)" = 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  say "run as root: apt-get install -y chromium chromium-driver"
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
say "installing ${missing[*]} (apt-get install -y chromium chromium-driver)"
if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null; then
  say "the package lists may be stale; running apt-get update once"
  "${sudo[@]}" apt-get update -q >/dev/null
  "${sudo[@]}" apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null
fi
say "installed: $(chromium --version 2>/dev/null | head -n1), $(chromedriver --version 2>/dev/null | head -n1)"
