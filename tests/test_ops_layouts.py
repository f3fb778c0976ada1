"""Every tensor argument of every op as a non-contiguous view: strided,
transposed, expanded, a column of a wider matrix, or a slice with a storage
offset. The compiled kernels index raw pointers, so a view that reached them
as is would be read as if it were dense and give a silently wrong answer.

Public ops (graphcl.ops.*) run on both backends and the raw
torch.ops.graphcl.* ops on the extension, in float32 and float64, on the CPU
and (marked ``cuda``, skipped without a GPU) on CUDA; forward
values and gradients are compared with plain-PyTorch references computed on
contiguous copies of the same values. The storage between the entries of a
view holds NaN (floats) or other valid indices (index tensors), so reading
it shows up as a wrong value, never as a crash.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import pytest
import torch

import reference as ref
from graphcl import SparseGraph, ops

DTYPES = [torch.float32, torch.float64]
REDUCES = ["sum", "mean", "max", "min"]
needs_extension = pytest.mark.skipif(not ops.extension_available(), reason="extension not built")
DEVICES = ["cpu", pytest.param("cuda", marks=[
    pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")])]


def kernels_or_skip(device: str, backend: str = "extension") -> None:
    """The extension backend on CUDA needs the CUDA kernels (otherwise the
    fallback would run under the extension's name)."""
    if device == "cuda" and backend == "extension" and not ops.extension_has_cuda():
        pytest.skip("graphcl was built without CUDA kernels")

# A bipartite multigraph (6 target rows, 5 source columns) in CSR order: rows
# 1 and 4 have no edges, row 0 receives source 2 twice, source 2 is the hub.
ROWPTR = [0, 3, 3, 6, 9, 9, 12]
COL = [0, 2, 2, 1, 2, 4, 0, 3, 4, 2, 1, 0]
NUM_ROWS, NUM_COLS, NUM_EDGES = len(ROWPTR) - 1, 5, len(COL)
FEATURES, HEADS = 3, 2

FLOAT_LAYOUTS_1D = ["offset", "strided", "column", "expanded"]
FLOAT_LAYOUTS_2D = ["offset", "row_strided", "column_slice", "transposed", "expanded"]
INDEX_LAYOUTS = ["offset", "strided", "column", "expanded"]
# A CSR pointer cannot be expanded (its entries must increase to E), nor can
# a CSC be whose permutation and rows must match the CSR.
PTR_LAYOUTS = ["offset", "strided", "column"]


# ---------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------

def _assert_is_view(v: torch.Tensor, kind: str) -> None:
    """Make sure the layout under test really is what reaches the op."""
    if kind == "offset":
        assert v.is_contiguous() and v.storage_offset() > 0
    elif kind != "contiguous":
        assert not v.is_contiguous(), kind


def float_view(t: torch.Tensor, kind: str) -> torch.Tensor:
    """`t` laid out as `kind`, NaN in the storage between its entries.

    Every layout keeps t's values except ``expanded``, which repeats its
    first row (entry) with stride 0. Built from t by differentiable ops, so
    gradients reach the view itself.
    """
    if kind == "contiguous":
        return t
    nan = torch.full_like(t, float("nan"))
    if kind == "expanded":
        v = t[:1].expand_as(t)
    elif kind == "offset":
        v = torch.cat([nan[:1], t])[1:]
    elif t.dim() == 1:
        v = {"strided": lambda: torch.stack([t, nan], 1)[:, 0],
             "column": lambda: torch.stack([nan, t, nan], 1)[:, 1]}[kind]()
    else:
        v = {"row_strided": lambda: torch.stack([t, nan], 1)[:, 0],
             "column_slice": lambda: torch.cat([nan[:, :1], t, nan[:, :1]], 1)[:, 1:-1],
             "transposed": lambda: t.t().contiguous().t()}[kind]()
    _assert_is_view(v, kind)
    return v


def index_view(t: torch.Tensor, kind: str, upper: Optional[int] = None) -> torch.Tensor:
    """Index tensor `t` laid out as `kind`. The storage between its entries
    holds other valid values (``upper - 1 - t`` for indices in [0, upper),
    the reversed pointer for a CSR pointer), so a kernel reading it as dense
    computes a wrong answer instead of reading out of bounds."""
    if kind == "contiguous":
        return t
    other = t.flip(0) if upper is None else upper - 1 - t
    v = {"offset": lambda: torch.cat([other[:1], t])[1:],
         "strided": lambda: torch.stack([t, other], 1)[:, 0],
         "column": lambda: torch.stack([other, t, other], 1)[:, 1],
         "expanded": lambda: t[:1].expand_as(t)}[kind]()
    _assert_is_view(v, kind)
    return v


# ---------------------------------------------------------------------------
# References (plain PyTorch on contiguous copies)
# ---------------------------------------------------------------------------

def selected(values: torch.Tensor, reduce: str) -> torch.Tensor:
    """Per column of `values` [K, F], the entry the kernels select for
    max/min: the first NaN if there is one (NaN propagates), else the first
    maximum (minimum)."""
    nan = values.isnan()
    best = values.argmax(0) if reduce == "max" else values.argmin(0)
    first_nan = nan.to(torch.uint8).argmax(0)
    return torch.where(nan.any(0), first_nan, best)


def reduce_rows(msgs: torch.Tensor, reduce: str, rule: str) -> torch.Tensor:
    """Reduce the non-empty stack `msgs` [K, F] along dim 0.

    For max/min, ``rule='first'`` is the extension's gradient (all of it to
    the selected entry) and ``rule='amax'`` PyTorch's (split among equal
    entries; NaN everywhere in a segment holding NaN): the torch backend's.
    The values are the same.
    """
    if reduce == "sum":
        return msgs.sum(0)
    if reduce == "mean":
        return msgs.mean(0)
    if rule == "amax":
        return msgs.amax(0) if reduce == "max" else msgs.amin(0)
    return msgs.gather(0, selected(msgs.detach(), reduce).unsqueeze(0)).squeeze(0)


def rule_for(backend: str) -> str:
    return "first" if backend == "extension" else "amax"


def csr_edges(rowptr: torch.Tensor, col: torch.Tensor) -> List[Tuple[int, int]]:
    """(source, target) of every CSR entry, from the values of any layout."""
    rp = rowptr.tolist()
    return [(int(c), i) for i in range(len(rp) - 1) for c in col.tolist()[rp[i]:rp[i + 1]]]


def spmm_ref(edges, num_rows, x, w, reduce, rule):
    out = []
    for i in range(num_rows):
        ks = [k for k, (_, t) in enumerate(edges) if t == i]
        if not ks:
            out.append(x.new_zeros(x.size(1)))
            continue
        msgs = torch.stack([x[edges[k][0]] * (1.0 if w is None else w[k]) for k in ks])
        if rule == "first" and reduce in ("max", "min"):
            # Only the selected message is formed, as in the kernels: the
            # others do not depend on x and w at all (no 0 * inf = NaN in
            # their gradient).
            pick = [ks[s] for s in selected(msgs.detach(), reduce).tolist()]
            out.append(torch.stack([x[edges[k][0], f] * (1.0 if w is None else w[k])
                                    for f, k in enumerate(pick)]))
        else:
            out.append(reduce_rows(msgs, reduce, rule))
    return torch.stack(out)


def scatter_ref(src, index, dim_size, reduce, rule):
    out = []
    for k in range(dim_size):
        sel = src[index == k]
        out.append(src.new_zeros(src.shape[1:]) if sel.numel() == 0
                   else reduce_rows(sel, reduce, rule))
    return torch.stack(out)


def segment_ref(src, rowptr, reduce, rule):
    counts = (rowptr[1:] - rowptr[:-1]).long()
    index = torch.arange(counts.numel()).repeat_interleave(counts)
    return scatter_ref(src, index, counts.numel(), reduce, rule)


def spmm_arg_ref(edges, num_rows, x, w, reduce):
    """The arg output of spmm_forward: CSR position of the selected entry per
    (row, feature), E for rows without edges."""
    arg = torch.full((num_rows, x.size(1)), len(edges), dtype=torch.long)
    for i in range(num_rows):
        ks = [k for k, (_, t) in enumerate(edges) if t == i]
        if ks:
            msgs = torch.stack([x[edges[k][0]] * (1.0 if w is None else w[k]) for k in ks])
            arg[i] = torch.tensor(ks)[selected(msgs, reduce)]
    return arg


def softmax_backward_ref(edges, num_rows, out, grad):
    """grad_scores = out * (grad - sum_row(out * grad)), row by row."""
    res = torch.zeros_like(out)
    for i in range(num_rows):
        ks = [k for k, (_, t) in enumerate(edges) if t == i]
        if ks:
            res[ks] = out[ks] * (grad[ks] - (out[ks] * grad[ks]).sum(0))
    return res


def contiguous_leaf(t: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """A contiguous CPU copy of t's values for the reference (a leaf that
    requires grad when t does)."""
    if t is None:
        return None
    c = t.detach().cpu().contiguous()
    return c.requires_grad_() if t.requires_grad else c


def assert_grads_match(out, inputs, expected, ref_inputs, seed=0):
    """Gradients of `out` for `inputs` (views) equal those of `expected` for
    `ref_inputs` (their contiguous copies), for one random grad_out."""
    g = torch.randn(expected.shape, dtype=expected.dtype,
                    generator=torch.Generator().manual_seed(seed))
    got = torch.autograd.grad(out, inputs, g.to(out.device), allow_unused=True)
    exp = torch.autograd.grad(expected, ref_inputs, g, allow_unused=True)
    for a, b, t in zip(got, exp, ref_inputs):
        a = torch.zeros_like(t) if a is None else a.cpu()
        b = torch.zeros_like(t) if b is None else b
        torch.testing.assert_close(a, b, equal_nan=True)


# ---------------------------------------------------------------------------
# Public ops, both backends
# ---------------------------------------------------------------------------

def base_csr():
    return torch.tensor(ROWPTR), torch.tensor(COL)


def make_graph(device, rowptr_kind="contiguous", col_kind="contiguous"):
    rowptr, col = base_csr()
    rowptr = index_view(rowptr.to(device), rowptr_kind)
    col = index_view(col.to(device), col_kind, NUM_COLS)
    return SparseGraph.from_csr(rowptr, col, num_cols=NUM_COLS), rowptr, col


def on(device, t: torch.Tensor, requires_grad: bool = True) -> torch.Tensor:
    """t (made on the CPU, so every device sees the same values) as a leaf on
    `device`."""
    t = t.detach().to(device)
    return t.requires_grad_() if requires_grad else t


@pytest.mark.parametrize("device", DEVICES)
def test_issue_reproducer_strided_rowptr(backend, device):
    kernels_or_skip(device, backend)
    rowptr = torch.tensor([[0, 1], [3, 4], [6, 9], [6, 9], [6, 9]], device=device)[:, 0]
    src = torch.arange(1., 7., device=device)
    assert ops.segment_csr(src, rowptr).tolist() == [6., 15., 0., 0.]
    graph = SparseGraph.from_csr(rowptr, torch.arange(6, device=device), num_cols=6)
    x = torch.arange(6., device=device).unsqueeze(1)
    assert ops.spmm(graph, x).squeeze(1).tolist() == [3., 12., 0., 0.]
    soft = ops.segment_softmax(graph, torch.zeros(6, device=device))
    torch.testing.assert_close(soft.cpu(), torch.tensor([1 / 3] * 6))
    assert ops.sddmm(graph, torch.ones(4, 1, device=device), x).tolist() == [0., 1., 2., 3., 4., 5.]


SPMM_CASES = ([("rowptr", k) for k in PTR_LAYOUTS] + [("col", k) for k in INDEX_LAYOUTS]
              + [("x", k) for k in FLOAT_LAYOUTS_2D] + [("edge_weight", k) for k in FLOAT_LAYOUTS_1D])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("arg,kind", SPMM_CASES)
@pytest.mark.parametrize("device", DEVICES)
def test_spmm_layouts(backend, device, arg, kind, reduce, dtype):
    kernels_or_skip(device, backend)
    torch.manual_seed(0)
    graph, rowptr, col = make_graph(device, kind if arg == "rowptr" else "contiguous",
                                    kind if arg == "col" else "contiguous")
    x = on(device, torch.randn(NUM_COLS, FEATURES, dtype=dtype))
    w = on(device, torch.rand(NUM_EDGES, dtype=dtype) + 0.5)
    x = float_view(x, kind) if arg == "x" else x
    w = float_view(w, kind) if arg == "edge_weight" else w
    out = ops.spmm(graph, x, w, reduce)
    xr, wr = contiguous_leaf(x), contiguous_leaf(w)
    expected = spmm_ref(csr_edges(rowptr, col), NUM_ROWS, xr, wr, reduce, rule_for(backend))
    torch.testing.assert_close(out.cpu(), expected)
    assert_grads_match(out, (x, w), expected, (xr, wr))


SDDMM_CASES = ([("rowptr", k) for k in PTR_LAYOUTS] + [("col", k) for k in INDEX_LAYOUTS]
               + [(name, k) for name in ("a", "b") for k in FLOAT_LAYOUTS_2D])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("arg,kind", SDDMM_CASES)
@pytest.mark.parametrize("device", DEVICES)
def test_sddmm_layouts(backend, device, arg, kind, dtype):
    kernels_or_skip(device, backend)
    torch.manual_seed(1)
    graph, rowptr, col = make_graph(device, kind if arg == "rowptr" else "contiguous",
                                    kind if arg == "col" else "contiguous")
    a = on(device, torch.randn(NUM_ROWS, FEATURES, dtype=dtype))
    b = on(device, torch.randn(NUM_COLS, FEATURES, dtype=dtype))
    a = float_view(a, kind) if arg == "a" else a
    b = float_view(b, kind) if arg == "b" else b
    out = ops.sddmm(graph, a, b)
    ar, br = contiguous_leaf(a), contiguous_leaf(b)
    expected = ref.sddmm(csr_edges(rowptr, col), ar, br)
    torch.testing.assert_close(out.cpu(), expected)
    assert_grads_match(out, (a, b), expected, (ar, br))


SOFTMAX_CASES = ([("rowptr", k) for k in PTR_LAYOUTS] + [("scores", k) for k in FLOAT_LAYOUTS_2D]
                 + [("scores_1d", k) for k in FLOAT_LAYOUTS_1D])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("arg,kind", SOFTMAX_CASES)
@pytest.mark.parametrize("device", DEVICES)
def test_segment_softmax_layouts(backend, device, arg, kind, dtype):
    kernels_or_skip(device, backend)
    torch.manual_seed(2)
    graph, rowptr, col = make_graph(device, kind if arg == "rowptr" else "contiguous")
    shape = (NUM_EDGES,) if arg == "scores_1d" else (NUM_EDGES, HEADS)
    scores = on(device, torch.randn(shape, dtype=dtype) * 3)
    scores = float_view(scores, kind) if arg.startswith("scores") else scores
    out = ops.segment_softmax(graph, scores)
    sr = contiguous_leaf(scores)
    expected = ref.segment_softmax(csr_edges(rowptr, col), NUM_ROWS, sr)
    torch.testing.assert_close(out.cpu(), expected)
    assert_grads_match(out, (scores,), expected, (sr,))


SEGMENT_CASES = ([("rowptr", k) for k in PTR_LAYOUTS] + [("src", k) for k in FLOAT_LAYOUTS_2D]
                 + [("src_1d", k) for k in FLOAT_LAYOUTS_1D])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("arg,kind", SEGMENT_CASES)
@pytest.mark.parametrize("device", DEVICES)
def test_segment_csr_layouts(backend, device, arg, kind, reduce, dtype):
    kernels_or_skip(device, backend)
    torch.manual_seed(3)
    rowptr = index_view(torch.tensor(ROWPTR, device=device), kind if arg == "rowptr" else "contiguous")
    shape = (NUM_EDGES,) if arg == "src_1d" else (NUM_EDGES, FEATURES)
    src = on(device, torch.randn(shape, dtype=dtype))
    src = float_view(src, kind) if arg.startswith("src") else src
    out = ops.segment_csr(src, rowptr, reduce)
    sr = contiguous_leaf(src)
    expected = segment_ref(sr, torch.tensor(ROWPTR), reduce, rule_for(backend))
    torch.testing.assert_close(out.cpu(), expected)
    assert_grads_match(out, (src,), expected, (sr,))


SCATTER_CASES = ([("index", k) for k in INDEX_LAYOUTS] + [("src", k) for k in FLOAT_LAYOUTS_2D]
                 + [("src_1d", k) for k in FLOAT_LAYOUTS_1D])
SCATTER_INDEX = [3, 0, 3, 1, 0, 3, 4, 1, 3, 0, 4, 3]
DIM_SIZE = 6  # output row 2 and 5 receive nothing


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("arg,kind", SCATTER_CASES)
@pytest.mark.parametrize("device", DEVICES)
def test_scatter_layouts(backend, device, arg, kind, reduce, dtype):
    kernels_or_skip(device, backend)
    torch.manual_seed(4)
    index = index_view(torch.tensor(SCATTER_INDEX, device=device),
                       kind if arg == "index" else "contiguous", DIM_SIZE)
    shape = (len(SCATTER_INDEX),) if arg == "src_1d" else (len(SCATTER_INDEX), FEATURES)
    src = on(device, torch.randn(shape, dtype=dtype))
    src = float_view(src, kind) if arg.startswith("src") else src
    out = ops.scatter(src, index, DIM_SIZE, reduce)
    sr = contiguous_leaf(src)
    expected = scatter_ref(sr, index.cpu().contiguous(), DIM_SIZE, reduce, rule_for(backend))
    torch.testing.assert_close(out.cpu(), expected)
    assert_grads_match(out, (src,), expected, (sr,))


@pytest.mark.parametrize("device", DEVICES)
def test_expanded_rowptr_of_a_graph_without_edges(backend, device):
    """The one valid expanded CSR pointer: all zeros (no edges)."""
    kernels_or_skip(device, backend)
    rowptr = torch.zeros(1, dtype=torch.long, device=device).expand(5)
    graph = SparseGraph.from_csr(rowptr, torch.zeros(0, dtype=torch.long, device=device), num_cols=3)
    x = torch.randn(3, 2, device=device, requires_grad=True)
    for reduce in REDUCES:
        assert ops.spmm(graph, x, reduce=reduce).tolist() == [[0.0, 0.0]] * 4
        assert ops.segment_csr(torch.zeros(0, 2, device=device), rowptr, reduce).tolist() == \
            [[0.0, 0.0]] * 4
    assert ops.segment_softmax(graph, torch.zeros(0, device=device)).shape == (0,)


# ---------------------------------------------------------------------------
# Raw ops (torch.ops.graphcl.*), every tensor argument
# ---------------------------------------------------------------------------

@dataclass
class Problem:
    """Consistent inputs of every raw op, from one CSR (given by values)."""
    dtype: torch.dtype
    col_values: List[int] = field(default_factory=lambda: list(COL))
    t: Dict[str, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self):
        g = torch.Generator().manual_seed(5)
        rowptr, col = torch.tensor(ROWPTR), torch.tensor(self.col_values)
        row = torch.arange(NUM_ROWS).repeat_interleave(rowptr[1:] - rowptr[:-1])
        perm = torch.argsort(col, stable=True)
        colptr = torch.zeros(NUM_COLS + 1, dtype=torch.long)
        colptr[1:] = torch.bincount(col, minlength=NUM_COLS).cumsum(0)
        rnd = lambda *s: torch.randn(*s, dtype=self.dtype, generator=g)  # noqa: E731
        self.t = dict(rowptr=rowptr, col=col, colptr=colptr, csc_row=row[perm], csc_perm=perm,
                      x=rnd(NUM_COLS, FEATURES), weight=rnd(NUM_EDGES).abs() + 0.5,
                      a=rnd(NUM_ROWS, FEATURES), b=rnd(NUM_COLS, FEATURES),
                      scores=rnd(NUM_EDGES, HEADS) * 3, src=rnd(NUM_EDGES, FEATURES),
                      index=torch.tensor(SCATTER_INDEX), grad_out=rnd(NUM_ROWS, FEATURES),
                      grad=rnd(NUM_EDGES, HEADS))
        self.t["out"] = ref.segment_softmax(self.edges, NUM_ROWS, self.t["scores"])

    @property
    def edges(self):
        return csr_edges(self.t["rowptr"], self.t["col"])


# Upper bounds of the index arguments (None: a CSR pointer).
INDEX_UPPER = dict(rowptr=None, colptr=None, col=NUM_COLS, csc_row=NUM_ROWS, csc_perm=NUM_EDGES,
                   index=DIM_SIZE)
# Index arguments whose expanded layout is still a valid input.
EXPANDABLE = {"col", "index"}


def view_of(name: str, t: torch.Tensor, kind: str) -> torch.Tensor:
    if name in INDEX_UPPER:
        return index_view(t, kind, INDEX_UPPER[name])
    return float_view(t, kind)


def layouts_for(name: str, two_d: bool) -> List[str]:
    if name in INDEX_UPPER:
        return INDEX_LAYOUTS if name in EXPANDABLE else PTR_LAYOUTS
    return FLOAT_LAYOUTS_2D if two_d else FLOAT_LAYOUTS_1D


def expanded_values(p: Problem, name: str) -> Problem:
    """The problem whose `name` argument holds the values of its expanded
    view (its first entry everywhere), the other arguments consistent."""
    if name == "col":
        return Problem(p.dtype, col_values=[COL[0]] * NUM_EDGES)
    q = Problem(p.dtype)
    q.t[name] = q.t[name][:1].expand_as(q.t[name]).contiguous()
    return q


def run_raw(op: str, t: Dict[str, torch.Tensor], reduce: str):
    G = torch.ops.graphcl
    return {
        "spmm": lambda: G.spmm(t["rowptr"], t["col"], t["weight"], t["colptr"], t["csc_row"],
                               t["csc_perm"], t["x"], reduce),
        "spmm_forward": lambda: G.spmm_forward(t["rowptr"], t["col"], t["weight"], t["x"], reduce),
        "spmm_arg_backward": lambda: G.spmm_arg_backward(t["colptr"], t["csc_row"], t["csc_perm"],
                                                         t["weight"], t["arg"], t["grad_out"]),
        "sddmm": lambda: G.sddmm(t["rowptr"], t["col"], t["colptr"], t["csc_row"], t["csc_perm"],
                                 t["a"], t["b"]),
        "sddmm_forward": lambda: G.sddmm_forward(t["rowptr"], t["col"], t["a"], t["b"]),
        "segment_softmax": lambda: G.segment_softmax(t["rowptr"], t["scores"]),
        "segment_softmax_forward": lambda: G.segment_softmax_forward(t["rowptr"], t["scores"]),
        "segment_softmax_backward": lambda: G.segment_softmax_backward(t["rowptr"], t["out"],
                                                                       t["grad"]),
        "segment_csr": lambda: G.segment_csr(t["src"], t["rowptr"], reduce),
        "scatter_coo": lambda: G.scatter_coo(t["src"], t["index"], DIM_SIZE, reduce),
        "scatter_coo_forward": lambda: G.scatter_coo_forward(t["src"], t["index"], DIM_SIZE, reduce),
    }[op]()


def expected_raw(op: str, p: Problem, reduce: str):
    """(output, inputs with autograd, differentiable reference) of op on p."""
    t, edges = p.t, p.edges
    if op in ("spmm", "spmm_forward"):
        x, w = t["x"].requires_grad_(), t["weight"].requires_grad_()
        return spmm_ref(edges, NUM_ROWS, x, w, reduce, "first"), (x, w)
    if op == "spmm_arg_backward":
        x = t["x"].clone().requires_grad_()
        out = spmm_ref(edges, NUM_ROWS, x, t["weight"], reduce, "first")
        return torch.autograd.grad(out, x, t["grad_out"])[0], ()
    if op in ("sddmm", "sddmm_forward"):
        a, b = t["a"].requires_grad_(), t["b"].requires_grad_()
        return ref.sddmm(edges, a, b), (a, b)
    if op == "segment_softmax_backward":
        return softmax_backward_ref(edges, NUM_ROWS, t["out"], t["grad"]), ()
    if op.startswith("segment_softmax"):
        s = t["scores"].requires_grad_()
        return ref.segment_softmax(edges, NUM_ROWS, s), (s,)
    src = t["src"].requires_grad_()
    if op == "segment_csr":
        return segment_ref(src, t["rowptr"], reduce, "first"), (src,)
    return scatter_ref(src, t["index"], DIM_SIZE, reduce, "first"), (src,)


# op -> (its tensor arguments, the 2-D ones, whether it takes reduce)
RAW_OPS = {
    "spmm": (["rowptr", "col", "weight", "colptr", "csc_row", "csc_perm", "x"], {"x"}, True),
    "spmm_forward": (["rowptr", "col", "weight", "x"], {"x"}, True),
    "spmm_arg_backward": (["colptr", "csc_row", "csc_perm", "weight", "grad_out"], {"grad_out"}, True),
    "sddmm": (["rowptr", "col", "colptr", "csc_row", "csc_perm", "a", "b"], {"a", "b"}, False),
    "sddmm_forward": (["rowptr", "col", "a", "b"], {"a", "b"}, False),
    "segment_softmax": (["rowptr", "scores"], {"scores"}, False),
    "segment_softmax_forward": (["rowptr", "scores"], {"scores"}, False),
    "segment_softmax_backward": (["rowptr", "out", "grad"], {"out", "grad"}, False),
    "segment_csr": (["src", "rowptr"], {"src"}, True),
    "scatter_coo": (["src", "index"], {"src"}, True),
    "scatter_coo_forward": (["src", "index"], {"src"}, True),
}


def raw_cases():
    for op, (names, two_d, takes_reduce) in RAW_OPS.items():
        reduces = REDUCES if takes_reduce else [None]
        if op == "spmm_arg_backward":
            reduces = ["max", "min"]
        for name in names:
            for kind in layouts_for(name, name in two_d):
                for reduce in reduces:
                    yield pytest.param(op, name, kind, reduce, id=f"{op}-{name}-{kind}-{reduce}")


@needs_extension
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op,name,kind,reduce", list(raw_cases()))
def test_raw_op_layouts(op, name, kind, reduce, dtype, device):
    kernels_or_skip(device)
    p = Problem(dtype)
    if kind == "expanded":
        p = expanded_values(p, name)
    expected, ref_inputs = expected_raw(op, p, reduce)
    t = {k: v.detach().clone() for k, v in p.t.items()}
    if op == "spmm_arg_backward":
        t["arg"] = spmm_arg_ref(p.edges, NUM_ROWS, t["x"], t["weight"], reduce)
    t = {k: v.to(device) for k, v in t.items()}
    diff_names = [n for n in ("x", "weight", "a", "b", "scores", "src") if n in RAW_OPS[op][0]
                  and op in ("spmm", "sddmm", "segment_softmax", "segment_csr", "scatter_coo")]
    for n in diff_names:
        t[n].requires_grad_()
    # The gradient is taken for the view itself, what the op received.
    t[name] = view_of(name, t[name], kind)
    result = run_raw(op, t, reduce)
    out = result[0] if isinstance(result, (tuple, list)) else result
    torch.testing.assert_close(out.cpu(), expected.detach())
    if op in ("spmm_forward", "scatter_coo_forward") and reduce in ("max", "min"):
        arg = result[1].cpu().long()  # int32 on CPU (see test_spmm_argreduce)
        if op == "spmm_forward":
            torch.testing.assert_close(arg, spmm_arg_ref(p.edges, NUM_ROWS, p.t["x"].detach(),
                                                         p.t["weight"].detach(), reduce))
        else:  # arg indexes src: it must pick the entries that give the output
            picked = p.t["src"].detach().gather(0, arg.clamp_max(len(SCATTER_INDEX) - 1))
            torch.testing.assert_close(torch.where(arg < len(SCATTER_INDEX), picked, 0.0),
                                       expected.detach())
    if diff_names:
        assert_grads_match(out, tuple(t[n] for n in diff_names), expected, ref_inputs)
