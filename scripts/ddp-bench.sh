#!/usr/bin/env bash
# scripts/ddp-bench.sh — wall time of a short protocol in one process and on 2 local ranks (Gloo), with the
# gradient all-reduce overlapped with the backward pass (the default) or after it, local and synchronised
# BatchNorm. Same global batch everywhere. Prints a Markdown table of the median of REPEATS runs.
#   bash scripts/ddp-bench.sh            (needs build/bin/semcom or semcom on PATH; make build)
set -euo pipefail
cd "$(dirname "$0")/.."
SEMCOM=${SEMCOM:-$( [ -x build/bin/semcom ] && echo build/bin/semcom || command -v semcom )}
REPEATS=${REPEATS:-3}
OUTDIR=$(mktemp -d)
trap 'rm -rf "$OUTDIR"' EXIT
eval "$(make -s env)"
base=(run -c configs/demo.yaml --out "$OUTDIR" --name b --overwrite --log-level warn
  --set pretrain.epochs=5 --set finetune.epochs=3 --set 'methods=[proposed,supervised]'
  --set 'channel.snrs_db=[10]' --set probe.enabled=false --set 'tracking=[]')
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
measure() { # label, extra args...
  local label=$1; shift
  local times=()
  for _ in $(seq "$REPEATS"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$SEMCOM" "${base[@]}" "$@" >/dev/null
    t1=$(date +%s.%N)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
  done
  printf '| %s | %.1f s |\n' "$label" "$(printf '%s\n' "${times[@]}" | median)"
}
echo "| run ($(nproc) cores, median of $REPEATS) | wall time |"
echo "|---|---:|"
measure "1 process, $(nproc) threads"
measure "1 process, 1 thread" --set threads=1
for bn in false true; do
  name=local; [ $bn = true ] && name=synchronised
  measure "2 ranks, $name BatchNorm, all-reduce during the backward (25 MB buckets)" --nproc-per-node 2 --set model.sync_bn=$bn
  measure "2 ranks, $name BatchNorm, all-reduce during the backward (1 MB buckets)" --nproc-per-node 2 --set model.sync_bn=$bn --set performance.grad_bucket_mb=1
  measure "2 ranks, $name BatchNorm, one all-reduce after the backward" --nproc-per-node 2 --set model.sync_bn=$bn --set performance.overlap_grad_reduce=false
done
