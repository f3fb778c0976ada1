"""Blockwise multi-positive InfoNCE against the dense formula."""
import subprocess
import sys
import textwrap

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from graphcl.nn import MultiPositiveInfoNCE, multi_positive_infonce


def dense_infonce(anchor, sample, pos, tau, normalize=True):
    if normalize:
        anchor, sample = F.normalize(anchor, dim=1), F.normalize(sample, dim=1)
    sim = anchor @ sample.t() / tau
    return torch.logsumexp(sim, 1) - torch.log((pos * sim.exp()).sum(1))


def heco_formula(anchor, sample, pos, tau):
    """HeCo's own code path: exp(cos / tau), row-normalise (+1e-8), -log(sum over positives)."""
    sim = torch.exp(F.normalize(anchor, dim=1) @ F.normalize(sample, dim=1).t() / tau)
    sim = sim / (sim.sum(1, keepdim=True) + 1e-8)
    return -torch.log((sim * pos).sum(-1)).mean()


def random_mask(n, m, density, generator, weighted):
    mask = (torch.rand(n, m, generator=generator) < density).double()
    mask[torch.arange(n), torch.randint(0, m, (n,), generator=generator)] = 1.0
    if weighted:
        mask = mask * torch.rand(n, m, generator=generator, dtype=torch.float64) * 3
        mask[mask.sum(1) == 0, 0] = 1.0
    return mask


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 40), m=st.integers(1, 40), d=st.integers(1, 9),
       block=st.sampled_from([1, 3, 7, 16, 2048]), tau=st.floats(0.05, 2.0),
       layout=st.sampled_from(["bool", "float", "coo", "csr"]), seed=st.integers(0, 2**16),
       normalize=st.booleans())
def test_matches_dense_formula(n, m, d, block, tau, layout, seed, normalize):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    s = torch.randn(m, d, generator=g, dtype=torch.float64, requires_grad=True)
    mask = random_mask(n, m, 0.2, g, weighted=layout != "bool")
    arg = {"bool": mask.bool(), "float": mask, "coo": mask.to_sparse(),
           "csr": mask.to_sparse_csr()}[layout]
    loss = multi_positive_infonce(a, s, arg, tau, block_size=block, normalize=normalize,
                                  reduction="none")
    expected = dense_infonce(a, s, mask, tau, normalize)
    torch.testing.assert_close(loss, expected)
    w = torch.randn(n, generator=g, dtype=torch.float64)
    got = torch.autograd.grad((loss * w).sum(), (a, s))
    exp = torch.autograd.grad((expected * w).sum(), (a, s))
    for x, y in zip(got, exp):
        torch.testing.assert_close(x, y)


def test_same_tensor_as_anchor_and_sample():
    torch.manual_seed(0)
    z = torch.randn(20, 5, dtype=torch.float64, requires_grad=True)
    mask = torch.eye(20, dtype=torch.float64) + (torch.rand(20, 20) < 0.1).double()
    loss = multi_positive_infonce(z, z, mask, 0.5, block_size=6)
    torch.testing.assert_close(loss, dense_infonce(z, z, mask, 0.5).mean())
    g1 = torch.autograd.grad(loss, z)[0]
    g2 = torch.autograd.grad(dense_infonce(z, z, mask, 0.5).mean(), z)[0]
    torch.testing.assert_close(g1, g2)


def test_gradcheck_and_reductions():
    torch.manual_seed(1)
    a = torch.randn(9, 4, dtype=torch.float64, requires_grad=True)
    s = torch.randn(11, 4, dtype=torch.float64, requires_grad=True)
    mask = random_mask(9, 11, 0.3, torch.Generator().manual_seed(2), weighted=True).to_sparse()
    assert torch.autograd.gradcheck(
        lambda a, s: multi_positive_infonce(a, s, mask, 0.2, block_size=4, reduction="none"), (a, s))
    per_row = multi_positive_infonce(a, s, mask, 0.2, reduction="none")
    torch.testing.assert_close(multi_positive_infonce(a, s, mask, 0.2, reduction="sum"), per_row.sum())
    module = MultiPositiveInfoNCE(0.2, block_size=3)
    torch.testing.assert_close(module(a, s, mask), per_row.mean())


