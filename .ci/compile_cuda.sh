#!/usr/bin/env bash
# Compiles every csrc/cuda/*.cu to an object for sm_80 and sm_90, so CUDA
# kernels are checked on machines whose torch is a CPU build (the .cu files
# include no torch header). Run from the repository root.
#
# Without nvcc on PATH this is skipped (exit 0) unless GRAPHCL_REQUIRE_NVCC is
# set, in which case a missing nvcc is an error.
set -euo pipefail

if [[ ! -d csrc/cuda ]]; then
  echo "compile_cuda.sh: run from the repository root (csrc/cuda not found)" >&2
  exit 2
fi

if ! command -v nvcc >/dev/null 2>&1; then
  if [[ -n "${GRAPHCL_REQUIRE_NVCC:-}" ]]; then
    echo "compile_cuda.sh: nvcc not found on PATH and GRAPHCL_REQUIRE_NVCC is set" >&2
    exit 1
  fi
  echo "compile_cuda.sh: nvcc not found on PATH, skipping the CUDA compile check"
  exit 0
fi

shopt -s nullglob
sources=(csrc/cuda/*.cu)
if [[ ${#sources[@]} -eq 0 ]]; then
  echo "compile_cuda.sh: no csrc/cuda/*.cu files" >&2
  exit 1
fi

out_dir="$(mktemp -d)"
trap 'rm -rf "$out_dir"' EXIT

# The half/bfloat16 macros are the ones torch's CUDAExtension passes: the
# kernels must build under them too.
flags=(
  -std=c++17 -O3 -Icsrc
  -gencode arch=compute_80,code=sm_80
  -gencode arch=compute_90,code=sm_90
  -D__CUDA_NO_HALF_OPERATORS__ -D__CUDA_NO_HALF_CONVERSIONS__
  -D__CUDA_NO_BFLOAT16_CONVERSIONS__ -D__CUDA_NO_HALF2_OPERATORS__
  --expt-relaxed-constexpr
  -Xcompiler -Wall
  # Compile the two architectures of each file in parallel (one thread per
  # core): halves this check's wall time on CI's 2 cores.
  --threads 0
)

echo "nvcc: $(nvcc --version | tail -n 1)"
failed=0
for src in "${sources[@]}"; do
  obj="$out_dir/$(basename "${src%.cu}").o"
  start=$SECONDS
  if log="$(nvcc "${flags[@]}" -c "$src" -o "$obj" 2>&1)"; then
    status="ok"
  else
    status="FAILED"
    failed=1
  fi
  echo "$status  $src  ($((SECONDS - start))s)"
  # Warnings are printed even when the compile succeeded.
  if [[ -n "$log" ]]; then
    printf '%s\n' "$log" | sed 's/^/    /'
  fi
done

if [[ $failed -ne 0 ]]; then
  echo "compile_cuda.sh: some CUDA sources failed to compile" >&2
  exit 1
fi
echo "compile_cuda.sh: all ${#sources[@]} CUDA sources compiled for sm_80 and sm_90"
