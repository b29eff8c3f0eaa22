#!/usr/bin/env bash
# The runs behind docs/RESULTS.md, as seeded sweeps (grids/results/*.yaml): five seeds of the demo and of the
# longer synthetic config, and the ablations of the proposed loss at the demo's scale. Each sweep runs with
# 'semcom sweep local' (re-running continues an interrupted one) and is merged with 'semcom sweep collect'
# into runs/sweeps/<name>/summary.md (mean ± 95% CI over seeds, paired differences, points against the
# first). About 90 minutes on 2 CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
S=${SEMCOM:-build/bin/semcom}
WORKERS=${WORKERS:-2}
for g in ${GRIDS:-demo long abl-registration abl-weighting abl-shared abl-lambda}; do
  echo "== $g" >&2
  "$S" sweep local -g "grids/results/$g.yaml" --workers "$WORKERS" --log-level warn
  "$S" sweep collect -g "grids/results/$g.yaml" > /dev/null
done
echo "summaries: runs/sweeps/results-*/summary.md runs/sweeps/abl-*/summary.md" >&2
