import os
from pathlib import Path

import pytest
import torch

from graphcl import ops

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("GRAPHCL_MIRROR", str(REPO.parent / "shared" / "data"))

BACKENDS = ["extension", "torch"] if ops.extension_available() else ["torch"]


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
