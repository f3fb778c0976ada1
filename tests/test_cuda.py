"""CUDA kernels against the CPU kernels (themselves checked against the
reference in test_ops.py). Skipped where no GPU or no CUDA build is present."""
import pytest
import torch

from graphcl import SparseGraph, ops

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]

REDUCES = ["sum", "mean", "max", "min"]
TOLERANCES = {torch.float32: 1e-5, torch.float64: 1e-10, torch.float16: 2e-2, torch.bfloat16: 5e-2}


@pytest.fixture(scope="module")
def graph():
    if not ops.extension_has_cuda():
        pytest.skip("graphcl was built without CUDA kernels")
    torch.manual_seed(0)
    # Hubs (node 0 receives 3000 edges), isolated rows, duplicates, self-loops.
    n = 700
    ei = torch.cat([torch.randint(0, n - 50, (2, 20000)),
                    torch.stack([torch.randint(0, n, (3000,)), torch.zeros(3000, dtype=torch.long)]),
                    torch.stack([torch.arange(20), torch.arange(20)])], 1)
    return SparseGraph.from_edge_index(ei, num_nodes=n)


@pytest.mark.parametrize("dtype", list(TOLERANCES))
@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("features", [1, 7, 64, 130, 256])
@pytest.mark.parametrize("index_dtype", [torch.int32, torch.int64])
def test_spmm_cuda_matches_cpu(graph, dtype, reduce, features, index_dtype):
    tol = TOLERANCES[dtype]
    x = torch.randn(graph.num_cols, features, dtype=torch.float64)
    w = torch.rand(graph.num_edges, dtype=torch.float64)
    expected = ops.spmm(graph, x, w, reduce)  # CPU float64
    g = graph.to("cuda", index_dtype=index_dtype)
    xc = x.to("cuda", dtype).requires_grad_()
    wc = w.to("cuda", dtype).requires_grad_()
    out = ops.spmm(g, xc, wc, reduce)
    torch.testing.assert_close(out.double().cpu(), expected, rtol=tol, atol=tol * 10)
    if dtype == torch.float64:
        grad = torch.randn_like(out)
        gx, gw = torch.autograd.grad(out, (xc, wc), grad)
        xr, wr = x.clone().requires_grad_(), w.clone().requires_grad_()
        ex, ew = torch.autograd.grad(ops.spmm(graph, xr, wr, reduce), (xr, wr), grad.cpu())
        torch.testing.assert_close(gx.cpu(), ex)
        torch.testing.assert_close(gw.cpu(), ew)


@pytest.mark.parametrize("dtype", list(TOLERANCES))
def test_sddmm_and_softmax_cuda_match_cpu(graph, dtype):
    tol = TOLERANCES[dtype]
    a = torch.randn(graph.num_rows, 33, dtype=torch.float64)
    b = torch.randn(graph.num_cols, 33, dtype=torch.float64)
    s = torch.randn(graph.num_edges, 4, dtype=torch.float64)
    g = graph.to("cuda")
    torch.testing.assert_close(ops.sddmm(g, a.to("cuda", dtype), b.to("cuda", dtype)).double().cpu(),
                               ops.sddmm(graph, a, b), rtol=tol, atol=tol * 50)
    torch.testing.assert_close(ops.segment_softmax(g, s.to("cuda", dtype)).double().cpu(),
                               ops.segment_softmax(graph, s), rtol=tol, atol=tol)


def test_gradcheck_cuda(graph):
    g = SparseGraph.from_edge_index(torch.randint(0, 12, (2, 50)), num_nodes=12).to("cuda")
    x = torch.randn(12, 3, dtype=torch.float64, device="cuda", requires_grad=True)
    w = torch.rand(g.num_edges, dtype=torch.float64, device="cuda", requires_grad=True)
    s = torch.randn(g.num_edges, 2, dtype=torch.float64, device="cuda", requires_grad=True)
    for reduce in REDUCES:
        assert torch.autograd.gradcheck(lambda x, w: ops.spmm(g, x, w, reduce), (x, w))
    assert torch.autograd.gradcheck(lambda a, b: ops.sddmm(g, a, b), (x, x.detach().clone().requires_grad_()))
    assert torch.autograd.gradcheck(lambda s: ops.segment_softmax(g, s), (s,))
    index = torch.randint(0, 5, (12,), device="cuda")
    for reduce in REDUCES:
        assert torch.autograd.gradcheck(lambda x: ops.scatter(x, index, 6, reduce), (x,))


