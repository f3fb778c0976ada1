"""NaN and +-Inf in every float argument of every op, on both backends, in
float32 and float64, on the CPU and (marked ``cuda``) on CUDA: values follow
torch.amax / torch.amin / torch.softmax (NaN propagates, a softmax row holding
+inf or NaN is NaN throughout) and gradients follow each backend's documented
rule.

Gradient rule of max/min: the extension routes each output's gradient to
the one entry it selected: the first NaN of the segment if it holds one,
else the first maximum (minimum). The torch backend follows PyTorch's
scatter_reduce/amax: ties split the gradient evenly, and a segment holding
NaN gets NaN gradients for all its entries. NaN in edge_weight is refused by
the Python checks (an input-validation choice); +-Inf there is accepted.
"""
from __future__ import annotations

import pytest
import torch

import reference as ref
from graphcl import SparseGraph, ops
from test_ops_layouts import (COL, DEVICES, DIM_SIZE, FEATURES, HEADS, NUM_COLS, NUM_EDGES,
                              NUM_ROWS, ROWPTR, SCATTER_INDEX, assert_grads_match, contiguous_leaf,
                              csr_edges, kernels_or_skip, needs_extension, on, rule_for,
                              scatter_ref, segment_ref, spmm_arg_ref, spmm_ref)

DTYPES = [torch.float32, torch.float64]
REDUCES = ["sum", "mean", "max", "min"]
NAN, INF = float("nan"), float("inf")
# Which special values go in: alone, or all three at once.
SPECIALS = {"nan": [NAN], "posinf": [INF], "neginf": [-INF], "mixed": [NAN, INF, -INF]}


def with_specials(t: torch.Tensor, specials, positions, device="cpu") -> torch.Tensor:
    """A copy of t with specials[k % len] at the k-th of `positions` (flat
    indices), as a leaf on `device` that requires grad."""
    t = t.detach().clone()
    flat = t.view(-1)
    for k, pos in enumerate(positions):
        flat[pos] = specials[k % len(specials)]
    return on(device, t)


def graph(device="cpu"):
    return SparseGraph.from_csr(torch.tensor(ROWPTR, device=device), torch.tensor(COL, device=device),
                                num_cols=NUM_COLS)


# Source 2 feeds rows 0 (twice), 2 and 5; 4 feeds rows 2 and 3; 0 feeds 0, 3, 5.
X_POSITIONS = [2 * FEATURES + 0, 4 * FEATURES + 1, 0 * FEATURES + 2, 2 * FEATURES + 2]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("special", list(SPECIALS))
@pytest.mark.parametrize("device", DEVICES)
def test_spmm_special_values_in_x(backend, device, special, reduce, dtype):
    kernels_or_skip(device, backend)
    torch.manual_seed(0)
    x = with_specials(torch.randn(NUM_COLS, FEATURES, dtype=dtype), SPECIALS[special], X_POSITIONS,
                      device)
    w = on(device, torch.rand(NUM_EDGES, dtype=dtype) + 0.5)
    out = ops.spmm(graph(device), x, w, reduce)
    xr, wr = contiguous_leaf(x), contiguous_leaf(w)
    edges = csr_edges(torch.tensor(ROWPTR), torch.tensor(COL))
    expected = spmm_ref(edges, NUM_ROWS, xr, wr, reduce, rule_for(backend))
    torch.testing.assert_close(out.cpu(), expected, equal_nan=True)
    if special in ("nan", "mixed"):
        assert out.isnan().any()
    assert_grads_match(out, (x, w), expected, (xr, wr))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("special", ["posinf", "neginf"])
@pytest.mark.parametrize("device", DEVICES)
def test_spmm_infinite_edge_weight(backend, device, special, reduce, dtype):
    kernels_or_skip(device, backend)
    torch.manual_seed(1)
    x = on(device, torch.randn(NUM_COLS, FEATURES, dtype=dtype))
    w = with_specials(torch.rand(NUM_EDGES, dtype=dtype) + 0.5, SPECIALS[special], [1, 7], device)
    out = ops.spmm(graph(device), x, w, reduce)
    xr, wr = contiguous_leaf(x), contiguous_leaf(w)
    edges = csr_edges(torch.tensor(ROWPTR), torch.tensor(COL))
    expected = spmm_ref(edges, NUM_ROWS, xr, wr, reduce, rule_for(backend))
    torch.testing.assert_close(out.cpu(), expected, equal_nan=True)
    assert not out.isfinite().all()
    assert_grads_match(out, (x, w), expected, (xr, wr))


