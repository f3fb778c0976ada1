"""The extension's spmm on shapes that reach every code path of the CPU
kernel: feature tiles of 8 vectors, single vectors and a scalar tail (F = 1
... 67, float32 and float64), and rows longer than one edge block (16 edges),
so the running best and its edge id (max/min) or the running sum (sum/mean)
are carried from one block to the next. For max/min Values come from a small integer set (many ties) with NaNs planted in
later blocks, and the selected entry (raw op ``arg``), the values and the
gradients are compared with a plain-PyTorch per-row loop: the first NaN of a
row if it holds one, else the first maximum (minimum).
"""
from __future__ import annotations

import pytest
import torch

from graphcl import SparseGraph, ops
from test_ops_layouts import DEVICES, kernels_or_skip, needs_extension

# Row degrees: empty, one edge, just under / at / over one and two edge
# blocks (16 edges), a hub.
DEGREES = [0, 1, 5, 15, 16, 17, 31, 32, 33, 64, 100, 3]
NUM_COLS = 40
FEATURES = [1, 3, 4, 7, 8, 16, 31, 32, 33, 64, 67]


def _graph(seed: int):
    g = torch.Generator().manual_seed(seed)
    rowptr = torch.tensor([0] + DEGREES).cumsum(0)
    # Repeated columns in a row on purpose: the same source twice is a tie.
    col = torch.randint(0, NUM_COLS, (int(rowptr[-1]),), generator=g)
    return rowptr, col


def _reference(rowptr, col, weight, x, reduce):
    """(out, arg) by a loop over rows; arg = E for empty rows."""
    num_edges = col.numel()
    out = torch.zeros(len(rowptr) - 1, x.size(1), dtype=x.dtype)
    arg = torch.full(out.shape, num_edges, dtype=torch.long)
    for i in range(len(rowptr) - 1):
        b, e = int(rowptr[i]), int(rowptr[i + 1])
        if b == e:
            continue
        vals = weight[b:e, None] * x[col[b:e]]
        for f in range(x.size(1)):
            column = vals[:, f]
            nan = torch.isnan(column).nonzero()
            if len(nan):
                k = int(nan[0])
            else:
                best = column.max() if reduce == "max" else column.min()
                k = int((column == best).nonzero()[0])
            out[i, f], arg[i, f] = column[k], b + k
    return out, arg


