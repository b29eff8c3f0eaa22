#!/usr/bin/env bash
# The runs behind docs/RESULTS.md: five seeds (model, data order and synthetic data vary together: seed=S,
# data.synthetic.seed=100+S) of the demo and of the longer synthetic config, and the ablations of the
# proposed loss at the demo's scale, each merged with 'semcom collect' and paired with 'semcom compare'.
# About 75 minutes on 2 CPU cores. Re-running continues an interrupted regeneration (--resume); FRESH=1
# starts over. Output: $OUT (default runs/results), with results.md holding every table.
set -euo pipefail
cd "$(dirname "$0")/.."
S=${SEMCOM:-build/bin/semcom}
OUT=${OUT:-runs/results}
SEEDS=${SEEDS:-"1 2 3 4 5"}
MODE=--resume
[ "${FRESH:-0}" = 1 ] && MODE=--overwrite
mkdir -p "$OUT"
md="$OUT/results.md"
: > "$md"

seeds() { # name, then run arguments
  local name=$1; shift
  local dirs=()
  for s in $SEEDS; do
    echo "== $name seed $s" >&2
    "$S" run "$@" --out "$OUT" --name "$name-s$s" --set seed="$s" --set data.synthetic.seed=$((100 + s)) $MODE --log-level warn > /dev/null
    dirs+=("$OUT/$name-s$s")
  done
  "$S" collect "${dirs[@]}" --out "$OUT/$name" --title "$name" >> "$md"
  echo >> "$md"
}

seeds demo -c configs/demo.yaml
seeds long -c configs/synthetic-cpu-long.yaml

# Ablations of the proposed loss (demo scale; the supervised baseline sets the rounds-to-target).
ABL=(-c configs/demo.yaml --set methods=[proposed,supervised] --set probe.enabled=true)
seeds abl-default "${ABL[@]}"
seeds abl-independent "${ABL[@]}" --set pretrain.augment.registration=independent --set finetune.augment.registration=independent
seeds abl-decur "${ABL[@]}" --set pretrain.proposed.weighting=decur
seeds abl-shared50 "${ABL[@]}" --set pretrain.proposed.shared_fraction=0.5
seeds abl-shared100 "${ABL[@]}" --set pretrain.proposed.shared_fraction=1.0
seeds abl-lambda002 "${ABL[@]}" --set pretrain.proposed.lambda_intra=0.02 --set pretrain.proposed.lambda_shared=0.02 --set pretrain.proposed.lambda_unique=0.02
seeds abl-lambda001 "${ABL[@]}" --set pretrain.proposed.lambda_intra=0.001 --set pretrain.proposed.lambda_shared=0.001 --set pretrain.proposed.lambda_unique=0.001
for v in independent decur shared50 shared100 lambda002 lambda001; do
  "$S" compare "$OUT/abl-default" "$OUT/abl-$v" >> "$md"
  echo >> "$md"
done
echo "tables: $md" >&2