def test_nan_edge_weight_is_refused(backend):
    """Kept on purpose: NaN weights are an input error, not data."""
    w = torch.ones(NUM_EDGES)
    w[3] = NAN
    with pytest.raises(ValueError, match="edge_weight contains NaN"):
        ops.spmm(graph(), torch.randn(NUM_COLS, 2), w)
    with pytest.raises(ValueError, match="edge_weight contains NaN"):
        SparseGraph.from_csr(torch.tensor(ROWPTR), torch.tensor(COL), num_cols=NUM_COLS,
                             edge_weight=w)


@needs_extension
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("device", DEVICES)
def test_raw_spmm_propagates_nan_edge_weight(device, reduce):
    """The C++ op does not refuse NaN weights (the Python layer does); it
    propagates them like every other NaN."""
    kernels_or_skip(device)
    torch.manual_seed(2)
    x = torch.randn(NUM_COLS, FEATURES, dtype=torch.float64)
    w = torch.rand(NUM_EDGES, dtype=torch.float64) + 0.5
    w[[1, 4]] = NAN
    out, arg = torch.ops.graphcl.spmm_forward(torch.tensor(ROWPTR, device=device),
                                              torch.tensor(COL, device=device), w.to(device),
                                              x.to(device), reduce)
    out, arg = out.cpu(), arg.cpu()
    edges = csr_edges(torch.tensor(ROWPTR), torch.tensor(COL))
    torch.testing.assert_close(out, spmm_ref(edges, NUM_ROWS, x, w, reduce, "first"), equal_nan=True)
    assert out[0].isnan().all() and out[2].isnan().all()
    if reduce in ("max", "min"):
        assert arg[0].tolist() == [1] * FEATURES and arg[2].tolist() == [4] * FEATURES
        torch.testing.assert_close(arg.long(), spmm_arg_ref(edges, NUM_ROWS, x, w, reduce))


