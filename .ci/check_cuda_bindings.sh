#!/usr/bin/env bash
# Compiles the C++ side of the CUDA path (csrc/*.cpp with WITH_CUDA defined)
# with g++ -fsyntax-only against the installed torch headers, so the bindings
# that launch the CUDA kernels are checked by a compiler even on a machine
# whose torch is a CPU build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
CXX="${CXX:-g++}"
mapfile -t INCLUDES < <("$PY" -c "
from torch.utils.cpp_extension import include_paths
import sysconfig
for p in include_paths(): print('-I' + p)
print('-I' + sysconfig.get_paths()['include'])")
for f in csrc/*.cpp; do
  "$CXX" -std=c++20 -fsyntax-only -DWITH_CUDA -Icsrc "${INCLUDES[@]}" "$f"
  echo "bindings ok (WITH_CUDA): $f"
done
