#!/usr/bin/env bash
# One command for the tagging comparison in BENCHMARKS.md: the criterion
# benchmarks (benches/tagging.rs) and the Python baseline
# (benches/python_baseline.py) on the same photos, model and thread count,
# then both side by side in images per second.
#   benches/compare.sh            # threads = cores
#   THREADS=1 benches/compare.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
threads=${THREADS:-$(nproc)}
out=target/compare
mkdir -p "$out"

bash scripts/setup.sh --no-models
ADPIPE_BENCH_THREADS=$threads cargo bench --locked --bench tagging -- --noplot
bash benches/run-python-baseline.sh --threads "$threads" --seconds "${SECONDS_PER_STEP:-8}" --json >"$out/python.json"

python3 - "$out/python.json" <<'PY'
import json, os, sys
python = json.load(open(sys.argv[1]))
photos = python["photos"]

def rust(group, name, elements):
    path = os.path.join("target", "criterion", group, name, "new", "estimates.json")
    mean_ns = json.load(open(path))["mean"]["point_estimate"]
    return elements / (mean_ns / 1e9)

rows = [("preprocess (decode + resize + normalize), 1 thread",
         rust("preprocess", "one_thread", photos), python["preprocess"])]
for batch in ("1", "4", "8", "16", "32"):
    rows.append((f"inference alone, batch {batch}",
                 rust("inference", batch, int(batch)), python["inference"][batch]))
for batch in ("1", "4", "8", "16"):
    rows.append((f"end to end (bytes → tags), batch {batch}",
                 rust("end_to_end", batch, photos), python["end_to_end"].get(batch)))
rows.append(("end to end, batch 8, two views (center_crop + stretch)",
             rust("end_to_end", "8_two_views", photos), None))

best_rust = max(rust("end_to_end", b, photos) for b in ("1", "4", "8", "16"))
best_python = max(python["end_to_end"].values())
print(f"\n{photos} photos, {python['threads']} thread(s), onnxruntime {python['onnxruntime']}, "
      f"Pillow {python['pillow']}, numpy {python['numpy']}\n")
print("| measurement | Rust (images/s) | Python (images/s) | Rust / Python |")
print("| --- | ---: | ---: | ---: |")
for name, r, p in rows:
    ratio = f"{r / p:.2f}×" if p else "–"
    print(f"| {name} | {r:.1f} | {p:.1f} | {ratio} |" if p else f"| {name} | {r:.1f} | – | – |")
print(f"\nbest end to end: Rust {best_rust:.1f} images/s, Python {best_python:.1f} images/s "
      f"({best_rust / best_python:.2f}×)")
# Per image, the preprocessing (one core) against the whole per-image time
# at the best batch size.
share = best_rust / rust("preprocess", "one_thread", photos)
print(f"Rust preprocessing share of per-image time at the best batch size: {share:.0%}")
PY
