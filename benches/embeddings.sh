#!/usr/bin/env bash
# What keeping each photo's embedding costs the worker (issue 32): one
# `adpipe worker` draining the same backlog on embedded defaults with the
# default model as shipped (its run's `embedding` output kept with each
# decision, 2.5 KiB per ad) and with a copy of its model.toml that names no
# embedding (nothing kept), alternating, ROUNDS times each. Prints decided/s
# for both and the ratio. Usage:
#
#   bash benches/embeddings.sh                    # ADS=300, ROUNDS=2
#   BIN=target/debug/adpipe ROUNDS=3 bash benches/embeddings.sh
#
# The dev profile builds the dependencies, the tagger and the image crate at
# opt-level 3, so a debug binary measures the models as a release one does.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

case "${1:-}" in
  -h | --help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac

ADS=${ADS:-300}
ROUNDS=${ROUNDS:-2}
BIN=${BIN:-target/release/adpipe}
PORT=${PORT:-18093}
say() { printf 'embeddings.sh: %s\n' "$*" >&2; }

bash scripts/setup.sh >/dev/null
if [ ! -x "$BIN" ]; then
  say "building $BIN"
  cargo build --release --locked --bin adpipe
fi

source benches/backlog.sh

# The default model without its embedding: same graph, same labels.
model=$root/models/efficientnet-lite0
without="$work/model-without-embedding.toml"
sed -e '/^embedding = /d' -e "s|^file = \"|file = \"$model/|" -e "s|^labels = \"|labels = \"$model/|" \
  "$model/model.toml" >"$without"
grep -q '^embedding' "$without" && { say "could not take the embedding out"; exit 1; }

fill_backlog "$work/backlog" "$ADS" tests/fixtures/photos
kept=() none=()
for round in $(seq 1 "$ROUNDS"); do
  drain "$work/backlog" ADPIPE_MODEL="$model/model.toml"
  kept+=("$decided")
  stored=$(sql "$work/drain" "SELECT COUNT(*) FROM ads WHERE embedding IS NOT NULL")
  drain "$work/backlog" ADPIPE_MODEL="$without"
  none+=("$decided")
  say "round $round: $stored embeddings kept, ${kept[-1]} decided/s; none kept, ${none[-1]} decided/s"
done
python3 - "${kept[*]}" "${none[*]}" "$backlog" <<'PY'
import statistics, sys
kept = [float(x) for x in sys.argv[1].split()]
none = [float(x) for x in sys.argv[2].split()]
k, n = statistics.median(kept), statistics.median(none)
print(f"| backlog | decided/s, embedding kept | decided/s, none kept | kept / none |")
print(f"| ---: | ---: | ---: | ---: |")
print(f"| {sys.argv[3]} | {k} ({', '.join(map(str, kept))}) | {n} ({', '.join(map(str, none))}) | {k / n:.0%} |")
PY
