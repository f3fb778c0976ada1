"""Bad input raises a clear TypeError/ValueError naming the argument, before
any kernel runs, on both backends; edge cases (empty graphs, rows without
edges) work."""
import pytest
import scipy.sparse as sp
import torch

from graphcl import SparseGraph, ops


@pytest.fixture
def graph():
    return SparseGraph.from_edge_index(torch.tensor([[0, 1, 2, 2], [1, 2, 0, 1]]), num_nodes=3)


def test_edge_index_errors():
    with pytest.raises(ValueError, match="negative"):
        SparseGraph.from_edge_index(torch.tensor([[0, -1], [1, 0]]))
    with pytest.raises(ValueError, match=r"edge_index\[0\].*outside"):
        SparseGraph.from_edge_index(torch.tensor([[0, 5], [1, 0]]), num_nodes=3)
    with pytest.raises(ValueError, match=r"edge_index\[1\].*outside"):
        SparseGraph.from_edge_index(torch.tensor([[0, 1], [7, 0]]), num_nodes=3)
    with pytest.raises(ValueError, match=r"shape \[2, E\]"):
        SparseGraph.from_edge_index(torch.zeros(3, 4, dtype=torch.long))
    with pytest.raises(TypeError, match="edge_index must be int32 or int64"):
        SparseGraph.from_edge_index(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="edge_weight contains NaN"):
        SparseGraph.from_edge_index(torch.tensor([[0, 1], [1, 0]]), torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match=r"edge_weight must have shape \[2\]"):
        SparseGraph.from_edge_index(torch.tensor([[0, 1], [1, 0]]), torch.ones(3))
    with pytest.raises(TypeError, match="edge_weight must be floating point"):
        SparseGraph.from_edge_index(torch.tensor([[0, 1], [1, 0]]), torch.ones(2, dtype=torch.long))


def test_csr_errors():
    with pytest.raises(ValueError, match="rowptr is not sorted"):
        SparseGraph.from_csr(torch.tensor([0, 2, 1, 3]), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"rowptr\[0\] must be 0"):
        SparseGraph.from_csr(torch.tensor([1, 2, 3]), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"rowptr\[-1\]"):
        SparseGraph.from_csr(torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="col contains negative"):
        SparseGraph.from_csr(torch.tensor([0, 1, 2]), torch.tensor([0, -1]))
    with pytest.raises(ValueError, match="col holds node 4"):
        SparseGraph.from_csr(torch.tensor([0, 1, 2]), torch.tensor([0, 4]), num_cols=3)


def test_scipy_errors():
    with pytest.raises(TypeError, match="scipy.sparse"):
        SparseGraph.from_scipy(torch.eye(3))
    m = sp.csr_matrix(([1.0, float("nan")], ([0, 1], [1, 0])), shape=(2, 2))
    with pytest.raises(ValueError, match="NaN"):
        SparseGraph.from_scipy(m)


