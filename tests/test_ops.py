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


# ---------------------------------------------------------------------------
# First and second derivatives of every op, both backends
# ---------------------------------------------------------------------------

def _small_problem():
    torch.manual_seed(7)
    graph = SparseGraph.from_edge_index(torch.randint(0, 7, (2, 24)), num_nodes=8)  # node 7 isolated
    x = torch.randn(8, 3, dtype=torch.float64, requires_grad=True)
    w = (torch.rand(graph.num_edges, dtype=torch.float64) + 0.5).requires_grad_()
    a = torch.randn(8, 3, dtype=torch.float64, requires_grad=True)
    s = torch.randn(graph.num_edges, 2, dtype=torch.float64, requires_grad=True)
    src = torch.randn(15, 3, dtype=torch.float64, requires_grad=True)
    index = torch.randint(0, 5, (15,))
    rowptr = torch.tensor([0, 4, 4, 9, 15])
    return graph, x, w, a, s, src, index, rowptr


def _every_op():
    """(name, function, inputs) for every differentiable entry point."""
    graph, x, w, a, s, src, index, rowptr = _small_problem()
    cases = [("sddmm", lambda a, b: ops.sddmm(graph, a, b), (a, x)),
             ("segment_softmax", lambda s: ops.segment_softmax(graph, s), (s,))]
    for reduce in REDUCES:
        cases += [(f"spmm-{reduce}", lambda x, w, r=reduce: ops.spmm(graph, x, w, r), (x, w)),
                  (f"spmm-unweighted-{reduce}", lambda x, r=reduce: ops.spmm(graph, x, None, r), (x,)),
                  (f"segment_csr-{reduce}", lambda s, r=reduce: ops.segment_csr(s, rowptr, r), (src,)),
                  (f"scatter-{reduce}", lambda s, r=reduce: ops.scatter(s, index, 6, r), (src,))]
    return cases


@pytest.mark.parametrize("case", range(len(_every_op())), ids=[c[0] for c in _every_op()])
def test_gradcheck_and_gradgradcheck_every_op(backend, case):
    """Second derivatives are implemented on both backends (the extension
    builds its backward from differentiable ops when create_graph=True);
    before, they were silently zero on the extension."""
    _, fn, inputs = _every_op()[case]
    assert torch.autograd.gradcheck(fn, inputs, check_grad_dtypes=True)
    assert torch.autograd.gradgradcheck(fn, inputs)


def test_second_derivative_of_spmm_weights_is_not_zero(backend):
    """The example of the issue: d/dw of sum(d loss / dx) through spmm."""
    graph, x, w, *_ = _small_problem()
    gx, = torch.autograd.grad(ops.spmm(graph, x, w).pow(2).sum(), x, create_graph=True)
    gw, = torch.autograd.grad(gx.sum(), w)
    with ops.use_backend("torch"):
        gx_ref, = torch.autograd.grad(ops.spmm(graph, x, w).pow(2).sum(), x, create_graph=True)
        gw_ref, = torch.autograd.grad(gx_ref.sum(), w)
    assert gw.abs().sum() > 0
    torch.testing.assert_close(gw, gw_ref)


def test_raw_kernels_refuse_a_backward():
    """The raw *_forward/*_backward ops have no derivative: a backward through
    one says so instead of silently giving no gradient."""
    if not ops.extension_available():
        pytest.skip("extension not built")
    x = torch.randn(3, 2, requires_grad=True)
    out, _ = torch.ops.graphcl.spmm_forward(torch.tensor([0, 1, 2]), torch.tensor([0, 1]), None, x,
                                            "sum")
    with pytest.raises(RuntimeError, match="derivative for graphcl::spmm_forward is not implemented"):
        out.sum().backward()
    s = torch.randn(2, 1, requires_grad=True)
    y = torch.ops.graphcl.segment_softmax_forward(torch.tensor([0, 2]), s)
    with pytest.raises(RuntimeError, match="segment_softmax_forward is not implemented"):
        y.sum().backward()


# ---------------------------------------------------------------------------
# Argument checks of the registered ops themselves (torch.ops.graphcl.*)
# ---------------------------------------------------------------------------

def _L(*values, dtype=torch.long):
    return torch.tensor(values, dtype=dtype)


_X = torch.randn(3, 2)
_ARG = torch.zeros(2, 2, dtype=torch.long)
_G = torch.randn(2, 2)