@pytest.mark.parametrize("reduce", ["max", "min"])
@pytest.mark.parametrize("device", DEVICES)
def test_max_min_select_the_first_nan(backend, device, reduce):
    """One row, entries [1, NaN, 3, NaN]: the value is NaN; the extension's
    gradient goes to the first NaN (entry 1), the fallback's is NaN for all
    four (torch.amax's rule)."""
    kernels_or_skip(device, backend)
    g = SparseGraph.from_csr(torch.tensor([0, 4], device=device), torch.arange(4, device=device),
                             num_cols=4)
    x = torch.tensor([[1.0], [NAN], [3.0], [NAN]], device=device, requires_grad=True)
    out = ops.spmm(g, x, reduce=reduce)
    assert out.isnan().all()
    out.sum().backward()
    if backend == "extension":
        assert x.grad.squeeze(1).tolist() == [0.0, 1.0, 0.0, 0.0]
    else:
        assert x.grad.isnan().all()
    src = x.detach().squeeze(1).requires_grad_()
    seg = ops.segment_csr(src, torch.tensor([0, 4], device=device), reduce)
    sca = ops.scatter(src, torch.zeros(4, dtype=torch.long, device=device), 1, reduce)
    assert seg.isnan().all() and sca.isnan().all()
    if backend == "extension":
        assert torch.autograd.grad(seg.sum(), src)[0].tolist() == [0.0, 1.0, 0.0, 0.0]
        assert torch.autograd.grad(sca.sum(), src)[0].tolist() == [0.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("arg", ["a", "b"])
@pytest.mark.parametrize("special", list(SPECIALS))
@pytest.mark.parametrize("device", DEVICES)
def test_sddmm_special_values(backend, device, special, arg, dtype):
    kernels_or_skip(device, backend)
    torch.manual_seed(3)
    a = torch.randn(NUM_ROWS, FEATURES, dtype=dtype)
    b = torch.randn(NUM_COLS, FEATURES, dtype=dtype)
    positions = {"a": [0, 2 * FEATURES + 1, 3 * FEATURES + 2], "b": X_POSITIONS}
    a = with_specials(a, SPECIALS[special], positions["a"] if arg == "a" else [], device)
    b = with_specials(b, SPECIALS[special], positions["b"] if arg == "b" else [], device)
    out = ops.sddmm(graph(device), a, b)
    ar, br = contiguous_leaf(a), contiguous_leaf(b)
    expected = ref.sddmm(csr_edges(torch.tensor(ROWPTR), torch.tensor(COL)), ar, br)
    torch.testing.assert_close(out.cpu(), expected, equal_nan=True)
    assert not out.isfinite().all()
    assert_grads_match(out, (a, b), expected, (ar, br))


# Edges 0-2 form row 0, 3-5 row 2, 6-8 row 3, 9-11 row 5.
SOFTMAX_SPECIALS = {
    "nan": {(1, 0): NAN},                                    # row 0 head 0
    "posinf": {(4, 1): INF},                                 # row 2 head 1
    "two_posinf": {(6, 0): INF, (8, 0): INF},                # row 3 head 0
    "neginf": {(9, 0): -INF},                                # one -inf in row 5
    "all_neginf": {(3, 0): -INF, (4, 0): -INF, (5, 0): -INF},  # a whole row
    "mixed": {(1, 1): NAN, (6, 0): INF, (10, 1): -INF},
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("special", list(SOFTMAX_SPECIALS))
@pytest.mark.parametrize("one_head", [False, True])
@pytest.mark.parametrize("device", DEVICES)
def test_segment_softmax_special_values(backend, device, special, one_head, dtype):
    kernels_or_skip(device, backend)
    torch.manual_seed(4)
    scores = torch.randn(NUM_EDGES, HEADS, dtype=dtype) * 3
    for (e, h), v in SOFTMAX_SPECIALS[special].items():
        scores[e, h] = v
    if one_head:
        scores = scores[:, 0].contiguous()
    scores = on(device, scores)
    out = ops.segment_softmax(graph(device), scores)
    sr = contiguous_leaf(scores)
    expected = ref.segment_softmax(csr_edges(torch.tensor(ROWPTR), torch.tensor(COL)), NUM_ROWS, sr)
    torch.testing.assert_close(out.cpu(), expected, equal_nan=True)
    assert_grads_match(out, (scores,), expected, (sr,))


@pytest.mark.parametrize("device", DEVICES)
def test_softmax_row_with_inf_is_what_torch_gives(backend, device):
    """torch.softmax of a row holding +inf is NaN throughout (inf - inf),
    not a mix of 0 and NaN; rows without it are untouched."""
    kernels_or_skip(device, backend)
    g = SparseGraph.from_csr(torch.tensor([0, 3, 5], device=device),
                             torch.tensor([0, 1, 2, 0, 1], device=device), num_cols=3)
    scores = torch.tensor([1.0, INF, 2.0, 0.5, -1.0])
    out = ops.segment_softmax(g, scores.to(device)).cpu()
    torch.testing.assert_close(out[:3], torch.softmax(scores[:3], 0), equal_nan=True)
    assert out[:3].isnan().all()
    torch.testing.assert_close(out[3:], torch.softmax(scores[3:], 0))


SRC_POSITIONS = [1 * FEATURES, 4 * FEATURES + 1, 7 * FEATURES + 2, 8 * FEATURES + 2, 11 * FEATURES]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("special", list(SPECIALS))
@pytest.mark.parametrize("device", DEVICES)
def test_segment_csr_special_values(backend, device, special, reduce, dtype):
    kernels_or_skip(device, backend)
    torch.manual_seed(5)
    src = with_specials(torch.randn(NUM_EDGES, FEATURES, dtype=dtype), SPECIALS[special],
                        SRC_POSITIONS, device)
    out = ops.segment_csr(src, torch.tensor(ROWPTR, device=device), reduce)
    sr = contiguous_leaf(src)
    expected = segment_ref(sr, torch.tensor(ROWPTR), reduce, rule_for(backend))
    torch.testing.assert_close(out.cpu(), expected, equal_nan=True)
    assert_grads_match(out, (src,), expected, (sr,))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("special", list(SPECIALS))
@pytest.mark.parametrize("device", DEVICES)
def test_scatter_special_values(backend, device, special, reduce, dtype):
    kernels_or_skip(device, backend)
    torch.manual_seed(6)
    src = with_specials(torch.randn(len(SCATTER_INDEX), FEATURES, dtype=dtype), SPECIALS[special],
                        SRC_POSITIONS, device)
    index = torch.tensor(SCATTER_INDEX)
    out = ops.scatter(src, index.to(device), DIM_SIZE, reduce)
    sr = contiguous_leaf(src)
    expected = scatter_ref(sr, index, DIM_SIZE, reduce, rule_for(backend))
    torch.testing.assert_close(out.cpu(), expected, equal_nan=True)
    assert_grads_match(out, (src,), expected, (sr,))


@pytest.mark.parametrize("reduce", ["max", "min"])
@pytest.mark.parametrize("device", DEVICES)
def test_nan_free_max_min_keep_the_first_of_ties(backend, device, reduce):
    """The NaN test added per element must not change the tie rule of the
    extension (first entry), nor the fallback's (split evenly)."""
    kernels_or_skip(device, backend)
    src = torch.tensor([[2.0], [5.0], [5.0], [-1.0], [-1.0]], device=device, requires_grad=True)
    target = 5.0 if reduce == "max" else -1.0
    out = ops.segment_csr(src, torch.tensor([0, 5], device=device), reduce)
    assert out.item() == target
    grad = torch.autograd.grad(out.sum(), src)[0].squeeze(1).tolist()
    ties = [1, 2] if reduce == "max" else [3, 4]
    expected = [0.0] * 5
    if backend == "extension":
        expected[ties[0]] = 1.0
    else:
        expected[ties[0]] = expected[ties[1]] = 0.5
    assert grad == expected
