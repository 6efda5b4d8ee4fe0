#!/usr/bin/env bash
# Builds and runs the CUDA backend's checks on a machine with an NVIDIA GPU, and writes every log under $OUT:
# the CUDA tests (every op forward and backward against the CPU backend, float, TF32 off, relative 1e-4), the
# whole-network tests (VGG-16, ResNet-50, Inception-V3 and the UNet on the GPU against the CPU, 1e-3 of the largest
# value), and the GPU benchmarks against PyTorch on the same GPU in the same run (ops: bench_cuda; whole networks:
# bench_cuda_networks, ResNet-50 and UNet training, 15,464 images by DDIM).
#
# The GPU machine reaches no package registry, so the Debian build dependencies travel with the checkout
# (../shared/device/README.md):
#   here, once:   EXTRA_DEBS="libpugixml-dev libpugixml1v5 zlib1g-dev" ../shared/device/pack-deps.sh
#   there:        carry .devdeps; run  scripts/gpu-check.sh   (it sources .devdeps/use-deps.sh itself)
#
# Environment: OUT (default build/gpu-check), JOBS (default: all cores), BENCH_SECONDS (default 1),
# NETWORK_SECONDS (default 3, per whole-network measurement), IMAGES (default 15464: the generation job),
# GEN_BATCH (default 1024), NETWORK_TESTS (default 1; 0 skips the whole-network tests, whose CPU half takes minutes),
# MEMCHECK=1 also runs the tensor/elementwise and norm/pool tests under compute-sanitizer (slow),
# PYTHON (default: the python3 on PATH, which must import torch with CUDA).
# Exit status: 0 when every step passed, else 1 (each step still runs; summary.txt says which failed).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
if [ -f .devdeps/use-deps.sh ]; then
  # shellcheck disable=SC1091
  source .devdeps/use-deps.sh
fi
OUT=${OUT:-$root/build/gpu-check}
JOBS=${JOBS:-$(nproc)}
BENCH_SECONDS=${BENCH_SECONDS:-1}
PYTHON=${PYTHON:-$(command -v python3 || echo /usr/bin/python3)}
build=$root/build/gpu
mkdir -p "$OUT"
summary=$OUT/summary.txt
: >"$summary"
failed=0

# step <name> <command...>: runs the command with its output in $OUT/<name>.log, records status and seconds.
step() {
  local name=$1
  shift
  local start=$SECONDS
  "$@" >"$OUT/$name.log" 2>&1
  local status=$?
  printf '%-28s %s (%d s)\n' "$name" "$([ $status -eq 0 ] && echo passed || echo "FAILED, status $status")" \
    $((SECONDS - start)) | tee -a "$summary"
  [ $status -eq 0 ] || failed=1
  return $status
}

{
  echo "gpu-check: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  nvidia-smi 2>&1 || true
  nvcc --version 2>&1 || true
  "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))' 2>&1 || true
} >"$OUT/machine.txt"

step configure cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFERGEN_WITH_CUDA=ON -DFERGEN_CUDA_GPU_TARGETS=ON \
  -DFERGEN_BUILD_TESTS=ON -DFERGEN_BUILD_EXAMPLES=OFF -DFERGEN_BUILD_BENCHMARKS=OFF -DFERGEN_PYTHON="$PYTHON" || {
  echo "gpu-check: configuration failed, see $OUT/configure.log" | tee -a "$summary"
  exit 1
}
step build cmake --build "$build" --target test_cuda test_cuda_networks bench_cuda bench_cuda_networks -j "$JOBS" || {
  echo "gpu-check: build failed, see $OUT/build.log" | tee -a "$summary"
  exit 1
}

# The tests on every core (the CPU references are the slow half).
step test_cuda "$build/tests/cuda/test_cuda" --duration=true
# The same tests through ctest, as the suite runs them (a skip here would mean no device was found).
step ctest_cuda ctest --test-dir "$build" -R '^test_cuda$' --output-on-failure
if [ "${NETWORK_TESTS:-1}" = 1 ]; then
  step test_cuda_networks "$build/tests/cuda/test_cuda_networks" --duration=true
fi
step bench_cuda "$build/benchmarks/cuda/bench_cuda" --seconds "$BENCH_SECONDS" --python "$PYTHON" \
  --csv "$OUT/bench_cuda.csv"
step bench_cuda_networks "$build/benchmarks/cuda/bench_cuda_networks" --seconds "${NETWORK_SECONDS:-3}" \
  --python "$PYTHON" --images "${IMAGES:-15464}" --gen-batch "${GEN_BATCH:-1024}" --csv "$OUT/bench_cuda_networks.csv"
# The tables at the end of the benchmarks' logs, in the summary.
for log in bench_cuda bench_cuda_networks; do
  [ -f "$OUT/$log.log" ] && { echo "--- $log"; tail -n 12 "$OUT/$log.log"; } >>"$summary"
done
if [ "${MEMCHECK:-0}" = 1 ] && command -v compute-sanitizer >/dev/null; then
  step memcheck compute-sanitizer --tool memcheck --error-exitcode 1 "$build/tests/cuda/test_cuda" \
    --test-case='*arithmetic*,*dropout*,*losses*,*optimiser*,*pooling*,*group_norm*'
fi

echo "gpu-check: logs in $OUT" | tee -a "$summary"
exit $failed
