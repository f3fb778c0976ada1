"""Blockwise multi-positive InfoNCE against a straightforward dense formula
written out here (full similarity matrix + torch.logsumexp)."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphcl.nn import MultiPositiveInfoNCE, multi_positive_infonce
from graphcl.nn.contrast._blockwise import BlockwiseInfoNCE

REPO = Path(__file__).resolve().parents[3]
pytestmark = [pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta state"),
              pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled")]
LAYOUTS = ["bool", "float", "coo", "csr"]


# --------------------------------------------------------------------------- #
# Independent references
# --------------------------------------------------------------------------- #
def dense_infonce(anchor, sample, pos, tau, normalize=True):
    """loss_i = logsumexp_j s_ij - log sum_j P_ij exp(s_ij) on the full N x M matrix."""
    if normalize:
        anchor = anchor / anchor.norm(dim=1, keepdim=True)
        sample = sample / sample.norm(dim=1, keepdim=True)
    sim = anchor @ sample.t() / tau
    return torch.logsumexp(sim, 1) - torch.logsumexp(sim + pos.to(sim.dtype).log(), 1)


def heco_loss(z_mp, z_sc, pos, tau, lam):
    """HeCo's Contrast.forward (without the projection head), verbatim in spirit:
    exp(cos / tau), row-normalise with +1e-8, -log of the positives' mass."""
    def sim(z1, z2):
        num = z1 @ z2.t()
        den = z1.norm(dim=-1, keepdim=True) @ z2.norm(dim=-1, keepdim=True).t()
        return torch.exp(num / den / tau)

    mp2sc = sim(z_mp, z_sc)
    sc2mp = mp2sc.t()
    mp2sc = mp2sc / (mp2sc.sum(dim=1).view(-1, 1) + 1e-8)
    lori_mp = -torch.log(mp2sc.mul(pos).sum(dim=-1)).mean()
    sc2mp = sc2mp / (sc2mp.sum(dim=1).view(-1, 1) + 1e-8)
    lori_sc = -torch.log(sc2mp.mul(pos).sum(dim=-1)).mean()
    return lam * lori_mp + (1 - lam) * lori_sc


def random_mask(n, m, density, g, weighted, dtype=torch.float64):
    """Random positives (at least one per row); weights in (0, 3] when weighted."""
    mask = (torch.rand(n, m, generator=g) < density).to(dtype)
    mask[torch.arange(n), torch.randint(0, m, (n,), generator=g)] = 1.0
    if weighted:
        mask = mask * (0.05 + 2.95 * torch.rand(n, m, generator=g, dtype=dtype))
    return mask


def as_layout(mask, layout):
    if layout == "bool":
        return mask > 0
    if layout == "float":
        return mask
    if layout == "coo":
        return mask.to_sparse()
    if layout == "csr":
        return mask.to_sparse_csr()
    if layout == "coo_uncoalesced":  # every entry split in two halves, shuffled
        idx = mask.nonzero().t()
        vals = mask[idx[0], idx[1]] / 2
        perm = torch.randperm(2 * vals.numel(), generator=torch.Generator().manual_seed(0))
        return torch.sparse_coo_tensor(torch.cat([idx, idx], 1)[:, perm],
                                       torch.cat([vals, vals])[perm], mask.shape)
    raise AssertionError(layout)


def value_and_grads(fn, a, s, w):
    out = fn(a, s)
    grads = torch.autograd.grad((out * w).sum(), (a, s))
    return out, grads


def assert_matches_dense(a, s, mask, layout, tau, block, normalize, rtol=None, atol=None):
    w = torch.randn(a.size(0), dtype=a.dtype, generator=torch.Generator().manual_seed(1))
    got, got_g = value_and_grads(
        lambda x, y: multi_positive_infonce(x, y, as_layout(mask, layout), tau, block_size=block,
                                            normalize=normalize, reduction="none"), a, s, w)
    exp, exp_g = value_and_grads(lambda x, y: dense_infonce(x, y, mask, tau, normalize), a, s, w)
    torch.testing.assert_close(got, exp, rtol=rtol, atol=atol)
    for g1, g2 in zip(got_g, exp_g):
        torch.testing.assert_close(g1, g2, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------- #
# Value and gradient against the dense formula
# --------------------------------------------------------------------------- #
@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 37), m=st.integers(1, 41), d=st.integers(1, 9),
       block=st.sampled_from([1, 2, 3, 7, 16, 64, (1, 5), (4, 3), (16, 1), (5, 64)]),
       tau=st.floats(0.05, 2.0), layout=st.sampled_from(LAYOUTS + ["coo_uncoalesced"]),
       density=st.sampled_from([0.0, 0.1, 0.5, 1.0]), weighted=st.booleans(),
       normalize=st.booleans(), seed=st.integers(0, 2**16))
