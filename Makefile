# The two commands a fresh machine needs: `make demo` and `make test`.
# Both create .venv and install graphcl (with its compiled kernels) into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MIRROR ?= $(abspath ../shared/data)
# The CPU build of torch 2.13 is on local disk here; other specs may pull a
# multi-GB CUDA build. Override with `make TORCH_SPEC=...`.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed
# pytest-xdist workers for `make test` (CI has 2 cores; each worker runs torch
# on one thread). `make test TEST_WORKERS=0` runs the tests in one process.
TEST_WORKERS ?= 2
# --no-compile: byte-compiling every module of torch and its dependencies at
# install time took longer than the install itself (2 min of a 2.5-min torch
# install on CI's 2 cores); Python compiles the modules it imports on first use.
PIP_INSTALL := -m pip install --quiet --no-compile

.PHONY: setup demo test bench bench-peers readmes compile-cuda clean

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py $(wildcard csrc/*.cpp csrc/*.h csrc/cpu/*.cpp csrc/cpu/*.h csrc/cuda/*.cu csrc/cuda/*.h)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) $(PIP_INSTALL) --upgrade pip "setuptools>=77" wheel ninja numpy
	$(PY) -c "import torch" 2>/dev/null || $(PY) $(PIP_INSTALL) "$(TORCH_SPEC)"
	$(PY) $(PIP_INSTALL) --no-build-isolation -e ".[test]"
	$(PY) -c "import graphcl.ops as o; print('graphcl backend:', o.backend())"
	touch $(STAMP)

# The main job: HeCo on ACM end to end (1 seed: train, evaluate, table vs paper).
demo: setup
	GRAPHCL_MIRROR=$${GRAPHCL_MIRROR:-$(MIRROR)} $(VENV)/bin/graphcl train heco --dataset acm --seeds 1 \
		--out results/heco_acm.json --plot results/heco_acm.png --plot-embeddings results/heco_acm_embeddings.png

test: setup
	PY=$(PY) bash .ci/checks.sh
	GRAPHCL_MIRROR=$${GRAPHCL_MIRROR:-$(MIRROR)} $(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal tests

bench: setup
	$(PY) benchmarks/core/ops.py --threads 2 --out benchmarks/core/results/ops_cpu.json

# The same comparison with torch_scatter and torch_sparse, built from their
# PyPI sdists into .venv-peers against this torch (minutes; not part of test).
bench-peers: setup
	PY=$(PY) PEERS=.venv-peers bash benchmarks/core/build_peers.sh
	PYTHONPATH=$(CURDIR) .venv-peers/bin/python benchmarks/core/ops.py --threads 2 --out benchmarks/core/results/ops_cpu.json

# Regenerate benchmarks/<method>/README.md and README.md's methods table from
# the results JSON (make test fails while they are out of date).
readmes: setup
	$(PY) benchmarks/make_readmes.py

compile-cuda: setup
	PY=$(PY) bash .ci/checks.sh --compile-only

clean:
	rm -rf build $(VENV) .venv-peers graphcl/*.so *.egg-info
