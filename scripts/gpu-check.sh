#!/usr/bin/env bash
# scripts/gpu-check.sh — every GPU-side check and benchmark in one call (budget: under 8 minutes).
#
# Runs on a GPU machine that has a pip PyTorch with CUDA but no Go toolchain:
#   1. prepare here (CPU machine):   make gpu-prep          (build/gpu-bundle.tgz: semcom + Go test binaries)
#   2. carry build/gpu-bundle.tgz to the GPU machine, then in the repo root there:
#        bash scripts/gpu-check.sh                          (writes gpu-check.log to $OUT or ./gpu-out)
# It rebuilds only the shim against the wheel's libtorch (make shim LIBTORCH=pip) and runs the prebuilt
# binaries with LD_LIBRARY_PATH=build/lib. Copy what it prints into docs/PERFORMANCE.md.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-check.log") 2>&1
PY=${PYTHON:-python3}
fails=0
section() { printf '\n=== %s (%s)\n' "$*" "$(date +%T)"; }
step() { # name, command...: run, report, count failures
  local name=$1; shift
  if "$@"; then echo "PASS $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
}

if [ -f build/gpu-bundle.tgz ]; then
  rm -rf build/bin build/test && tar -xzf build/gpu-bundle.tgz -C build
fi
[ -x build/bin/semcom ] && ls build/test/*.test >/dev/null 2>&1 || { echo "no build/bin/semcom or build/test: run make gpu-prep first"; exit 2; }

section machine
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
nproc
$PY - <<'PY'
import torch, os
print("torch", torch.__version__, "cuda", torch.version.cuda, "cxx11abi", int(torch._C._GLIBCXX_USE_CXX11_ABI))
print("lib", os.path.join(os.path.dirname(torch.__file__), "lib"), "cuda usable", torch.cuda.is_available())
PY
TL=$($PY -c 'import os,torch;print(os.path.join(os.path.dirname(torch.__file__),"lib"))')
echo "libtorch_cuda.so unresolved deps:"; ldd "$TL/libtorch_cuda.so" | grep 'not found' || echo "  none"

section shim
rm -rf build/lib build/obj
step "make shim LIBTORCH=pip" make -j"$(nproc)" shim LIBTORCH=pip PYTHON="$PY"
make check-shim LIBTORCH=pip PYTHON="$PY" | grep -E 'torch_cuda|c10_cuda|RUNPATH'
export LD_LIBRARY_PATH=$PWD/build/lib
export TG_EXPECT_TORCH=$($PY -c 'import torch;print(torch.__version__.split("+")[0])') TG_REQUIRE_CUDA=1

section semcom
step "semcom version" build/bin/semcom version

section tests
gotest() { # pkg: run its prebuilt test binary in its package folder; the full log goes to $OUT
  local pkg=$1 dir rc
  dir=$(cat "build/test/$pkg.dir")
  (cd "$dir" && timeout 240 "$OLDPWD/build/test/$pkg.test" -test.count=1 -test.v) > "/tmp/test-$pkg.log" 2>&1
  rc=$?
  { echo "=== $pkg (exit $rc)"; cat "/tmp/test-$pkg.log"; } >> "$OUT/tests.log" # one file: the tool returns few files
  grep -E '^(--- (FAIL|SKIP)|FAIL|PASS$)|CUDA' "/tmp/test-$pkg.log" | grep -v '^=== RUN' | head -40
  return $rc
}
for bin in build/test/*.test; do
  pkg=$(basename "$bin" .test)
  step "go test $pkg (all tests, CUDA required)" gotest "$pkg"
done

section "benchmarks: one ResNet-18 classification step, Go vs PyTorch"
(cd models && timeout 90 ../build/test/models.test -test.run '^$' -test.bench TrainStep -test.benchtime 20x -test.count 3)
timeout 90 $PY bench/torch_step.py --device cuda --steps 20 --repeats 3

section "benchmarks: paper scale (224x224, width 64, batch 64), semcom vs PyTorch reference and tuned"
timeout 150 build/bin/semcom bench --device cuda --size 224 --width 64 --batch 64 --steps 20 --repeats 3 --json | tee "$OUT/bench-semcom.json"
(cd bench && timeout 200 $PY pytorch_reference.py --device cuda --size 224 --width 64 --batch 64 --steps 20 --repeats 3 --workers 8) | tee "$OUT/bench-pytorch.json"
$PY bench/ratios.py "$OUT/bench-semcom.json" "$OUT/bench-pytorch.json" || true

section "projection: the paper protocol (configs/paper-nyud2.yaml: LARS, its augmentation, 4 methods x 3 SNRs x 500 epochs)"
timeout 120 build/bin/semcom bench --config configs/paper-nyud2.yaml --device cuda --steps 10 --repeats 3

section "no host synchronisation inside a step (libtorch's sync debug mode), paper config"
step "pre-training and fine-tuning steps never wait for the GPU" build/bin/semcom bench --config configs/paper-nyud2.yaml --device cuda --steps 3 --repeats 1 --warmup 2 --check-sync

section "memory: 1000 fine-tuning steps at paper scale"
step "GPU memory flat over 1000 steps" build/bin/semcom bench --device cuda --size 224 --width 64 --batch 64 --step finetune --steps 1000 --repeats 1 --warmup 20 --check-flat --check-sync

section "data parallel over NCCL: 2 ranks on 2 GPUs against 1 process (same global batch)"
if [ "$(nvidia-smi -L 2>/dev/null | wc -l)" -ge 2 ]; then
  ddp=(run -c configs/demo.yaml --device cuda --out /tmp/ddp --overwrite --log-level warn --set pretrain.epochs=3
    --set finetune.epochs=2 --set 'methods=[proposed,supervised]' --set 'channel.snrs_db=[10]' --set probe.enabled=false --set 'tracking=[]')
  for n in 1 2; do
    t0=$SECONDS
    step "protocol on $n GPU(s)" timeout 150 build/bin/semcom "${ddp[@]}" --name "n$n" --nproc-per-node "$n"
    echo "wall time on $n GPU(s): $((SECONDS - t0)) s"
  done
  # cuDNN and bf16 make GPU runs non-bitwise, so not 1e-5 as on CPU: the first epoch's loss must agree to 1%.
  step "2 GPUs: first pre-training epoch's loss within 1% of 1 GPU's" $PY - <<'PY'
import csv, sys
loss = lambda n: float(next(csv.DictReader(open(f"/tmp/ddp/n{n}/pretrain/proposed/metrics.csv")))["train_loss"])
a, b = loss(1), loss(2)
print(f"first-epoch loss: 1 GPU {a:.5f}, 2 GPUs {b:.5f}")
sys.exit(abs(a - b) > 0.01 * abs(a))
PY
else
  echo "one GPU: NCCL runs at world size 1 only (TestNCCLWorldSizeOne, in the torch tests above)"
fi

section result
echo "failures: $fails"
exit $((fails > 0))
