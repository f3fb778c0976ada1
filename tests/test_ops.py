"""graphcl.ops against the independent reference (tests/reference.py) on
random graphs from hypothesis, on both backends, plus gradcheck."""
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reference as ref
from graphcl import SparseGraph, ops

REDUCES = ["sum", "mean", "max", "min"]
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def graphs(draw, max_nodes=12, max_edges=40, square=False):
    """Random (possibly bipartite) multigraphs with self-loops, duplicate edges
    and rows without edges."""
    num_rows = draw(st.integers(0, max_nodes))
    num_cols = num_rows if square else draw(st.integers(0, max_nodes))
    if num_rows == 0 or num_cols == 0:
        edges = []
    else:
        edges = draw(st.lists(st.tuples(st.integers(0, num_cols - 1), st.integers(0, num_rows - 1)),
                              max_size=max_edges))
    if edges and draw(st.booleans()):
        edges = edges + edges[: draw(st.integers(0, len(edges)))]  # duplicate edges
    return num_rows, num_cols, edges


def build(num_rows, num_cols, edges, index_dtype=torch.int64):
    ei = torch.tensor(edges, dtype=torch.long).t().reshape(2, -1)
    return SparseGraph.from_edge_index(ei, num_src_nodes=num_cols, num_dst_nodes=num_rows,
                                       index_dtype=index_dtype)


def csr_edges(graph):
    """The graph's edges in CSR order as (source, target) pairs."""
    return list(zip(graph.col.tolist(), graph.row.tolist()))