def _inputs(F, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    rowptr, col = _graph(seed)
    x = torch.randint(-3, 4, (NUM_COLS, F), generator=g).to(dtype)
    # NaNs in sources that hub rows reach late (beyond the first block).
    for k, e in enumerate((40, 70, 150, 250)):
        if e < col.numel():
            x[col[e], k % F] = float("nan")
    weight = torch.randint(1, 3, (col.numel(),), generator=g).to(dtype)
    return rowptr, col, weight, x


@needs_extension
@pytest.mark.parametrize("reduce", ["max", "min"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("F", FEATURES)
@pytest.mark.parametrize("device", DEVICES)
def test_raw_argreduce_matches_row_loop(device, F, dtype, reduce):
    kernels_or_skip(device)
    rowptr, col, weight, x = _inputs(F, dtype, seed=F)
    want_out, want_arg = _reference(rowptr, col, weight, x, reduce)
    for w in (None, weight):
        out, arg = torch.ops.graphcl.spmm_forward(rowptr.to(device), col.to(device),
                                                  None if w is None else w.to(device),
                                                  x.to(device), reduce)
        if w is None:
            ref_out, ref_arg = _reference(rowptr, col, torch.ones_like(weight), x, reduce)
        else:
            ref_out, ref_arg = want_out, want_arg
        torch.testing.assert_close(out.cpu(), ref_out, equal_nan=True, rtol=0, atol=0)
        assert torch.equal(arg.cpu(), ref_arg)


def _edge_order_sum(rowptr, col, weight, x, mean):
    """Each row's w[e] * x[col[e]] added one edge at a time in edge order, the
    order the kernel promises (so the comparison is exact); mean then
    multiplies by 1 / degree as the kernel does."""
    out = torch.zeros(len(rowptr) - 1, x.size(1), dtype=x.dtype)
    for i in range(len(rowptr) - 1):
        b, e = int(rowptr[i]), int(rowptr[i + 1])
        if b == e:
            continue
        acc = x[col[b]] * weight[b]
        for k in range(b + 1, e):
            acc = acc + x[col[k]] * weight[k]
        if mean:
            acc = acc * (torch.ones((), dtype=x.dtype) / (e - b))
        out[i] = acc
    return out


@needs_extension
@pytest.mark.parametrize("reduce", ["sum", "mean"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("F", FEATURES)
@pytest.mark.parametrize("device", DEVICES)
def test_raw_sum_matches_edge_order_loop_exactly(device, F, dtype, reduce):
    kernels_or_skip(device)
    g = torch.Generator().manual_seed(100 + F)
    rowptr, col = _graph(F)
    x = torch.randn(NUM_COLS, F, generator=g, dtype=dtype)
    weight = torch.rand(col.numel(), generator=g, dtype=dtype)
    for w in (None, weight):
        out, _ = torch.ops.graphcl.spmm_forward(rowptr.to(device), col.to(device),
                                                None if w is None else w.to(device),
                                                x.to(device), reduce)
        ref = _edge_order_sum(rowptr, col, torch.ones_like(weight) if w is None else w, x,
                              reduce == "mean")
        if device == "cpu":
            torch.testing.assert_close(out, ref, rtol=0, atol=0)
        else:  # CUDA adds in its own order
            torch.testing.assert_close(out.cpu(), ref)


@needs_extension
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("F", FEATURES)
@pytest.mark.parametrize("device", DEVICES)
def test_raw_sddmm_matches_float64_dots(device, F, dtype):
    # The CPU dot keeps four vector accumulators and a scalar tail: every F
    # from one below a vector to past 16 vectors, against float64 dot products.
    kernels_or_skip(device)
    g = torch.Generator().manual_seed(200 + F)
    rowptr, col = _graph(F)
    a = torch.randn(len(DEGREES), F, generator=g, dtype=dtype)
    b = torch.randn(NUM_COLS, F, generator=g, dtype=dtype)
    out = torch.ops.graphcl.sddmm_forward(rowptr.to(device), col.to(device), a.to(device),
                                          b.to(device))
    row = torch.repeat_interleave(torch.arange(len(DEGREES)), rowptr.diff())
    ref = (a.double()[row] * b.double()[col]).sum(1)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out.cpu().double(), ref, **tol)


@needs_extension
@pytest.mark.parametrize("reduce", ["max", "min"])
@pytest.mark.parametrize("F", [7, 33, 64])
@pytest.mark.parametrize("device", DEVICES)
def test_argreduce_gradients_follow_the_selected_entry(device, F, reduce):
    kernels_or_skip(device)
    rowptr, col, weight, x = _inputs(F, torch.float64, seed=100 + F)
    _, ref_arg = _reference(rowptr, col, weight, x, reduce)
    grad_out = torch.randn(len(DEGREES), F, dtype=torch.float64)
    want_x = torch.zeros_like(x)
    want_w = torch.zeros_like(weight)
    for i in range(len(DEGREES)):
        for f in range(F):
            e = int(ref_arg[i, f])
            if e < col.numel():
                want_x[col[e], f] += weight[e] * grad_out[i, f]
                want_w[e] += x[col[e], f] * grad_out[i, f]
    graph = SparseGraph.from_csr(rowptr.to(device), col.to(device), num_cols=NUM_COLS)
    with ops.use_backend("extension"):
        xl = x.to(device).requires_grad_()
        wl = weight.to(device).requires_grad_()
        ops.spmm(graph, xl, edge_weight=wl, reduce=reduce).backward(grad_out.to(device))
    torch.testing.assert_close(xl.grad.cpu(), want_x, equal_nan=True)
    torch.testing.assert_close(wl.grad.cpu(), want_w, equal_nan=True)


@needs_extension
@pytest.mark.parametrize("device", DEVICES)
def test_arg_dtype_contract(device):
    """spmm_forward's arg is int32 on CPU (the graph has fewer than 2^31
    edges) and int64 on CUDA; with_arg=False (no backward can follow) gives
    the same values and an empty [0, F] arg; spmm_arg_backward takes either
    index dtype with the same result."""
    kernels_or_skip(device)
    rowptr, col, weight, x = _inputs(9, torch.float32, seed=7)
    rowptr, col, weight, x = (t.to(device) for t in (rowptr, col, weight, x))
    out, arg = torch.ops.graphcl.spmm_forward(rowptr, col, weight, x, "max")
    assert arg.dtype == (torch.int32 if device == "cpu" else torch.int64)
    assert arg.shape == out.shape
    out2, none = torch.ops.graphcl.spmm_forward(rowptr, col, weight, x, "max", with_arg=False)
    torch.testing.assert_close(out2, out, equal_nan=True, rtol=0, atol=0)
    assert none.shape == (0, 9)
    graph = SparseGraph.from_csr(rowptr, col, num_cols=NUM_COLS)
    grad_out = torch.randn(out.shape, device=device)
    via32 = torch.ops.graphcl.spmm_arg_backward(*graph.csc, weight, arg.int(), grad_out)
    via64 = torch.ops.graphcl.spmm_arg_backward(*graph.csc, weight, arg.long(), grad_out)
    torch.testing.assert_close(via32, via64, rtol=0, atol=0)


@needs_extension
def test_arg_backward_refuses_edge_ids_out_of_range():
    """The CPU backward scatters through arg, so an arg naming no edge (below
    0 or above E; E itself marks an empty row) raises IndexError instead of
    reading outside col."""
    rowptr, col, weight, x = _inputs(5, torch.float32, seed=3)
    graph = SparseGraph.from_csr(rowptr, col, num_cols=NUM_COLS)
    _, arg = torch.ops.graphcl.spmm_forward(rowptr, col, None, x, "min")
    grad_out = torch.ones(arg.shape)
    for bad in (-1, col.numel() + 1):
        broken = arg.clone()
        broken[1, 2] = bad
        with pytest.raises(IndexError, match="arg holds an edge id outside"):
            torch.ops.graphcl.spmm_arg_backward(*graph.csc, None, broken, grad_out)
