#!/usr/bin/env bash
# Builds torch-scatter and torch-sparse from their PyPI source distributions
# into a separate venv (default .venv-peers) that sees the project venv's
# packages (torch, graphcl, torch_geometric) through a .pth file, so the
# extensions compile against the same torch (--no-build-isolation). Used by
# `make bench-peers`; never part of `make test`. Takes several minutes (the
# C++ sources of both packages are compiled on this machine).
#
#   PY=.venv/bin/python PEERS=.venv-peers bash benchmarks/core/build_peers.sh
set -euo pipefail
PY="${PY:-.venv/bin/python}"
PEERS="${PEERS:-.venv-peers}"
SPECS=("torch-scatter==2.1.2" "torch-sparse==0.6.18")

if "$PEERS/bin/python" -c "import torch_scatter, torch_sparse" 2>/dev/null; then
  echo "build_peers: torch_scatter and torch_sparse already built in $PEERS"
  exit 0
fi
BASE_SITE="$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")"
BASE_PYTHON="$("$PY" -c "import sys; print(sys._base_executable)")"
test -x "$PEERS/bin/python" || "$BASE_PYTHON" -m venv "$PEERS"
PEER_SITE="$("$PEERS/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")"
echo "$BASE_SITE" > "$PEER_SITE/graphcl_base_venv.pth"
"$PEERS/bin/python" -c "import torch; print('build_peers: building against torch', torch.__version__)"

SDISTS="$(mktemp -d)"
trap 'rm -rf "$SDISTS"' EXIT
if ! "$PEERS/bin/python" -m pip download --quiet --no-binary :all: --no-deps --no-build-isolation \
    -d "$SDISTS" "${SPECS[@]}"; then
  cat >&2 <<MSG
build_peers: could not download the source distributions of ${SPECS[*]}
from the package index (pip download --no-binary :all: failed: no network, or the
index lacks them). The peer comparison needs them; benchmarks/core/ops.py still runs
graphcl, torch.sparse.mm and PyG without them (torch_sparse rows then read n/a).
MSG
  exit 1
fi
# setuptools, wheel and ninja come from the base venv (the .pth file).
# Their setup.py files compile one file at a time (no ninja), and Python's
# CFLAGS add -g, which doubles each torch-header-heavy file's compile here
# (as it did for graphcl's own build): CFLAGS=-g0 drops it. The two packages
# build side by side (torch_sparse needs torch_scatter only to import).
build() {
  CFLAGS="${CFLAGS:--g0}" MAX_JOBS="${MAX_JOBS:-2}" FORCE_ONLY_CPU="${FORCE_ONLY_CPU:-1}" \
    "$PEERS/bin/python" -m pip install --no-build-isolation --no-deps --no-index "$1"
}
build "$(echo "$SDISTS"/torch_scatter-*.tar.gz)" & scatter=$!
build "$(echo "$SDISTS"/torch_sparse-*.tar.gz)" & sparse=$!
wait "$scatter" && wait "$sparse"
"$PEERS/bin/python" -c "import torch_scatter, torch_sparse; print('build_peers: torch_scatter', torch_scatter.__version__, 'torch_sparse', torch_sparse.__version__)"