def _raw_bad_calls():
    """(id, call, exception, message) of bad calls to every registered op."""
    G = torch.ops.graphcl if ops.extension_available() else None
    csc = (_L(0, 1, 2, 2), _L(0, 1), _L(0, 1))  # a valid CSC of the 2 x 3 CSR below
    grad_x = _X.clone().requires_grad_()
    return [
        # CSR pointers: empty, not starting at 0, decreasing, wrong end, 2-D, float, mixed dtype
        ("spmm-empty-rowptr", lambda: G.spmm(_L(), _L(0, 1), None, *csc, _X, "sum"),
         ValueError, "rowptr must have at least one entry"),
        ("spmm-rowptr-start", lambda: G.spmm(_L(1, 1, 2), _L(0, 1), None, *csc, _X, "sum"),
         ValueError, r"rowptr\[0\] must be 0, got 1"),
        ("spmm-rowptr-decreasing", lambda: G.spmm(_L(0, 2, 1, 2), _L(0, 1), None, *csc, _X, "sum"),
         ValueError, "rowptr must be non-decreasing"),
        ("spmm-rowptr-end", lambda: G.spmm(_L(0, 1, 5), _L(0, 1), None, *csc, _X, "sum"),
         ValueError, r"rowptr\[-1\] = 5 but there are 2 entries in col"),
        ("spmm-rowptr-2d", lambda: G.spmm(_L(0, 1, 2).view(1, 3), _L(0, 1), None, *csc, _X, "sum"),
         ValueError, "rowptr must be 1-D"),
        ("spmm-rowptr-float", lambda: G.spmm(torch.tensor([0., 1., 2.]), _L(0, 1), None, *csc, _X,
                                             "sum"), TypeError, "rowptr must be int32 or int64"),
        ("spmm-col-dtype", lambda: G.spmm(_L(0, 1, 2), _L(0, 1, dtype=torch.int32), None, *csc, _X,
                                          "sum"), TypeError, "col has dtype"),
        ("spmm-col-range", lambda: G.spmm(_L(0, 1, 2), _L(0, 3), None, *csc, _X, "sum"),
         IndexError, r"col holds an index outside \[0, 3\)"),
        ("spmm-col-negative", lambda: G.spmm_forward(_L(0, 1, 2), _L(0, -1), None, _X, "sum"),
         IndexError, "col holds an index outside"),
        # features, weights, reduce
        ("spmm-x-1d", lambda: G.spmm(_L(0, 1, 2), _L(0, 1), None, *csc, torch.randn(3), "sum"),
         ValueError, "x must be 2-D"),
        ("spmm-x-int", lambda: G.spmm_forward(_L(0, 1, 2), _L(0, 1), None, _L(1, 2, 3).view(3, 1),
                                              "sum"), TypeError, "x must be floating point"),
        ("spmm-x-half", lambda: G.spmm_forward(_L(0, 1, 2), _L(0, 1), None, _X.half(), "sum"),
         TypeError, "x must be float32 or float64 on CPU"),
        ("spmm-weight-shape", lambda: G.spmm(_L(0, 1, 2), _L(0, 1), torch.ones(3), *csc, _X, "sum"),
         ValueError, r"edge_weight must have shape \[2\]"),
        ("spmm-weight-dtype", lambda: G.spmm(_L(0, 1, 2), _L(0, 1), torch.ones(2, dtype=torch.float64),
                                             *csc, _X, "sum"), TypeError, "edge_weight has dtype"),
        ("spmm-reduce", lambda: G.spmm_forward(_L(0, 1, 2), _L(0, 1), None, _X, "prod"),
         ValueError, "reduce must be one of"),
        # the CSC, checked when a backward can follow
        ("spmm-colptr-length", lambda: G.spmm(_L(0, 1, 2), _L(0, 1), None, _L(0, 1, 2), _L(0, 1),
                                              _L(0, 1), grad_x, "max"),
         ValueError, "colptr must have 4 entries"),
        ("spmm-colptr-decreasing", lambda: G.spmm(_L(0, 1, 2), _L(0, 1), None, _L(0, 2, 1, 2), _L(0, 1),
                                                  _L(0, 1), grad_x, "sum"),
         ValueError, "colptr must be non-decreasing"),
        ("spmm-csc_row-range", lambda: G.spmm(_L(0, 1, 2), _L(0, 1), None, _L(0, 1, 2, 2), _L(0, 5),
                                              _L(0, 1), grad_x, "sum"),
         IndexError, r"csc_row holds an index outside \[0, 2\)"),
        ("spmm-csc_perm-range", lambda: G.spmm(_L(0, 1, 2), _L(0, 1), None, _L(0, 1, 2, 2), _L(0, 1),
                                               _L(0, 7), grad_x, "sum"),
         IndexError, r"csc_perm holds an index outside \[0, 2\)"),
        ("spmm-csc_perm-shape", lambda: G.spmm(_L(0, 1, 2), _L(0, 1), None, _L(0, 1, 2, 2), _L(0, 1),
                                               _L(0), grad_x, "sum"),
         ValueError, r"csc_perm must have shape \[2\]"),
        # spmm_arg_backward
        ("arg_backward-empty-colptr", lambda: G.spmm_arg_backward(_L(), _L(0, 1), _L(0, 1), None,
                                                                  _ARG, _G),
         ValueError, "colptr must have at least one entry"),
        ("arg_backward-colptr-end", lambda: G.spmm_arg_backward(_L(0, 1, 3, 3), _L(0, 1), _L(0, 1),
                                                                None, _ARG, _G),
         ValueError, r"colptr\[-1\] = 3 but there are 2 entries in csc_row"),
        ("arg_backward-arg-shape", lambda: G.spmm_arg_backward(*csc, None, _ARG[:1], _G),
         ValueError, "arg must have the shape of grad_out"),
        ("arg_backward-arg-dtype", lambda: G.spmm_arg_backward(*csc, None, _ARG.float(), _G),
         TypeError, "arg must be int32 or int64"),
        ("arg_backward-csc_row-range", lambda: G.spmm_arg_backward(_L(0, 1, 2, 2), _L(0, 2), _L(0, 1),
                                                                   None, _ARG, _G),
         IndexError, r"csc_row holds an index outside \[0, 2\)"),
        ("arg_backward-csc_perm-range", lambda: G.spmm_arg_backward(_L(0, 1, 2, 2), _L(0, 1), _L(0, 2),
                                                                    None, _ARG, _G),
         IndexError, r"csc_perm holds an index outside \[0, 2\)"),
        ("arg_backward-weight-shape", lambda: G.spmm_arg_backward(*csc, torch.ones(4), _ARG, _G),
         ValueError, r"edge_weight must have shape \[2\]"),
        # sddmm
        ("sddmm-empty-rowptr", lambda: G.sddmm(_L(), _L(0, 1), *csc, torch.randn(0, 2), _X),
         ValueError, "rowptr must have at least one entry"),
        ("sddmm-a-rows", lambda: G.sddmm_forward(_L(0, 1, 2), _L(0, 1), torch.randn(3, 2), _X),
         ValueError, "a must have 2 rows"),
        ("sddmm-features", lambda: G.sddmm_forward(_L(0, 1, 2), _L(0, 1), torch.randn(2, 3), _X),
         ValueError, "a and b must have the same number of features"),
        ("sddmm-dtypes", lambda: G.sddmm_forward(_L(0, 1, 2), _L(0, 1), _G.double(), _X),
         TypeError, "b has dtype"),
        ("sddmm-col-range", lambda: G.sddmm_forward(_L(0, 1, 2), _L(0, 4), _G, _X),
         IndexError, r"col holds an index outside \[0, 3\)"),
        ("sddmm-rowptr-end", lambda: G.sddmm_forward(_L(0, 1, 1), _L(0, 1), _G, _X),
         ValueError, r"rowptr\[-1\] = 1 but there are 2 entries in col"),
        ("sddmm-csc", lambda: G.sddmm(_L(0, 1, 2), _L(0, 1), _L(0, 1, 2, 2), _L(0, 1), _L(0, 9), _G,
                                      grad_x), IndexError, "csc_perm holds an index outside"),
        # segment_softmax
        ("softmax-empty-rowptr", lambda: G.segment_softmax(_L(), torch.randn(4, 1)),
         ValueError, "rowptr must have at least one entry"),
        ("softmax_forward-empty-rowptr", lambda: G.segment_softmax_forward(_L(), torch.randn(4, 1)),
         ValueError, "rowptr must have at least one entry"),
        ("softmax-rowptr-end", lambda: G.segment_softmax(_L(0, 2, 3), torch.randn(4, 1)),
         ValueError, r"rowptr\[-1\] = 3 but there are 4 rows in scores"),
        ("softmax-rowptr-decreasing", lambda: G.segment_softmax(_L(0, 3, 2, 4), torch.randn(4, 1)),
         ValueError, "rowptr must be non-decreasing"),
        ("softmax-scores-1d", lambda: G.segment_softmax(_L(0, 4), torch.randn(4)),
         ValueError, "scores must be 2-D"),
        ("softmax_backward-shapes", lambda: G.segment_softmax_backward(_L(0, 4), torch.randn(4, 1),
                                                                       torch.randn(4, 2)),
         ValueError, "grad must have the shape of out"),
        ("softmax_backward-dtypes", lambda: G.segment_softmax_backward(_L(0, 4), torch.randn(4, 1),
                                                                       torch.randn(4, 1).double()),
         TypeError, "grad has dtype"),
        ("softmax_backward-rowptr", lambda: G.segment_softmax_backward(_L(0, 5), torch.randn(4, 1),
                                                                       torch.randn(4, 1)),
         ValueError, r"rowptr\[-1\] = 5 but there are 4 rows in out"),
        # segment_csr, scatter_coo
        ("segment_csr-empty-rowptr", lambda: G.segment_csr(torch.randn(4, 2), _L(), "sum"),
         ValueError, "rowptr must have at least one entry"),
        ("segment_csr-rowptr-end", lambda: G.segment_csr(torch.randn(4, 2), _L(0, 3), "max"),
         ValueError, r"rowptr\[-1\] = 3 but there are 4 rows in src"),
        ("segment_csr-src-1d", lambda: G.segment_csr(torch.randn(4), _L(0, 4), "sum"),
         ValueError, "src must be 2-D"),
        ("scatter-dim_size", lambda: G.scatter_coo(_X, _L(0, 1, 2), -1, "sum"),
         ValueError, "dim_size must be non-negative"),
        ("scatter-index-shape", lambda: G.scatter_coo(_X, _L(0, 1), 3, "sum"),
         ValueError, r"index must have shape \[3\]"),
        ("scatter-index-dtype", lambda: G.scatter_coo_forward(_X, torch.zeros(3), 3, "sum"),
         TypeError, "index must be int32 or int64"),
        ("scatter-index-range", lambda: G.scatter_coo_forward(_X, _L(0, -1, 2), 3, "max"),
         IndexError, r"index holds a value outside \[0, 3\)"),
    ]