@SETTINGS
@given(g=graphs(), F=st.integers(1, 9), weighted=st.booleans(), reduce=st.sampled_from(REDUCES),
       int32=st.booleans(), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_spmm_matches_reference(backend, g, F, weighted, reduce, int32, dtype):
    num_rows, num_cols, edges = g
    graph = build(num_rows, num_cols, edges, torch.int32 if int32 else torch.int64)
    x = torch.randn(num_cols, F, dtype=dtype)
    w = torch.rand(graph.num_edges, dtype=dtype) if weighted else None
    out = ops.spmm(graph, x, w, reduce=reduce)
    expected = ref.spmm(csr_edges(graph), num_rows, x, w, reduce)
    assert out.shape == (num_rows, F)
    torch.testing.assert_close(out, expected)


@SETTINGS
@given(g=graphs(), F=st.integers(1, 6), reduce=st.sampled_from(REDUCES))
def test_spmm_gradients_match_reference(backend, g, F, reduce):
    num_rows, num_cols, edges = g
    graph = build(num_rows, num_cols, edges)
    # Random weights make exact ties in max/min (whose gradient is
    # implementation-defined) a probability-zero event.
    x = torch.randn(num_cols, F, dtype=torch.float64, requires_grad=True)
    w = torch.rand(graph.num_edges, dtype=torch.float64, requires_grad=True)
    grad_out = torch.randn(num_rows, F, dtype=torch.float64)
    got = grads(ops.spmm(graph, x, w, reduce), (x, w), grad_out)
    exp = grads(ref.spmm(csr_edges(graph), num_rows, x, w, reduce), (x, w), grad_out)
    for a, b in zip(got, exp):
        torch.testing.assert_close(a, b)


def grads(out, inputs, grad_out):
    """Gradients of `out` for `inputs`, with zeros where an input is unused."""
    if out.numel() == 0 or not out.requires_grad:
        return [torch.zeros_like(t) for t in inputs]
    gs = torch.autograd.grad(out, inputs, grad_out, allow_unused=True)
    return [torch.zeros_like(t) if g is None else g for t, g in zip(inputs, gs)]


@SETTINGS
@given(g=graphs(), F=st.integers(1, 9))
def test_sddmm_matches_reference(backend, g, F):
    num_rows, num_cols, edges = g
    graph = build(num_rows, num_cols, edges)
    a = torch.randn(num_rows, F, dtype=torch.float64, requires_grad=True)
    b = torch.randn(num_cols, F, dtype=torch.float64, requires_grad=True)
    out = ops.sddmm(graph, a, b)
    expected = ref.sddmm(csr_edges(graph), a, b)
    torch.testing.assert_close(out, expected)
    if graph.num_edges:
        g_out = torch.randn_like(out)
        got = torch.autograd.grad(out, (a, b), g_out)
        exp = torch.autograd.grad(expected, (a, b), g_out)
        for x1, x2 in zip(got, exp):
            torch.testing.assert_close(x1, x2)


@SETTINGS
@given(g=graphs(square=True), heads=st.sampled_from([None, 1, 3]))
def test_segment_softmax_matches_reference(backend, g, heads):
    num_rows, num_cols, edges = g
    graph = build(num_rows, num_cols, edges)
    shape = (graph.num_edges,) if heads is None else (graph.num_edges, heads)
    scores = (torch.randn(shape, dtype=torch.float64) * 5).requires_grad_()
    out = ops.segment_softmax(graph, scores)
    expected = ref.segment_softmax(csr_edges(graph), num_rows, scores)
    torch.testing.assert_close(out, expected)
    if graph.num_edges:
        g_out = torch.randn_like(out)
        torch.testing.assert_close(torch.autograd.grad(out, scores, g_out)[0],
                                   torch.autograd.grad(expected, scores, g_out)[0])


@SETTINGS
@given(num_src=st.integers(0, 30), dim_size=st.integers(1, 8), F=st.integers(1, 5),
       reduce=st.sampled_from(REDUCES), data=st.data())
def test_scatter_and_segment_match_reference(backend, num_src, dim_size, F, reduce, data):
    index = torch.tensor(data.draw(st.lists(st.integers(0, dim_size - 1), min_size=num_src,
                                            max_size=num_src)), dtype=torch.long)
    src = torch.randn(num_src, F, dtype=torch.float64, requires_grad=True)
    expected = ref.scatter(src, index, dim_size, reduce)
    out = ops.scatter(src, index, dim_size, reduce)
    torch.testing.assert_close(out, expected)
    # The same reduction as CSR segments over the sorted entries.
    order = torch.argsort(index, stable=True)
    rowptr = torch.zeros(dim_size + 1, dtype=torch.long)
    rowptr[1:] = torch.bincount(index, minlength=dim_size).cumsum(0)
    seg = ops.segment_csr(src[order], rowptr, reduce)
    torch.testing.assert_close(seg, expected)
    if num_src:
        g_out = torch.randn_like(out)
        exp_grad = torch.autograd.grad(expected, src, g_out)[0]
        torch.testing.assert_close(torch.autograd.grad(out, src, g_out)[0], exp_grad)
        torch.testing.assert_close(torch.autograd.grad(seg, src, g_out)[0], exp_grad)


def test_one_dimensional_inputs(backend):
    src = torch.tensor([1.0, 5.0, 2.0, 4.0])
    index = torch.tensor([1, 1, 0, 0])
    assert ops.scatter(src, index, reduce="max").tolist() == [4.0, 5.0]
    assert ops.segment_csr(src, torch.tensor([0, 2, 4]), "sum").tolist() == [6.0, 6.0]


@pytest.mark.parametrize("reduce", REDUCES)
def test_gradcheck_spmm(reduce):
    if not ops.extension_available():
        pytest.skip("extension not built")
    torch.manual_seed(0)
    ei = torch.randint(0, 15, (2, 60))
    graph = SparseGraph.from_edge_index(ei, num_nodes=15)
    x = torch.randn(15, 4, dtype=torch.float64, requires_grad=True)
    w = torch.rand(graph.num_edges, dtype=torch.float64, requires_grad=True)
    with ops.use_backend("extension"):
        assert torch.autograd.gradcheck(lambda x, w: ops.spmm(graph, x, w, reduce), (x, w))
        assert torch.autograd.gradcheck(lambda x: ops.spmm(graph, x, None, reduce), (x,))


def test_gradcheck_sddmm_softmax_scatter():
    if not ops.extension_available():
        pytest.skip("extension not built")
    torch.manual_seed(1)
    graph = SparseGraph.from_edge_index(torch.randint(0, 10, (2, 40)), num_nodes=10)
    a = torch.randn(10, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(10, 3, dtype=torch.float64, requires_grad=True)
    s = torch.randn(graph.num_edges, 2, dtype=torch.float64, requires_grad=True)
    src = torch.randn(25, 3, dtype=torch.float64, requires_grad=True)
    index = torch.randint(0, 6, (25,))
    with ops.use_backend("extension"):
        assert torch.autograd.gradcheck(lambda a, b: ops.sddmm(graph, a, b), (a, b))
        assert torch.autograd.gradcheck(lambda s: ops.segment_softmax(graph, s), (s,))
        for reduce in REDUCES:
            assert torch.autograd.gradcheck(lambda s: ops.scatter(s, index, 7, reduce), (src,))


def test_spmm_inference_mode_and_no_grad(backend):
    graph = SparseGraph.from_edge_index(torch.tensor([[0, 1, 2], [1, 2, 0]]), num_nodes=3)
    x = torch.randn(3, 2)
    expected = x[[2, 0, 1]]
    with torch.no_grad():
        torch.testing.assert_close(ops.spmm(graph, x), expected)
    with torch.inference_mode():
        torch.testing.assert_close(ops.spmm(graph, x), expected)


def test_backend_reporting():
    assert ops.backend() in ("extension", "torch")
    with ops.use_backend("torch"):
        assert ops.backend() == "torch"
    with pytest.raises(ValueError, match="backend"):
        ops.set_backend("cusparse")


def test_extension_is_built_in_ci():
    """CI installs the package with its extension; losing it silently would
    hide every kernel test behind the fallback."""
    import os
    if os.environ.get("CI") and os.environ.get("GRAPHCL_SKIP_EXTENSION") != "1":
        assert ops.extension_available()


def test_environment_selects_the_fallback():
    """GRAPHCL_BACKEND=torch runs everything on the pure-PyTorch fallback."""
    import subprocess
    import sys
    code = ("import torch; from graphcl import SparseGraph, ops; "
            "g = SparseGraph.from_edge_index(torch.tensor([[0, 1], [1, 0]])); "
            "print(ops.backend(), ops.spmm(g, torch.ones(2, 3)).sum().item())")
    env = dict(__import__("os").environ, GRAPHCL_BACKEND="torch")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["torch", "6.0"]
    env["GRAPHCL_BACKEND"] = "cuda-magic"
    proc = subprocess.run([sys.executable, "-c", "import graphcl"], env=env, capture_output=True,
                          text=True)
    assert proc.returncode != 0 and "GRAPHCL_BACKEND must be one of" in proc.stderr
