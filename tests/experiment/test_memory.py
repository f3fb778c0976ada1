"""graphcl.experiment.memory.reuse_freed_memory: glibc's malloc keeps freed
blocks, and training gives bit-identical results with it (run in fresh
processes, since the setting is process-wide)."""
import io
import subprocess
import sys

import pytest
import torch

from graphcl.experiment.memory import reuse_freed_memory

SCRIPT = """
import io, sys, torch
from graphcl.experiment.memory import reuse_freed_memory
from graphcl.graph.hierarchy import ancestor_distance_groups
from graphcl.methods.dgp import DGP
torch.set_num_threads(1)
n = 4200
child = torch.arange(1, n)
groups = ancestor_distance_groups(torch.stack([child, (child - 1) // 3]), n, max_distance=2)
down, up = groups.stacked("descendants"), groups.stacked("ancestors")

def train():
    nan = torch.full((n, 2048), float("nan"))
    del nan  # 34 MB of NaN handed back to malloc: reused memory is not zero-filled
    torch.manual_seed(0)
    x, target = torch.randn(n, 8), torch.randn(100, 8)
    model = DGP(8, 2048, 8, num_groups=3)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3, weight_decay=5e-4)
    for _ in range(2):
        loss = ((model(x, down, up)[:100] - target) ** 2).sum()
        optimizer.zero_grad(); loss.backward(); optimizer.step()
    return model(x, down, up).detach()

default = train()
assert reuse_freed_memory()
buffer = io.BytesIO()
torch.save((default, train()), buffer)
sys.stdout.buffer.write(buffer.getvalue())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_training_is_bit_identical_with_reused_memory():
    # A fresh process: the setting is process-wide. [N, 2048] blocks exceed
    # glibc's 32 MB mmap threshold, so by default they are mmapped afresh.
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, check=True)
    default, reused = torch.load(io.BytesIO(out.stdout))
    assert torch.isfinite(default).all()
    assert torch.equal(default, reused)


def test_toggles_and_rejects_a_non_bool():
    applied = reuse_freed_memory(False)           # restore glibc's defaults
    assert applied == sys.platform.startswith("linux")
    assert reuse_freed_memory(False) == applied   # idempotent
    with pytest.raises(TypeError, match="enabled"):
        reuse_freed_memory("yes")