def test_spmm_argument_errors(backend, graph):
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match="x has 4 rows"):
        ops.spmm(graph, torch.randn(4, 4))
    with pytest.raises(ValueError, match="x must be 2-D"):
        ops.spmm(graph, torch.randn(3))
    with pytest.raises(TypeError, match="x must be floating point"):
        ops.spmm(graph, torch.ones(3, 4, dtype=torch.long))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        ops.spmm(graph, [[1.0]])
    with pytest.raises(TypeError, match="graph must be a graphcl.SparseGraph"):
        ops.spmm([[0, 1], [1, 0]], x)  # a list: not a graph (an edge_index tensor would be)
    with pytest.raises(ValueError, match="reduce must be one of"):
        ops.spmm(graph, x, reduce="prod")
    with pytest.raises(TypeError, match="edge_weight has dtype torch.float64"):
        ops.spmm(graph, x, torch.ones(4, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"edge_weight must have shape \[4\]"):
        ops.spmm(graph, x, torch.ones(5))
    with pytest.raises(ValueError, match="edge_weight contains NaN"):
        ops.spmm(graph, x, torch.tensor([1.0, float("nan"), 1.0, 1.0]))
    with pytest.raises(ValueError, match="x is on meta"):
        ops.spmm(graph, torch.randn(3, 4, device="meta"))


def test_sddmm_and_softmax_errors(backend, graph):
    with pytest.raises(ValueError, match="a has 2 features but b has 3"):
        ops.sddmm(graph, torch.randn(3, 2), torch.randn(3, 3))
    with pytest.raises(TypeError, match="a has dtype"):
        ops.sddmm(graph, torch.randn(3, 2), torch.randn(3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="scores has 3 rows but the graph has 4 edges"):
        ops.segment_softmax(graph, torch.randn(3))


def test_scatter_and_segment_errors(backend):
    src = torch.randn(4, 2)
    with pytest.raises(ValueError, match="index contains a negative index"):
        ops.scatter(src, torch.tensor([0, -1, 1, 0]), 3)
    with pytest.raises(ValueError, match=r"index contains index 5, outside \[0, 3\)"):
        ops.scatter(src, torch.tensor([0, 5, 1, 0]), 3)
    with pytest.raises(ValueError, match=r"index must have shape \[4\]"):
        ops.scatter(src, torch.tensor([0, 1]), 3)
    with pytest.raises(TypeError, match="index must be int32 or int64"):
        ops.scatter(src, torch.tensor([0.0, 1.0, 1.0, 0.0]), 3)
    with pytest.raises(ValueError, match="rowptr is not sorted"):
        ops.segment_csr(src, torch.tensor([0, 3, 2, 4]))
    with pytest.raises(ValueError, match=r"rowptr\[-1\] = 3 but src has 4 rows"):
        ops.segment_csr(src, torch.tensor([0, 1, 3]))


def test_raw_ops_reject_bad_csr_without_crashing():
    """Even bypassing the Python checks, the C++ kernels refuse bad input with
    an exception instead of reading out of bounds."""
    if not ops.extension_available():
        pytest.skip("extension not built")
    x = torch.randn(3, 2)
    with pytest.raises(IndexError, match="col holds an index outside"):
        torch.ops.graphcl.spmm_forward(torch.tensor([0, 1, 2]), torch.tensor([0, 9]), None, x, "sum")
    with pytest.raises(ValueError, match="rowptr must be non-decreasing"):
        torch.ops.graphcl.spmm_forward(torch.tensor([0, 2, 1]), torch.tensor([0, 1]), None, x, "sum")
    with pytest.raises(ValueError, match=r"rowptr\[-1\]"):
        torch.ops.graphcl.spmm_forward(torch.tensor([0, 1, 5]), torch.tensor([0, 1]), None, x, "sum")
    with pytest.raises(IndexError, match="index holds a value outside"):
        torch.ops.graphcl.scatter_coo(x, torch.tensor([0, 4, 1]), 3, "sum")
    with pytest.raises(TypeError, match="col has dtype"):
        torch.ops.graphcl.spmm_forward(torch.tensor([0, 1, 2]), torch.tensor([0, 1], dtype=torch.int32),
                                       None, x, "sum")


def test_empty_graph_and_isolated_rows(backend):
    empty = SparseGraph.from_edge_index(torch.zeros(2, 0, dtype=torch.long), num_nodes=4)
    x = torch.randn(4, 3, requires_grad=True)
    for reduce in ("sum", "mean", "max", "min"):
        out = ops.spmm(empty, x, reduce=reduce)
        assert out.shape == (4, 3) and bool((out == 0).all())
        out.sum().backward()
        assert bool((x.grad == 0).all())
        x.grad = None
    assert ops.sddmm(empty, x.detach(), x.detach()).shape == (0,)
    assert ops.segment_softmax(empty, torch.zeros(0)).shape == (0,)
    nothing = SparseGraph.from_edge_index(torch.zeros(2, 0, dtype=torch.long))
    assert nothing.num_rows == 0 and ops.spmm(nothing, torch.zeros(0, 5)).shape == (0, 5)


def test_self_loops_and_duplicates(backend):
    # Node 0 has a self-loop and receives the edge 1 -> 0 twice.
    graph = SparseGraph.from_edge_index(torch.tensor([[0, 1, 1], [0, 0, 0]]), num_nodes=2)
    x = torch.tensor([[1.0], [10.0]])
    assert ops.spmm(graph, x).tolist() == [[21.0], [0.0]]
    assert ops.spmm(graph, x, reduce="mean").tolist() == [[7.0], [0.0]]
    assert ops.spmm(graph, x, reduce="max").tolist() == [[10.0], [0.0]]