def test_agrees_with_heco_formula():
    torch.manual_seed(3)
    a, s = torch.randn(50, 16), torch.randn(50, 16)
    mask = random_mask(50, 50, 0.1, torch.Generator().manual_seed(4), weighted=False).float()
    torch.testing.assert_close(multi_positive_infonce(a, s, mask, 0.8, block_size=16),
                               heco_formula(a, s, mask, 0.8), rtol=1e-6, atol=1e-6)


def test_stable_at_small_temperature_in_float32():
    torch.manual_seed(5)
    a, s = torch.randn(64, 8), torch.randn(64, 8)
    mask = torch.eye(64)
    loss = multi_positive_infonce(a, s, mask, 0.05, block_size=10, reduction="none")
    assert torch.isfinite(loss).all()
    torch.testing.assert_close(loss, dense_infonce(a.double(), s.double(), mask.double(), 0.05).float(),
                               rtol=1e-4, atol=1e-4)


def test_errors():
    a, s, mask = torch.randn(4, 3), torch.randn(5, 3), torch.ones(4, 5)
    with pytest.raises(ValueError, match=r"pos_mask must have shape \[4, 5\]"):
        multi_positive_infonce(a, s, torch.ones(5, 4), 0.5)
    with pytest.raises(ValueError, match="anchor has dimension 3 but sample has 2"):
        multi_positive_infonce(a, torch.randn(5, 2), mask, 0.5)
    with pytest.raises(ValueError, match="tau must be positive"):
        multi_positive_infonce(a, s, mask, 0.0)
    with pytest.raises(ValueError, match="negative entries"):
        multi_positive_infonce(a, s, -mask, 0.5)
    bad = torch.ones(4, 5)
    bad[2] = 0
    with pytest.raises(ValueError, match=r"1 anchor rows have no positive.*row 2"):
        multi_positive_infonce(a, s, bad, 0.5)
    with pytest.raises(ValueError, match="anchor contains NaN"):
        multi_positive_infonce(torch.full((4, 3), float("nan")), s, mask, 0.5)
    with pytest.raises(TypeError, match="anchor has dtype torch.float32 but sample has torch.float64"):
        multi_positive_infonce(a, s.double(), mask, 0.5)
    with pytest.raises(ValueError, match="block_size must be at least 1"):
        multi_positive_infonce(a, s, mask, 0.5, block_size=0)
    with pytest.raises(ValueError, match="reduction must be one of"):
        multi_positive_infonce(a, s, mask, 0.5, reduction="max")


def _peak_rss_growth_mb(n, d, with_loss):
    code = textwrap.dedent(f"""
        import resource, torch
        from graphcl.nn import multi_positive_infonce
        torch.manual_seed(0)
        a = torch.randn({n}, {d}, requires_grad=True)
        s = torch.randn({n}, {d}, requires_grad=True)
        idx = torch.arange({n})
        mask = torch.sparse_coo_tensor(torch.stack([idx, (idx + 1) % {n}]), torch.ones({n}), ({n}, {n}))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if {with_loss}:
            multi_positive_infonce(a, s, mask, 0.5, block_size=1024).backward()
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_memory_is_not_quadratic():
    """N = 20,000: a dense N x N float32 similarity alone is 1,526 MB; the
    blockwise loss (forward + backward) must stay far below it."""
    n = 20_000
    growth = _peak_rss_growth_mb(n, 64, True) - _peak_rss_growth_mb(n, 64, False)
    dense_mb = n * n * 4 / 2**20
    assert growth < dense_mb / 10, f"peak RSS grew {growth:.0f} MB (dense matrix: {dense_mb:.0f} MB)"
