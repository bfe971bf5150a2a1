#!/usr/bin/env bash
# Checks the links of the documentation, offline: in every Markdown file of
# the repository (README.md, docs/, BENCHMARKS.md and the rest that git
# tracks or would track), each relative link must lead to a file or folder
# that exists, and each #anchor to a heading of its page, spelled as GitHub
# spells it. Links to web addresses are not followed: CI has no internet,
# and a site that is down is no fault of this repository.
#
# The checker is remark-validate-links (the unified collective's, run by
# remark-cli): it reads the Markdown as GitHub does and needs no network.
# Both are installed with npm at the pinned versions below, into
# .dev/tools/check-docs (ignored by git), the first time or when a pin
# changes; npm itself comes from Debian's packages where it is missing.
# Any broken link or anchor exits non-zero and is named with its line.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf 'check-docs: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

REMARK_CLI_VERSION=12.0.1
VALIDATE_LINKS_VERSION=13.1.0
tools=$root/.dev/tools/check-docs

if ! command -v npm >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    fail "npm is not installed, and apt-get cannot install it (not root?)"
  fi
  say "no npm here; installing Debian's nodejs and npm (apt-get)"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  apt-get update -q </dev/null >/dev/null || say "apt-get update failed; trying the install anyway"
  apt-get install -y -q --no-install-recommends nodejs npm </dev/null >/dev/null \
    || fail "apt-get install nodejs npm"
fi

installed() { # PACKAGE VERSION: true when that exact version is in $tools
  [ "$(node -p "require('$tools/node_modules/$1/package.json').version" 2>/dev/null)" = "$2" ]
}
if ! installed remark-cli "$REMARK_CLI_VERSION" \
  || ! installed remark-validate-links "$VALIDATE_LINKS_VERSION"; then
  say "installing remark-cli@$REMARK_CLI_VERSION and remark-validate-links@$VALIDATE_LINKS_VERSION (npm)"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-save --no-package-lock --no-audit --no-fund \
    --loglevel=error "remark-cli@$REMARK_CLI_VERSION" \
    "remark-validate-links@$VALIDATE_LINKS_VERSION" </dev/null >/dev/null \
    || fail "npm install remark-cli remark-validate-links"
fi

# Tracked files and new ones not yet added, so that a page being written is
# checked before its first commit; ignored ones (target/, .dev/) are not.
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.md' | sort -u)
[ "${#files[@]}" -gt 0 ] || fail "no Markdown file found"

# remark-cli looks plugins up from the working directory, where none is
# installed: the plugin is named by its path. repository:false keeps it
# from reading the git remote (a fresh clone's origin is no concern of the
# check). --frail makes its warnings (a missing file or heading) fail;
# --no-config and --no-ignore keep any .remarkrc or .remarkignore out.
"$tools/node_modules/.bin/remark" --no-config --no-ignore --no-stdout \
  --quiet --frail --no-color \
  --use "$tools/node_modules/remark-validate-links/index.js=repository:false" \
  "${files[@]}" </dev/null \
  || fail "a link or an anchor above leads nowhere"
say "${#files[@]} Markdown files: every relative link and anchor leads somewhere"
