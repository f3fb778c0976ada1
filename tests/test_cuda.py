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