def test_cuda_device_mismatch_is_a_clear_error(graph):
    with pytest.raises(ValueError, match="x is on cpu but the graph is on cuda"):
        ops.spmm(graph.to("cuda"), torch.randn(graph.num_cols, 4))


# ---------------------------------------------------------------------------
# Issue 11 on CUDA: NaN semantics, strided indices, argument checks. The
# layout and NaN tests of test_ops_layouts.py / test_ops_nan.py also run on
# CUDA; these add the kernels' heavy-row (whole-block) paths and the checks
# only a second device can reach.
# ---------------------------------------------------------------------------

def _with_nan_in_hub(graph, x):
    """NaN and +-inf in sources that feed the hub row 0 (3000 edges: the
    whole-block path, whose partials merge in a different order)."""
    hub_sources = graph.col[int(graph.rowptr[0]):int(graph.rowptr[1])].unique()
    j = hub_sources[torch.randperm(hub_sources.numel())[:4]].tolist()
    x = x.clone()
    x[j[0], 0] = float("nan")
    x[j[1], 1] = float("inf")
    x[j[2], 1] = float("nan")
    x[j[3], 2] = -float("inf")
    return x


@pytest.mark.parametrize("dtype", list(TOLERANCES))
@pytest.mark.parametrize("reduce", REDUCES)
def test_spmm_cuda_nan_matches_cpu(graph, dtype, reduce):
    tol = TOLERANCES[dtype]
    x = _with_nan_in_hub(graph, torch.randn(graph.num_cols, 8, dtype=torch.float64))
    w = torch.rand(graph.num_edges, dtype=torch.float64) + 0.5
    xr, wr = x.clone().requires_grad_(), w.clone().requires_grad_()
    expected = ops.spmm(graph, xr, wr, reduce)  # CPU float64
    xc = x.to("cuda", dtype).requires_grad_()
    wc = w.to("cuda", dtype).requires_grad_()
    out = ops.spmm(graph.to("cuda"), xc, wc, reduce)
    assert out.isnan().any()
    torch.testing.assert_close(out.double().cpu(), expected, rtol=tol, atol=tol * 10, equal_nan=True)
    if dtype == torch.float64:
        # The same entry (the first NaN, else the first maximum) gets the gradient.
        grad = torch.randn_like(expected)
        got = torch.autograd.grad(out, (xc, wc), grad.cuda())
        exp = torch.autograd.grad(expected, (xr, wr), grad)
        for a, b in zip(got, exp):
            torch.testing.assert_close(a.cpu(), b, equal_nan=True)


@pytest.mark.parametrize("dtype", list(TOLERANCES))
def test_softmax_and_segment_cuda_nan_match_cpu(graph, dtype):
    tol = TOLERANCES[dtype]
    s = torch.randn(graph.num_edges, 3, dtype=torch.float64)
    hub = slice(int(graph.rowptr[0]), int(graph.rowptr[1]))
    s[hub.start + 17, 0] = float("nan")  # hub row, head 0: all NaN
    s[hub.start + 40, 1] = float("inf")  # hub row, head 1: all NaN (inf - inf)
    s[int(graph.rowptr[5]), 2] = float("inf")  # a light row
    g = graph.to("cuda")
    got = ops.segment_softmax(g, s.to("cuda", dtype)).double().cpu()
    torch.testing.assert_close(got, ops.segment_softmax(graph, s), rtol=tol, atol=tol, equal_nan=True)
    assert got[hub, 0].isnan().all() and got[hub, 1].isnan().all() and not got[hub, 2].isnan().any()
    for reduce in ("max", "min"):
        seg = ops.segment_csr(s.to("cuda", dtype), graph.rowptr.cuda(), reduce).double().cpu()
        torch.testing.assert_close(seg, ops.segment_csr(s, graph.rowptr, reduce), rtol=tol, atol=tol,
                                   equal_nan=True)
        assert seg[0, 0].isnan()


