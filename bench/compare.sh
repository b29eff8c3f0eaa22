#!/usr/bin/env bash
# bench/compare.sh — one ResNet-18 CPU training step, semcom (Go) vs PyTorch on the same libtorch, run
# interleaved (rounds × both) so machine noise hits both alike; prints the median and best ms/step and the
# ratio of medians (>1: Go faster). Usage: bench/compare.sh [rounds] (default 5). Needs `make` and python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
eval "$(make -s env)"
go test -c -o build/models.bench.test ./models/ >/dev/null
py=/usr/bin/python3
declare -A go_ms py_ms
for r in $(seq "$rounds"); do
  while read -r name ns; do go_ms[$name]+="$(awk -v n="$ns" 'BEGIN{printf "%.2f ", n/1e6}')"; done < <(
    (cd models && ../build/models.bench.test -test.run '^$' -test.bench TrainStep -test.benchtime 10x) |
      awk '/^BenchmarkTrainStep/ {sub(/^BenchmarkTrainStep\//, "", $1); sub(/-[0-9]+$/, "", $1); print $1, $3}')
  while read -r name ms; do py_ms[$name]+="$ms "; done < <(
    $py bench/torch_step.py --steps 10 --repeats 1 | awk '{sub(":", "", $4); print $4, $5}')
done
stats() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{printf "%.1f %.1f", a[int((NR+1)/2)], a[1]}'; }
printf '%-16s %12s %10s %12s %10s %8s\n' config go_median go_best torch_median torch_best ratio
for name in "${!go_ms[@]}"; do
  read -r gm gb <<<"$(echo "${go_ms[$name]}" | stats)"
  read -r pm pb <<<"$(echo "${py_ms[$name]}" | stats)"
  printf '%-16s %10s ms %7s ms %10s ms %7s ms %8.2f\n' "$name" "$gm" "$gb" "$pm" "$pb" "$(awk -v a="$pm" -v b="$gm" 'BEGIN{print a/b}')"
done
