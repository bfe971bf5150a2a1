#!/usr/bin/env bash
# A trained head against the default model on photos nobody here chose,
# leave-one-out: for each photo of a held-out set (default ../shared/photos:
# vehicle/ and other/), a head is trained by `adpipe train` on the gathered
# photos (scripts/gather-labelled-photos.sh) plus every held-out photo but
# that one, and then judges it with the policy it proposed, beside the
# default model with the vehicles policy. Prints per photo and in sum: for
# people, approved, rejected, wrong.
#
#   benches/train-loo.sh [GATHERED [HELD_OUT]]   # defaults: /work/data/labelled ../shared/photos
#
# The vehicle site's classes: `vehicle` (every vehicle folder of the
# gathered set, and the held-out set's vehicle/) and `none` (the rest:
# the gathered none/ and tool/, the held-out other/).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gathered=${1:-/work/data/labelled}
held_out=${2:-$root/../shared/photos}
bin=${BIN:-$root/target/release/adpipe}
[ -x "$bin" ] || { echo "train-loo: no $bin (cargo build --release --bin adpipe)" >&2; exit 1; }
[ -d "$gathered" ] || { echo "train-loo: no $gathered (scripts/gather-labelled-photos.sh $gathered)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
base=$work/base
mkdir -p "$base/vehicle" "$base/none"
for folder in "$gathered"/*/; do
  name=$(basename "$folder")
  case $name in
    none | tool) target=none ;;
    *) target=vehicle ;;
  esac
  for photo in "$folder"*; do ln -s "$photo" "$base/$target/$name-$(basename "$photo")"; done
done

mapfile -t photos < <(find "$held_out/vehicle" "$held_out/other" -type f \( -name '*.jpg' -o -name '*.png' -o -name '*.jpeg' -o -name '*.webp' \) | sort)
printf '%-44s %-8s %-24s %-24s\n' photo truth "trained head" "efficientnet + vehicles"
declare -A head_count base_count
for key in approved in_review rejected wrong; do head_count[$key]=0; base_count[$key]=0; done
tally() { # ARRAY DECISION CATEGORY TRUTH
  local -n count=$1
  count[$2]=$((count[$2] + 1))
  if { [ "$2" = approved ] && [ "$4" = none ]; } || { [ "$2" = rejected ] && [ "$4" = vehicle ]; }; then
    count[wrong]=$((count[wrong] + 1))
  fi
}
for left_out in "${photos[@]}"; do
  set_dir=$work/set
  rm -rf "$set_dir" "$work/head"
  cp -as "$base" "$set_dir"
  truth=none
  [[ $left_out == "$held_out/vehicle/"* ]] && truth=vehicle
  for photo in "${photos[@]}"; do
    [ "$photo" = "$left_out" ] && continue
    class=none
    [[ $photo == "$held_out/vehicle/"* ]] && class=vehicle
    ln -s "$photo" "$set_dir/$class/held-$(basename "$photo")"
  done
  "$bin" train --photos "$set_dir" --out "$work/head" --seed 1 >/dev/null 2>"$work/train.log" ||
    { cat "$work/train.log" >&2; exit 1; }
  head=$("$bin" tag --json --model "$work/head/model.toml" --policy "$work/head/policy.toml" "$left_out" |
    python3 -c 'import json,sys; r=json.loads(sys.stdin.readline()); print(r["decision"], r.get("category") or "-", round(r["score"], 2))')
  base_line=$("$bin" tag --json "$left_out" |
    python3 -c 'import json,sys; r=json.loads(sys.stdin.readline()); print(r["decision"], r.get("category") or "-", round(r["score"], 2))')
  printf '%-44s %-8s %-24s %-24s\n' "$(basename "$left_out")" "$truth" "$head" "$base_line"
  tally head_count "${head%% *}" "" "$truth"
  tally base_count "${base_line%% *}" "" "$truth"
done
total=${#photos[@]}
for model in head base; do
  declare -n count=${model}_count
  label="trained head"
  [ "$model" = base ] && label="efficientnet-lite0 + vehicles"
  printf '%-32s %d photos: approved %d, for people %d, rejected %d, wrong %d\n' "$label" "$total" \
    "${count[approved]}" "${count[in_review]}" "${count[rejected]}" "${count[wrong]}"
done