_CHILD = """
import json, re, sys
sys.path.insert(0, sys.argv[1])
import test_ops
for name, call, exc, message in test_ops._raw_bad_calls():
    try:
        call()
        got = "no exception"
    except Exception as e:
        got = f"{type(e).__name__}: {e}"
        if isinstance(e, exc) and re.search(message, str(e)):
            got = "ok"
    print(json.dumps([name, got]), flush=True)
"""


@pytest.fixture(scope="module")
def raw_bad_call_results():
    """Runs every bad call in one child process (several of them used to
    read out of bounds, and a crash must fail the tests, not end the
    session); maps each case to 'ok' or what happened instead."""
    if not ops.extension_available():
        pytest.skip("extension not built")
    import json
    import subprocess
    import sys
    from pathlib import Path
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(Path(__file__).parent)],
                          capture_output=True, text=True, timeout=600)
    results = dict(json.loads(line) for line in proc.stdout.splitlines() if line.startswith("["))
    return results, f"child exited with {proc.returncode}: {proc.stderr[-2000:]}"


@pytest.mark.parametrize("case", [c[0] for c in _raw_bad_calls()])
def test_registered_ops_check_their_arguments(raw_bad_call_results, case):
    """Bad input to torch.ops.graphcl.* raises a Python exception of the
    expected type naming the argument, never a crash or a torch-internal
    message."""
    results, child = raw_bad_call_results
    assert case in results, f"the child died before this case ({child})"
    assert results[case] == "ok", results[case]


def test_segment_softmax_with_empty_rowptr_does_not_crash():
    """This call used to kill the process with SIGSEGV: run it in a child so
    that a regression fails this test instead of the whole session."""
    if not ops.extension_available():
        pytest.skip("extension not built")
    import subprocess
    import sys
    code = ("import torch, graphcl.ops\n"
            "try:\n"
            "    torch.ops.graphcl.segment_softmax(torch.zeros(0, dtype=torch.long), torch.randn(4, 1))\n"
            "except ValueError as e:\n"
            "    print('ValueError:', e)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "rowptr must have at least one entry" in proc.stdout