def test_matches_dense_formula(n, m, d, block, tau, layout, density, weighted, normalize, seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    s = torch.randn(m, d, generator=g, dtype=torch.float64, requires_grad=True)
    mask = random_mask(n, m, density, g, weighted=weighted and layout != "bool")
    assert_matches_dense(a, s, mask, layout, tau, block, normalize)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("block", [1, 6, 13, 64, (7, 5), (128, 11)])
def test_blocks_that_do_not_divide_n_and_n_ne_m(layout, block):
    g = torch.Generator().manual_seed(7)
    n, m = 50, 33  # 50 = 3 * 13 + 11 = 8 * 6 + 2; 33 = 2 * 13 + 7 ...
    a = torch.randn(n, 6, generator=g, dtype=torch.float64, requires_grad=True)
    s = torch.randn(m, 6, generator=g, dtype=torch.float64, requires_grad=True)
    mask = random_mask(n, m, 0.15, g, weighted=layout != "bool")
    assert_matches_dense(a, s, mask, layout, 0.3, block, normalize=True)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_float32_matches_float64_reference(layout):
    g = torch.Generator().manual_seed(3)
    a = torch.randn(300, 16, generator=g, requires_grad=True)
    s = torch.randn(257, 16, generator=g, requires_grad=True)
    mask = random_mask(300, 257, 0.02, g, weighted=layout != "bool", dtype=torch.float32)
    w = torch.rand(300, generator=g)
    got, got_g = value_and_grads(lambda x, y: multi_positive_infonce(
        x, y, as_layout(mask, layout), 0.1, block_size=(64, 100), reduction="none"), a, s, w)
    a64, s64 = a.detach().double().requires_grad_(), s.detach().double().requires_grad_()
    exp, exp_g = value_and_grads(lambda x, y: dense_infonce(x, y, mask.double(), 0.1), a64, s64,
                                 w.double())
    torch.testing.assert_close(got.double(), exp, rtol=1e-5, atol=1e-5)
    for g1, g2 in zip(got_g, exp_g):
        torch.testing.assert_close(g1.double(), g2, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("variant", ["dense_float64", "dense_int", "dense_uint8", "coo_bool",
                                     "coo_int", "csr_float64", "coo_extreme_weights",
                                     "dense_extreme_weights"])
def test_mask_dtypes_with_float32_embeddings(variant):
    """The mask's dtype need not match the embeddings'; weights spanning
    1e-30 .. 1e30 must neither overflow nor underflow."""
    g = torch.Generator().manual_seed(12)
    a = torch.randn(30, 6, generator=g, requires_grad=True)
    s = torch.randn(26, 6, generator=g, requires_grad=True)
    mask = random_mask(30, 26, 0.2, g, weighted=False)
    if "extreme" in variant:
        mask = mask * 10.0 ** torch.randint(-30, 31, mask.shape, generator=g).double()
    layout, dtype = variant.split("_", 1)
    arg = {"float64": mask, "int": mask.long(), "uint8": mask.to(torch.uint8),
           "bool": mask > 0, "extreme_weights": mask}[dtype]
    if layout == "coo":
        arg = arg.to_sparse()
    elif layout == "csr":
        arg = arg.to_sparse_csr()
    w = torch.rand(30, generator=g)
    got, got_g = value_and_grads(lambda x, y: multi_positive_infonce(
        x, y, arg, 0.1, block_size=(8, 7), reduction="none"), a, s, w)
    a64, s64 = a.detach().double().requires_grad_(), s.detach().double().requires_grad_()
    exp, exp_g = value_and_grads(lambda x, y: dense_infonce(x, y, mask, 0.1), a64, s64, w.double())
    torch.testing.assert_close(got.double(), exp, rtol=1e-5, atol=1e-4)
    for g1, g2 in zip(got_g, exp_g):
        torch.testing.assert_close(g1.double(), g2, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("layout", ["float", "coo"])
def test_same_tensor_as_anchor_and_sample(normalize, layout):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(23, 5, generator=g, dtype=torch.float64, requires_grad=True)
    mask = torch.eye(23, dtype=torch.float64) + random_mask(23, 23, 0.1, g, weighted=True)
    loss = multi_positive_infonce(z, z, as_layout(mask, layout), 0.5, block_size=6,
                                  normalize=normalize)
    expected = dense_infonce(z, z, mask, 0.5, normalize).mean()
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(torch.autograd.grad(loss, z)[0], torch.autograd.grad(expected, z)[0])


def test_reductions_module_and_partial_gradients():
    g = torch.Generator().manual_seed(2)
    a = torch.randn(9, 4, generator=g, dtype=torch.float64, requires_grad=True)
    s = torch.randn(11, 4, generator=g, dtype=torch.float64)  # no gradient wanted for s
    mask = random_mask(9, 11, 0.3, g, weighted=True).to_sparse()
    per_row = multi_positive_infonce(a, s, mask, 0.2, reduction="none")
    assert per_row.shape == (9,)
    torch.testing.assert_close(multi_positive_infonce(a, s, mask, 0.2, reduction="sum"),
                               per_row.sum())
    module = MultiPositiveInfoNCE(0.2, block_size=(3, 4))
    assert "tau=0.2" in repr(module) and "block_size=(3, 4)" in repr(module)
    loss = module(a, s, mask)
    torch.testing.assert_close(loss, per_row.mean())
    loss.backward()
    expected = torch.autograd.grad(dense_infonce(a, s, mask.to_dense(), 0.2).mean(), a)[0]
    torch.testing.assert_close(a.grad, expected)


def test_tensor_tau_gets_a_gradient():
    g = torch.Generator().manual_seed(4)
    a = torch.randn(12, 5, generator=g, dtype=torch.float64)
    s = torch.randn(10, 5, generator=g, dtype=torch.float64)
    mask = random_mask(12, 10, 0.2, g, weighted=False)
    tau = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    loss = multi_positive_infonce(a, s, mask.to_sparse(), tau, block_size=4)
    got = torch.autograd.grad(loss, tau)
    exp = torch.autograd.grad(dense_infonce(a, s, mask, tau).mean(), tau)
    torch.testing.assert_close(got, exp)


def test_low_precision_inputs_are_computed_in_float32():
    g = torch.Generator().manual_seed(5)
    a = torch.randn(20, 8, generator=g).bfloat16().requires_grad_()
    s = torch.randn(15, 8, generator=g).bfloat16().requires_grad_()
    mask = random_mask(20, 15, 0.2, g, weighted=False)
    loss = multi_positive_infonce(a, s, mask.bool(), 0.5, block_size=7)
    assert loss.dtype == torch.bfloat16
    loss.backward()
    assert a.grad.dtype == torch.bfloat16 and s.grad.dtype == torch.bfloat16
    expected = dense_infonce(a.detach().double(), s.detach().double(), mask, 0.5).mean()
    torch.testing.assert_close(loss.double(), expected, rtol=2e-2, atol=2e-2)


# --------------------------------------------------------------------------- #
# gradcheck of the autograd Function itself (float64)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("kind", ["dense", "sparse"])
@pytest.mark.parametrize("blocks", [(1, 1), (3, 4), (64, 64)])
def test_gradcheck_autograd_function(kind, blocks):
    g = torch.Generator().manual_seed(6)
    a = torch.randn(7, 3, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(9, 3, generator=g, dtype=torch.float64, requires_grad=True)
    mask = random_mask(7, 9, 0.3, g, weighted=True)
    if kind == "dense":
        args = (mask, None, None, None)
    else:
        rows, cols = mask.nonzero(as_tuple=True)
        args = (None, rows, cols, mask[rows, cols])

    def fn(x, y):
        return BlockwiseInfoNCE.apply(x, y, *args, *blocks, None)

    assert torch.autograd.gradcheck(fn, (a, b))
    torch.testing.assert_close(fn(a, b), dense_infonce(a, b, mask, 1.0, normalize=False))


def test_gradcheck_full_functional_with_normalisation():
    g = torch.Generator().manual_seed(8)
    a = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    s = torch.randn(8, 4, generator=g, dtype=torch.float64, requires_grad=True)
    mask = random_mask(6, 8, 0.3, g, weighted=True).to_sparse_csr()
    assert torch.autograd.gradcheck(
        lambda x, y: multi_positive_infonce(x, y, mask, 0.4, block_size=(4, 3), reduction="none"),
        (a, s))


# --------------------------------------------------------------------------- #
# A constant self-similarity (Graph-MLP / SCGC's Ncontrast)
# --------------------------------------------------------------------------- #
def ncontrast_loss(z, target, tau_multiplier):
    """Graph-MLP's Ncontrast, written out densely: cosine matrix with a zeroed
    diagonal, exp(tau * cos), -log(positives' mass / row sum) per row."""
    norms = z.norm(dim=1, keepdim=True)
    cos = (z @ z.t()) / (norms @ norms.t())
    cos = cos * (1 - torch.eye(z.size(0), dtype=z.dtype))
    e = torch.exp(tau_multiplier * cos)
    return -torch.log((e * target).sum(1) / e.sum(1))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("block", [1, (3, 5), 64])
def test_zero_diagonal_matches_ncontrast(layout, block):
    g = torch.Generator().manual_seed(11)
    z = torch.randn(13, 4, generator=g, dtype=torch.float64, requires_grad=True)
    target = random_mask(13, 13, 0.2, g, weighted=layout != "bool")
    target.fill_diagonal_(0.7 if layout != "bool" else 1.0)  # self loops are positives
    w = torch.randn(13, dtype=torch.float64, generator=g)
    got = multi_positive_infonce(z, z, as_layout(target, layout), 1 / 0.25, block_size=block,
                                 reduction="none", diagonal=0.0)
    exp = ncontrast_loss(z, target, 0.25)
    torch.testing.assert_close(got, exp)
    torch.testing.assert_close(torch.autograd.grad((got * w).sum(), z)[0],
                               torch.autograd.grad((exp * w).sum(), z)[0])


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_gradcheck_with_constant_diagonal(kind):
    g = torch.Generator().manual_seed(12)
    a = torch.randn(8, 3, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(8, 3, generator=g, dtype=torch.float64, requires_grad=True)
    mask = random_mask(8, 8, 0.3, g, weighted=True)
    mask.fill_diagonal_(1.0)
    if kind == "dense":
        args = (mask, None, None, None)
    else:
        rows, cols = mask.nonzero(as_tuple=True)
        args = (None, rows, cols, mask[rows, cols])
    assert torch.autograd.gradcheck(
        lambda x, y: BlockwiseInfoNCE.apply(x, y, *args, 3, 5, -0.4), (a, b))


def test_diagonal_exact_path_for_huge_losses():
    # Positives far below the row maximum take the exact recomputation path.
    z = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.01]], dtype=torch.float32)
    mask = torch.tensor([[0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=torch.float32)
    got = multi_positive_infonce(z, z, mask, 0.01, reduction="none", diagonal=0.0)
    exp = ncontrast_loss(z.double(), mask.double(), 100.0)
    torch.testing.assert_close(got.double(), exp, rtol=1e-4, atol=1e-3)


def test_diagonal_errors():
    z = torch.randn(4, 3)
    mask = torch.eye(4)
    with pytest.raises(ValueError, match="same number of rows"):
        multi_positive_infonce(z, torch.randn(5, 3), torch.ones(4, 5), 0.5, diagonal=0.0)
    with pytest.raises(TypeError, match="diagonal"):
        multi_positive_infonce(z, z, mask, 0.5, diagonal="zero")
    with pytest.raises(TypeError, match="diagonal"):
        multi_positive_infonce(z, z, mask, 0.5, diagonal=float("nan"))
    tau = torch.tensor(0.5, requires_grad=True)
    with pytest.raises(ValueError, match="tau"):
        multi_positive_infonce(z, z, mask, tau, diagonal=0.3)


# --------------------------------------------------------------------------- #
# HeCo's formula
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("tau", [0.5, 0.8])
@pytest.mark.parametrize("layout", ["float", "coo"])
def test_agrees_with_heco_formula(tau, layout):
    g = torch.Generator().manual_seed(9)
    z_mp = torch.randn(60, 16, generator=g, dtype=torch.float64, requires_grad=True)
    z_sc = torch.randn(60, 16, generator=g, dtype=torch.float64, requires_grad=True)
    pos = torch.eye(60, dtype=torch.float64) + random_mask(60, 60, 0.05, g, weighted=False)
    pos = (pos > 0).double()
    lam = 0.5
    ours = (lam * multi_positive_infonce(z_mp, z_sc, as_layout(pos, layout), tau, block_size=16)
            + (1 - lam) * multi_positive_infonce(z_sc, z_mp, as_layout(pos, layout), tau,
                                                  block_size=16))
    ref = heco_loss(z_mp, z_sc, pos, tau, lam)
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-6)
    inputs = (z_mp, z_sc)
    for g1, g2 in zip(torch.autograd.grad(ours, inputs), torch.autograd.grad(ref, inputs)):
        torch.testing.assert_close(g1, g2, rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- #
# Numerical stability (float32)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("layout", ["float", "bool", "coo"])
@pytest.mark.parametrize("tau,normalize,scale", [(0.05, True, 1.0), (0.02, True, 1.0),
                                                 (1.0, False, 30.0), (0.05, False, 5.0)])
def test_float32_stable_small_tau_and_huge_losses(layout, tau, normalize, scale):
    """Positives anti-aligned with their anchors give row losses up to
    ~2/tau (~100 at tau = 0.02, ~28,000 for raw dot products): exp() of the
    scores overflows and the positives' mass underflows in float32 without a
    per-row shift; the exact fallback rows must agree with float64."""
    g = torch.Generator().manual_seed(10)
    n, m = 40, 50
    a = torch.randn(n, 8, generator=g)
    s = torch.randn(m, 8, generator=g)
    s[:10] = -a[:10] + 0.01 * torch.randn(10, 8, generator=g)
    mask = torch.zeros(n, m)
    mask[torch.arange(n), torch.arange(n)] = 1.0
    a, s = (a * scale).requires_grad_(), (s * scale).requires_grad_()
    w = torch.rand(n, generator=g)
    got, got_g = value_and_grads(lambda x, y: multi_positive_infonce(
        x, y, as_layout(mask, layout), tau, normalize=normalize, block_size=(7, 9),
        reduction="none"), a, s, w)
    a64, s64 = a.detach().double().requires_grad_(), s.detach().double().requires_grad_()
    exp, exp_g = value_and_grads(lambda x, y: dense_infonce(x, y, mask.double(), tau, normalize),
                                 a64, s64, w.double())
    assert torch.isfinite(got).all() and all(torch.isfinite(x).all() for x in got_g)
    torch.testing.assert_close(got.double(), exp, rtol=1e-5, atol=1e-4)
    for g1, g2 in zip(got_g, exp_g):
        torch.testing.assert_close(g1.double(), g2, rtol=1e-4, atol=1e-4 * float(g2.abs().max()))


# --------------------------------------------------------------------------- #
# Input validation
# --------------------------------------------------------------------------- #
def test_errors_name_the_argument():
    a, s, mask = torch.randn(4, 3), torch.randn(5, 3), torch.ones(4, 5)
    f = multi_positive_infonce
    with pytest.raises(ValueError, match=r"pos_mask must have shape \[N, M\] = \[4, 5\]"):
        f(a, s, torch.ones(5, 4), 0.5)
    with pytest.raises(ValueError, match=r"pos_mask must have shape"):
        f(a, s, torch.ones(5, 4).to_sparse(), 0.5)
    with pytest.raises(TypeError, match="pos_mask must be a torch.Tensor"):
        f(a, s, [[1.0] * 5] * 4, 0.5)
    with pytest.raises(ValueError, match="anchor must have shape"):
        f(torch.randn(4), s, mask, 0.5)
    with pytest.raises(ValueError, match="same number of channels, got 3 and 2"):
        f(a, torch.randn(5, 2), mask, 0.5)
    with pytest.raises(TypeError, match="sample must be a floating-point tensor"):
        f(a, torch.ones(5, 3, dtype=torch.long), mask, 0.5)
    with pytest.raises(TypeError, match="same dtype, got torch.float32 and torch.float64"):
        f(a, s.double(), mask, 0.5)
    for tau in (0.0, -1.0, float("nan"), float("inf"), torch.tensor(-0.1)):
        with pytest.raises(ValueError, match="tau must be a finite number > 0"):
            f(a, s, mask, tau)
    with pytest.raises(TypeError, match="tau must be a positive number"):
        f(a, s, mask, "0.5")
    for bad_mask in (-mask, mask.to_sparse() * -1, (-mask).to_sparse_csr()):
        with pytest.raises(ValueError, match="pos_mask has negative entries"):
            f(a, s, bad_mask, 0.5)
    nan_mask = mask.clone()
    nan_mask[1, 2] = float("nan")
    with pytest.raises(ValueError, match="pos_mask contains NaN or Inf"):
        f(a, s, nan_mask, 0.5)
    for layout in LAYOUTS:
        empty_rows = mask.clone()
        empty_rows[2] = 0
        empty_rows[3] = 0
        with pytest.raises(ValueError, match=r"pos_mask has 2 row\(s\) without any positive "
                                             r"entry \(first: row 2\)"):
            f(a, s, as_layout(empty_rows, layout), 0.5)
    zero_weight = torch.sparse_coo_tensor(torch.tensor([[0, 1, 2, 3], [0, 0, 0, 0]]),
                                          torch.tensor([1.0, 0.0, 1.0, 1.0]), (4, 5))
    with pytest.raises(ValueError, match=r"1 row\(s\) without any positive entry \(first: row 1\)"):
        f(a, s, zero_weight, 0.5)
    with pytest.raises(ValueError, match="sparse COO\\) has indices outside"):
        f(a, s, torch.sparse_coo_tensor(torch.tensor([[0, 9], [0, 0]]), torch.ones(2), (4, 5)), 0.5)
    for name, x, y in (("anchor", a.clone().fill_(float("nan")), s),
                       ("sample", a, torch.cat([s[:4], torch.tensor([[float("nan"), 0, 0]])]))):
        with pytest.raises(ValueError, match=f"{name} contains NaN or Inf"):
            f(x, y, mask, 0.5)
    for block in (0, -3, (4, 0)):
        with pytest.raises(ValueError, match="block_size must be >= 1"):
            f(a, s, mask, 0.5, block_size=block)
    with pytest.raises(TypeError, match="block_size must be an int"):
        f(a, s, mask, 0.5, block_size=2.5)
    with pytest.raises(ValueError, match="reduction must be one of"):
        f(a, s, mask, 0.5, reduction="max")
    with pytest.raises(ValueError, match="need at least one row"):
        f(torch.randn(0, 3), s, torch.ones(0, 5), 0.5)
    with pytest.raises(TypeError, match="layout"):
        f(a, s, mask.to_sparse_csc(), 0.5)
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        MultiPositiveInfoNCE(0.5, block_size=0)
    with pytest.raises(ValueError, match="tau must be a finite number > 0"):
        MultiPositiveInfoNCE(0.0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu_and_rejects_mixed_devices():
    g = torch.Generator().manual_seed(11)
    a = torch.randn(70, 8, generator=g, dtype=torch.float64, requires_grad=True)
    s = torch.randn(60, 8, generator=g, dtype=torch.float64, requires_grad=True)
    mask = random_mask(70, 60, 0.1, g, weighted=True)
    w = torch.rand(70, generator=g, dtype=torch.float64)
    for layout in LAYOUTS:
        cpu, cpu_g = value_and_grads(lambda x, y: multi_positive_infonce(
            x, y, as_layout(mask, layout), 0.2, block_size=16, reduction="none"), a, s, w)
        ac, sc = a.detach().cuda().requires_grad_(), s.detach().cuda().requires_grad_()
        gpu, gpu_g = value_and_grads(lambda x, y: multi_positive_infonce(
            x, y, as_layout(mask, layout).cuda(), 0.2, block_size=16, reduction="none"), ac, sc,
            w.cuda())
        torch.testing.assert_close(gpu.cpu(), cpu)
        for g1, g2 in zip(gpu_g, cpu_g):
            torch.testing.assert_close(g1.cpu(), g2)
    with pytest.raises(ValueError, match="pos_mask is on"):
        multi_positive_infonce(a.cuda(), s.cuda(), mask, 0.2)
    with pytest.raises(ValueError, match="same device"):
        multi_positive_infonce(a, s.cuda(), mask, 0.2)


# --------------------------------------------------------------------------- #
# Memory: O(N * block), not O(N^2)
# --------------------------------------------------------------------------- #
_MEMORY_SCRIPT = textwrap.dedent("""
    import json, resource, sys
    import torch
    from graphcl.nn import multi_positive_infonce
    n, d, mask_kind, run_loss = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
    torch.manual_seed(0)
    a = torch.randn(n, d, requires_grad=True)
    s = torch.randn(n, d, requires_grad=True)
    idx = torch.arange(n)
    if mask_kind == "sparse":
        rows = idx.repeat_interleave(5)
        cols = torch.randint(0, n, (5 * n,))
        cols[::5] = idx
        mask = torch.sparse_coo_tensor(torch.stack([rows, cols]), torch.ones(5 * n), (n, n))
    else:  # a dense bool mask is itself N^2 bytes; it is in the baseline too
        mask = torch.zeros(n, n, dtype=torch.bool)
        mask[idx, idx] = True
        mask[idx, (idx + 1) % n] = True
    if run_loss:
        loss = multi_positive_infonce(a, s, mask, 0.5, block_size=2048)
        loss.backward()
        assert torch.isfinite(loss) and a.grad is not None and s.grad is not None
    else:  # the same gradient buffers, without the loss
        a.grad, s.grad = torch.zeros_like(a), torch.zeros_like(s)
    print(json.dumps({"peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
""")


def _peak_rss_bytes(n, d, mask_kind, run_loss):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(n), str(d), mask_kind,
                           "1" if run_loss else "0"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])["peak_kb"] * 1024  # Linux: kB


@pytest.mark.slow
@pytest.mark.parametrize("mask_kind", ["sparse", "dense"])
def test_peak_memory_is_far_below_dense(mask_kind):
    """N = 20,000, d = 64: a dense implementation needs at least one N x N
    float32 matrix (1.5 GiB, plus as much again for autograd). The loss's
    forward + backward must add only O(N * block): here < 10% of that."""
    n, d = 20_000, 64
    baseline = _peak_rss_bytes(n, d, mask_kind, run_loss=False)
    with_loss = _peak_rss_bytes(n, d, mask_kind, run_loss=True)
    growth = with_loss - baseline
    dense_bytes = 4 * n * n
    mib = 2**20
    print(f"{mask_kind}: peak RSS {with_loss / mib:.0f} MiB vs baseline {baseline / mib:.0f} MiB "
          f"(+{growth / mib:.0f} MiB; one dense N x N float32 matrix: {dense_bytes / mib:.0f} MiB)")
    assert growth < dense_bytes / 10


# --------------------------------------------------------------------------- #
# Extreme magnitudes: huge/tiny embeddings, tiny tau, extreme mask weights
# --------------------------------------------------------------------------- #
def _float64_reference(a, s, mask, tau, w, normalize=True):
    a64, s64 = a.detach().double().requires_grad_(), s.detach().double().requires_grad_()
    return value_and_grads(lambda x, y: dense_infonce(x, y, mask.double(), tau, normalize),
                           a64, s64, w.double())


def _assert_close_to_reference(got, got_g, exp, exp_g, rtol=1e-5):
    assert torch.isfinite(got).all() and all(torch.isfinite(g).all() for g in got_g)
    got, exp = got.detach(), exp.detach()
    torch.testing.assert_close(got.double(), exp, rtol=rtol, atol=rtol * float(exp.abs().max()))
    for g1, g2 in zip(got_g, exp_g):
        torch.testing.assert_close(g1.double(), g2, rtol=rtol, atol=rtol * float(g2.abs().max()))


def test_unit_rows_is_f_normalize_for_ordinary_rows():
    """The power-of-two pre-scaling is exact: ordinary rows normalise bit for
    bit as F.normalize does (so HeCo/SCGC results do not move)."""
    from graphcl.nn.contrast._numerics import unit_rows
    g = torch.Generator().manual_seed(20)
    for dtype in (torch.float32, torch.float64):
        x = torch.randn(500, 33, generator=g, dtype=dtype) * 3
        x[7] = 0.0  # an all-zero row stays zero
        assert torch.equal(unit_rows(x), torch.nn.functional.normalize(x, dim=1))


@pytest.mark.parametrize("scale", [1e30, 1e-30, 1e-35])
@pytest.mark.parametrize("layout", ["float", "coo"])
def test_huge_and_tiny_embeddings_match_float64(scale, layout):
    """float32 rows with entries ~1e30 have an Inf squared norm (F.normalize
    gives 0); entries ~1e-30 an underflowed one. Cosine similarity does not
    depend on the scale: the loss and gradients (~1/scale) must be float64's."""
    g = torch.Generator().manual_seed(21)
    a = (torch.randn(30, 6, generator=g) * scale).requires_grad_()
    s = (torch.randn(26, 6, generator=g) * scale).requires_grad_()
    mask = random_mask(30, 26, 0.2, g, weighted=True, dtype=torch.float32)
    w = torch.rand(30, generator=g)
    got, got_g = value_and_grads(lambda x, y: multi_positive_infonce(
        x, y, as_layout(mask, layout), 0.5, block_size=(8, 7), reduction="none"), a, s, w)
    exp, exp_g = _float64_reference(a, s, mask, 0.5, w)
    _assert_close_to_reference(got, got_g, exp, exp_g, rtol=1e-4)


@pytest.mark.parametrize("dtype,tau", [(torch.float32, 1e-37), (torch.float32, 1e-10),
                                       (torch.float64, 1e-20), (torch.float64, 1e-39),
                                       (torch.float64, 1e-300)])
@pytest.mark.parametrize("layout", ["float", "coo"])
@pytest.mark.parametrize("block", [7, 2048])
def test_tiny_tau_is_finite_and_correct(dtype, tau, layout, block):
    """Scores cos/tau up to 1e300: the loss (~1/tau) and the gradients must be
    finite and agree with the dense float64 formula (the backward pass must
    recompute the forward's scores bit for bit, or exp() of a last-bit
    difference of a 1e20 score overflows)."""
    g = torch.Generator().manual_seed(22)
    a = torch.randn(40, 8, generator=g, dtype=dtype, requires_grad=True)
    s = torch.randn(40, 8, generator=g, dtype=dtype, requires_grad=True)
    mask = random_mask(40, 40, 0.1, g, weighted=True, dtype=dtype)
    w = torch.rand(40, generator=g, dtype=dtype)
    got, got_g = value_and_grads(lambda x, y: multi_positive_infonce(
        x, y, as_layout(mask, layout), tau, block_size=block, reduction="none"), a, s, w)
    exp, exp_g = _float64_reference(a, s, mask, tau, w)
    _assert_close_to_reference(got, got_g, exp, exp_g,
                               rtol=1e-5 if dtype == torch.float32 else 1e-12)


def test_tau_too_small_for_the_dtype_is_refused():
    a, s, mask = torch.randn(4, 3), torch.randn(5, 3), torch.ones(4, 5)
    for tau in (1e-39, 1e-45, torch.tensor(1e-39, dtype=torch.float64)):
        with pytest.raises(ValueError, match=r"tau = 1e-\d+ is too small for torch.float32"):
            multi_positive_infonce(a, s, mask, tau)
    with pytest.raises(ValueError, match="tau = 1e-39 is too small for torch.float32"):
        multi_positive_infonce(a.half(), s.half(), mask, 1e-39)  # computed in float32
    with pytest.raises(ValueError, match="tau = 1e-308 is too small for torch.float64"):
        multi_positive_infonce(a.double(), s.double(), mask, 1e-308)
    # a tau that requires grad: dloss/dtau ~ 1/tau^2 must fit as well
    with pytest.raises(ValueError, match="tau .*requires grad.* is too small"):
        multi_positive_infonce(a, s, mask, torch.tensor(1e-25, requires_grad=True))
    for bad in (torch.tensor(True), torch.tensor(0.5 + 0j)):
        with pytest.raises(TypeError, match="tau must be a real number"):
            multi_positive_infonce(a, s, mask, bad)


def test_tensor_tau_near_its_limit_gets_a_finite_gradient():
    g = torch.Generator().manual_seed(23)
    a = torch.randn(30, 8, generator=g, dtype=torch.float64)
    s = torch.randn(30, 8, generator=g, dtype=torch.float64)
    mask = random_mask(30, 30, 0.2, g, weighted=False)
    for value in (1e-19, 1e-150):
        tau = torch.tensor(value, dtype=torch.float64, requires_grad=True)
        got = torch.autograd.grad(multi_positive_infonce(a, s, mask, tau), tau)[0]
        exp = torch.autograd.grad(dense_infonce(a, s, mask, tau).mean(), tau)[0]
        assert torch.isfinite(got)
        torch.testing.assert_close(got, exp, rtol=1e-10, atol=0)


def test_raw_dot_products_that_overflow_are_reported():
    g = torch.Generator().manual_seed(24)
    a, s = torch.randn(6, 4, generator=g) * 1e20, torch.randn(5, 4, generator=g) * 1e20
    with pytest.raises(ValueError, match=r"dot products <anchor_i, sample_j> / tau overflow "
                                         r"torch.float32 \(normalize=False\)"):
        multi_positive_infonce(a, s, torch.ones(6, 5), 0.5, normalize=False)
    # the same inputs with cosine similarity are fine
    assert torch.isfinite(multi_positive_infonce(a, s, torch.ones(6, 5), 0.5))


@pytest.mark.parametrize("layout", ["float", "coo"])
def test_float64_mask_weights_below_float32_range(layout):
    """Weights of 1e-300 underflow a float32 tile; their log does not."""
    g = torch.Generator().manual_seed(25)
    a = torch.randn(20, 6, generator=g, requires_grad=True)
    s = torch.randn(18, 6, generator=g, requires_grad=True)
    mask = random_mask(20, 18, 0.2, g, weighted=False)
    mask[:5] *= 1e-300  # every positive of rows 0-4
    mask[5, mask[5] > 0] = torch.tensor([1e-300] + [1.0] * (int((mask[5] > 0).sum()) - 1),
                                        dtype=torch.float64)
    w = torch.rand(20, generator=g)
    got, got_g = value_and_grads(lambda x, y: multi_positive_infonce(
        x, y, as_layout(mask, layout), 0.2, block_size=(8, 7), reduction="none"), a, s, w)
    exp, exp_g = _float64_reference(a, s, mask, 0.2, w)
    _assert_close_to_reference(got, got_g, exp, exp_g, rtol=1e-5)


def test_dense_mask_weights_beyond_float32_range_are_refused():
    a, s = torch.randn(4, 3), torch.randn(5, 3)
    mask = torch.ones(4, 5, dtype=torch.float64)
    mask[2, 3] = 1e300
    with pytest.raises(ValueError, match=r"pos_mask has weights up to 1e\+300, beyond the range "
                                         r"of torch.float32"):
        multi_positive_infonce(a, s, mask, 0.5)
    # float64 embeddings can take them, and so can a sparse mask (kept in float64)
    assert torch.isfinite(multi_positive_infonce(a.double(), s.double(), mask, 0.5))
    exp = dense_infonce(a.double(), s.double(), mask, 0.5).mean()
    torch.testing.assert_close(multi_positive_infonce(a, s, mask.to_sparse(), 0.5).double(), exp,
                               rtol=1e-5, atol=1e-5)


def test_more_bad_arguments_name_the_argument():
    a, s, mask = torch.randn(4, 3), torch.randn(5, 3), torch.ones(4, 5)
    with pytest.raises(ValueError, match="need at least one channel"):
        multi_positive_infonce(torch.randn(4, 0), torch.randn(5, 0), mask, 0.5)
    with pytest.raises(ValueError, match=r"diagonal / tau = 1e\+40 is beyond the range"):
        multi_positive_infonce(a, a, torch.eye(4), 1e-10, diagonal=1e30)
    with pytest.raises(ValueError, match="pos_mask is on meta but anchor is on cpu"):
        multi_positive_infonce(a, s, torch.ones(4, 5, device="meta"), 0.5)


def test_infonce_normalize_must_be_a_bool():
    a, s, mask = torch.randn(4, 3), torch.randn(5, 3), torch.ones(4, 5)
    with pytest.raises(TypeError, match="normalize must be True or False, got 'no'"):
        multi_positive_infonce(a, s, mask, 0.5, normalize="no")  # "no" counted as True
    with pytest.raises(TypeError, match="normalize must be True or False"):
        MultiPositiveInfoNCE(0.5, normalize="False")