def test_strided_indices_on_cuda(graph):
    rowptr = torch.stack([graph.rowptr, graph.rowptr.flip(0)], 1).cuda()[:, 0]
    col = torch.stack([graph.col, graph.num_cols - 1 - graph.col], 1).cuda()[:, 0]
    assert not rowptr.is_contiguous() and not col.is_contiguous()
    x = torch.randn(graph.num_cols, 16, dtype=torch.float64)
    g = SparseGraph.from_csr(rowptr, col, num_cols=graph.num_cols)
    for reduce in REDUCES:
        torch.testing.assert_close(ops.spmm(g, x.cuda(), reduce=reduce).cpu(),
                                   ops.spmm(graph, x, reduce=reduce))
    colptr, csc_row, csc_perm = (torch.stack([t, t.flip(0)], 1).cuda()[:, 0] for t in graph.csc)
    arg = torch.ops.graphcl.spmm_forward(graph.rowptr.cuda(), graph.col.cuda(), None, x.cuda(), "max")[1]
    grad_out = torch.randn(graph.num_rows, 16, dtype=torch.float64)
    got = torch.ops.graphcl.spmm_arg_backward(colptr, csc_row, csc_perm, None, arg, grad_out.cuda())
    expected = torch.ops.graphcl.spmm_arg_backward(*graph.csc, None, arg.cpu(), grad_out)
    torch.testing.assert_close(got.cpu(), expected)


def test_registered_ops_check_arguments_on_cuda():
    """Bad indices are refused before any kernel reads them (no illegal
    memory access, the CUDA context stays usable), and mixed devices are
    named."""
    if not ops.extension_has_cuda():
        pytest.skip("graphcl was built without CUDA kernels")
    G = torch.ops.graphcl
    L = lambda *v: torch.tensor(v, dtype=torch.long, device="cuda")  # noqa: E731
    x = torch.randn(3, 2, device="cuda")
    with pytest.raises(ValueError, match="rowptr must have at least one entry"):
        G.segment_softmax(L(), torch.randn(4, 1, device="cuda"))
    with pytest.raises(ValueError, match=r"rowptr\[-1\] = 5 but there are 2 entries in col"):
        G.spmm_forward(L(0, 1, 5), L(0, 1), None, x, "sum")
    with pytest.raises(ValueError, match="rowptr must be non-decreasing"):
        G.sddmm_forward(L(0, 2, 1, 2), L(0, 1), torch.randn(3, 2, device="cuda"), x)
    with pytest.raises(IndexError, match=r"col holds an index outside \[0, 3\)"):
        G.spmm_forward(L(0, 1, 2), L(0, 1000000), None, x, "max")
    with pytest.raises(IndexError, match="csc_perm holds an index outside"):
        G.spmm_arg_backward(L(0, 1, 2, 2), L(0, 1), L(0, 9), None,
                            torch.zeros(2, 2, dtype=torch.long, device="cuda"),
                            torch.randn(2, 2, device="cuda"))
    with pytest.raises(ValueError, match="rowptr is on cpu but expected cuda"):
        G.spmm_forward(torch.tensor([0, 1, 2]), L(0, 1), None, x, "sum")
    with pytest.raises(ValueError, match="x is on cpu but expected cuda|rowptr is on cuda"):
        G.spmm_forward(L(0, 1, 2), L(0, 1), None, x.cpu(), "sum")
    # The context is intact: a valid call still works.
    assert G.spmm_forward(L(0, 1, 2), L(0, 1), None, x, "sum")[0].shape == (2, 2)
    torch.cuda.synchronize()


def test_double_backward_cuda(graph):
    g = SparseGraph.from_edge_index(torch.randint(0, 12, (2, 50)), num_nodes=12).to("cuda")
    x = torch.randn(12, 3, dtype=torch.float64, device="cuda", requires_grad=True)
    w = (torch.rand(g.num_edges, dtype=torch.float64, device="cuda") + 0.5).requires_grad_()
    s = torch.randn(g.num_edges, 2, dtype=torch.float64, device="cuda", requires_grad=True)
    for reduce in REDUCES:
        assert torch.autograd.gradgradcheck(lambda x, w: ops.spmm(g, x, w, reduce), (x, w))
    assert torch.autograd.gradgradcheck(lambda a, b: ops.sddmm(g, a, b),
                                        (x, x.detach().clone().requires_grad_()))
    assert torch.autograd.gradgradcheck(lambda s: ops.segment_softmax(g, s), (s,))
