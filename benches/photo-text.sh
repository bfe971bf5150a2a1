#!/usr/bin/env bash
# The text in the photo, measured on the worker (issue 34): one `adpipe
# worker` draining a backlog of ads on embedded defaults, the marketplace
# policy with its [text_in_image] section and without it, on the same
# backlog, in one run:
#
#   - photos without text: tests/fixtures/photos whose reference reading
#     (tests/fixtures/ocr/reference.jsonl) holds no line;
#   - of those, the ones the policy publishes (the others are rejected
#     before anything is read);
#   - photos with text: tests/fixtures/ocr/rendered (contact details drawn
#     on the same photos).
#
# Prints decided/s for each and the ratio OCR on / OCR off. Usage:
#
#   bash benches/photo-text.sh                 # ADS=300 per backlog
#   BIN=target/debug/adpipe bash benches/photo-text.sh
#   GLANCE_SIDE=192 bash benches/photo-text.sh  # another glance_side
#
# The dev profile builds the dependencies, the tagger and the image crate at
# opt-level 3, so a debug binary measures the models as a release one does.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

case "${1:-}" in
  -h | --help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac

ADS=${ADS:-300}
BIN=${BIN:-target/release/adpipe}
PORT=${PORT:-18091}
say() { printf 'photo-text.sh: %s\n' "$*" >&2; }

bash scripts/setup.sh >/dev/null
if [ ! -x "$BIN" ]; then
  say "building $BIN"
  cargo build --release --locked --bin adpipe
fi

source benches/backlog.sh

# The two policies: as shipped, and without [text_in_image] (its models'
# paths made absolute, as the copy lives elsewhere).
with_ocr=models/policies/marketplace.toml
without_ocr="$work/marketplace-without-ocr.toml"
python3 - "$with_ocr" "$without_ocr" "$root/models/policies" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r'\n\[text_in_image\]\n(?:[a-z_]+ = [^\n]*\n)+', '\n', text)
text = text.replace('model = "../', 'model = "' + sys.argv[3] + '/../')
open(sys.argv[2], 'w').write(text)
EOF
# GLANCE_SIDE=N measures the shipped policy with another glance_side.
if [ -n "${GLANCE_SIDE:-}" ]; then
  sed -e "s|^glance_side = .*|glance_side = $GLANCE_SIDE|" \
    -e "s|model = \"\.\./|model = \"$root/models/policies/../|" "$with_ocr" >"$work/marketplace-glance.toml"
  with_ocr="$work/marketplace-glance.toml"
fi
if grep -q text_in_image "$without_ocr"; then
  say "could not take [text_in_image] out of $with_ocr"
  exit 1
fi

# The photos without text, by the reference reading.
mkdir -p "$work/no-text"
python3 - "$work/no-text" <<'EOF'
import json, shutil, sys
for line in open("tests/fixtures/ocr/reference.jsonl"):
    item = json.loads(line)
    if item["file"].startswith("tests/fixtures/photos/") and not item["text_in_image"]:
        shutil.copy(item["file"], sys.argv[1])
EOF

# Of those, the ones the policy publishes: the others are rejected before
# anything is read, so this is what a site of honest photos pays.
mkdir -p "$work/no-text-published"
"$BIN" tag --json --policy "$without_ocr" "$work"/no-text/* 2>/dev/null \
  | python3 -c '
import json, shutil, sys
for line in sys.stdin:
    item = json.loads(line)
    if item.get("decision") in ("approved", "in_review"):
        shutil.copy(item["file"], sys.argv[1])
' "$work/no-text-published"

printf '| photos | ads | decided/s, OCR off | decided/s, OCR on | on / off |\n'
printf '| --- | ---: | ---: | ---: | ---: |\n'
for set in no-text no-text-published rendered; do
  photos="$work/$set"
  case $set in
    no-text) label="without text ($(ls "$photos" | wc -l) photos)" ;;
    no-text-published) label="without text, published by the policy ($(ls "$photos" | wc -l) photos)" ;;
    rendered)
      photos=tests/fixtures/ocr/rendered
      label="with contact details drawn on ($(ls "$photos" | wc -l) photos)" ;;
  esac
  fill_backlog "$work/backlog-$set" "$ADS" "$photos"
  drain "$work/backlog-$set" ADPIPE_POLICY="$without_ocr"
  off=$decided
  drain "$work/backlog-$set" ADPIPE_POLICY="$(realpath "$with_ocr")"
  on=$decided
  in_review=$(sql "$work/drain" "SELECT COUNT(*) FROM ads WHERE status = 'in_review'")
  say "$set: $on decided/s with OCR ($in_review of $backlog in review), $off without"
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$backlog" "$off" "$on" \
    "$(python3 -c "print(f'{$on / $off:.0%}')")"
done
