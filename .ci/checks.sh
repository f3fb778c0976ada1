#!/usr/bin/env bash
# The checks `make test` runs before the tests, side by side: the CUDA kernels
# compiled with nvcc (compile_cuda.sh), the CUDA side of the bindings with
# g++ -fsyntax-only (check_cuda_bindings.sh) and, unless the first argument is
# --compile-only, the generated READMEs (make_readmes.py --check). Each runs
# one process at a time, so on CI's 2 cores the set takes about as long as the
# longest (they took 2.3 + 2.0 + 0.7 min one after another). Each check's
# output is printed whole; the exit status is the first failing check's.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
names=() pids=()
run() {  # run NAME COMMAND...: in the background, output to $logs/NAME
  local name="$1"; shift
  "$@" > "$logs/$name" 2>&1 &
  names+=("$name"); pids+=("$!")
}
run cuda bash .ci/compile_cuda.sh
run bindings env PY="$PY" bash .ci/check_cuda_bindings.sh
if [[ "${1:-}" != "--compile-only" ]]; then
  run readmes "$PY" benchmarks/make_readmes.py --check
fi
status=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}"; rc=$?
  cat "$logs/${names[$i]}"
  if [[ $rc -ne 0 && $status -eq 0 ]]; then
    echo "checks.sh: the ${names[$i]} check failed (exit $rc)" >&2
    status=$rc
  fi
done
exit "$status"
