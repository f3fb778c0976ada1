import os
from pathlib import Path

import pytest
import torch

from graphcl import ops

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("GRAPHCL_MIRROR", str(REPO.parent / "shared" / "data"))



def pytest_configure(config):
    # Under pytest-xdist (`make test` runs one worker per core) every worker is
    # its own process: one torch thread each, so the workers together use the
    # cores once instead of oversubscribing them.
    # Processes a test starts (CLI runs, fresh interpreters) inherit one
    # OpenMP thread too: on 2 threads beside the other worker, every parallel
    # region waits for a descheduled thread (a notebook ran 4x slower so).
    if os.environ.get("PYTEST_XDIST_WORKER"):
        torch.set_num_threads(1)
        os.environ["OMP_NUM_THREADS"] = "1"


BACKENDS = ["extension", "torch"] if ops.extension_available() else ["torch"]


@pytest.fixture
def one_thread():
    """The test runs on one torch thread (results measured that way); the
    previous count is restored after it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Runs a test once per available backend."""
    with ops.use_backend(request.param):
        yield request.param


def devices():
    out = ["cpu"]
    if torch.cuda.is_available():
        out.append("cuda")
    return out


def mirror_dir() -> Path:
    """The data mirror the tests read (GRAPHCL_MIRROR, default ../shared/data)."""
    configured = os.environ.get("GRAPHCL_MIRROR")
    return Path(configured) if configured else REPO.parent / "shared" / "data"


@pytest.fixture
def fresh_verification_cache():
    """Each test starts and ends with an empty sha256 verification cache."""
    from graphcl.datasets import _files
    _files._reset_verification_cache()
    yield
    _files._reset_verification_cache()
