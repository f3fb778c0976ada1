"""Bad or unusual input to SparseGraph's builders and to ops.scatter raises a
clear TypeError/ValueError naming the argument, instead of being truncated,
wrapped around or silently dropped."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch_geometric import EdgeIndex

from graphcl import SparseGraph, ops

EDGES = torch.tensor([[0, 1, 2, 2], [1, 2, 0, 1]])
INT32_MAX = 2 ** 31 - 1


# --------------------------------------------------------------------------- #
# Node counts must be integers
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", ["num_nodes", "num_src_nodes", "num_dst_nodes"])
@pytest.mark.parametrize("bad", [2.9, 3.0, True, "3", torch.tensor(3.0), torch.tensor([3]),
                                 np.float64(3.0)])
def test_node_counts_must_be_ints(name, bad):
    with pytest.raises(TypeError, match=f"{name} must be an int"):
        SparseGraph.from_edge_index(EDGES, **{name: bad})


@pytest.mark.parametrize("name", ["num_nodes", "num_src_nodes", "num_dst_nodes"])
def test_negative_node_counts_are_refused(name):
    with pytest.raises(ValueError, match=f"{name} must be non-negative"):
        SparseGraph.from_edge_index(torch.zeros(2, 0, dtype=torch.long), **{name: -1})


@pytest.mark.parametrize("count", [4, np.int64(4), np.int32(4), torch.tensor(4),
                                   torch.tensor(4, dtype=torch.int32)])
def test_integer_like_node_counts_are_accepted(count):
    g = SparseGraph.from_edge_index(EDGES, num_nodes=count)
    assert (g.num_rows, g.num_cols) == (4, 4) and type(g.num_cols) is int
    g = SparseGraph.from_edge_index(EDGES, num_src_nodes=count, num_dst_nodes=count)
    assert (g.num_rows, g.num_cols) == (4, 4)
    assert SparseGraph.from_csr(g.rowptr, g.col, num_cols=count).num_cols == 4


def test_from_csr_num_cols_must_be_an_int():
    with pytest.raises(TypeError, match="num_cols must be an int"):
        SparseGraph.from_csr(torch.tensor([0, 1, 2]), torch.tensor([0, 1]), num_cols=3.5)


# --------------------------------------------------------------------------- #
# Index dtypes: only int32/int64, and the counts must fit
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("bad", [torch.float32, torch.int16, torch.uint8, torch.bool, "int32"])
def test_index_dtype_must_be_int32_or_int64(backend, bad):
    with pytest.raises(TypeError, match="index_dtype must be torch.int32 or torch.int64"):
        SparseGraph.from_edge_index(EDGES, index_dtype=bad)
    with pytest.raises(TypeError, match="index_dtype must be torch.int32 or torch.int64"):
        SparseGraph.from_scipy(sp.eye(3, format="csr"), index_dtype=bad)
    g = SparseGraph.from_edge_index(EDGES)
    with pytest.raises(TypeError, match="index_dtype must be torch.int32 or torch.int64"):
        g.to(index_dtype=bad)


def test_node_ids_beyond_int32_are_refused_not_wrapped():
    # Node 2**31 in int32 would wrap to -2**31.
    ei = torch.tensor([[2 ** 31], [0]])
    with pytest.raises(ValueError, match="num_src_nodes = 2147483649 does not fit index_dtype "
                                         "torch.int32"):
        SparseGraph.from_edge_index(ei, num_dst_nodes=1, index_dtype=torch.int32)
    with pytest.raises(ValueError, match="num_dst_nodes = 2147483649 does not fit"):
        SparseGraph.from_edge_index(ei.flip(0), num_src_nodes=1, index_dtype=torch.int32)
    g = SparseGraph.from_edge_index(ei, num_dst_nodes=1)  # int64 holds it
    assert int(g.col[0]) == 2 ** 31
    with pytest.raises(ValueError, match="num_cols = 2147483649 does not fit index_dtype "
                                         "torch.int32"):
        g.to(index_dtype=torch.int32)
    # The largest count int32 holds is fine.
    g = SparseGraph.from_edge_index(torch.tensor([[INT32_MAX - 1], [0]]), num_dst_nodes=1,
                                    index_dtype=torch.int32)
    assert int(g.col[0]) == INT32_MAX - 1 and g.num_cols == INT32_MAX


def test_counts_beyond_int32_are_refused_by_every_builder():
    wide = sp.csr_matrix((np.ones(1), ([0], [2 ** 31 + 4])), shape=(1, 2 ** 31 + 5))
    with pytest.raises(ValueError, match="num_cols = 2147483653 does not fit"):
        SparseGraph.from_scipy(wide, index_dtype=torch.int32)
    assert SparseGraph.from_scipy(wide).num_cols == 2 ** 31 + 5
    # int32 CSR tensors with a num_cols int32 cannot hold.
    with pytest.raises(ValueError, match="num_cols = 2147483648 does not fit"):
        SparseGraph.from_csr(torch.tensor([0, 1], dtype=torch.int32),
                             torch.tensor([0], dtype=torch.int32), num_cols=2 ** 31)


def test_constructor_refuses_non_integer_indices():
    with pytest.raises(TypeError, match="rowptr's dtype must be torch.int32 or torch.int64"):
        SparseGraph(torch.tensor([0.0, 1.0]), torch.tensor([0.0]), 1)
    with pytest.raises(TypeError, match="col has dtype torch.int32 but rowptr has torch.int64"):
        SparseGraph(torch.tensor([0, 1]), torch.tensor([0], dtype=torch.int32), 1)


# --------------------------------------------------------------------------- #
# torch_geometric.EdgeIndex sizes
# --------------------------------------------------------------------------- #
def test_edge_index_sizes_fill_in_but_never_override():
    eidx = EdgeIndex(EDGES, sparse_size=(3, 5))
    g = SparseGraph.from_edge_index(eidx)
    assert (g.num_cols, g.num_rows) == (3, 5)
    # An explicit count agreeing with the EdgeIndex is fine; the missing one
    # comes from the EdgeIndex.
    g = SparseGraph.from_edge_index(eidx, num_src_nodes=3)
    assert (g.num_cols, g.num_rows) == (3, 5)
    g = SparseGraph.from_edge_index(eidx, num_dst_nodes=5)
    assert (g.num_cols, g.num_rows) == (3, 5)
    # A contradicting count raises instead of being replaced.
    with pytest.raises(ValueError, match=r"num_dst_nodes = 7 contradicts the EdgeIndex's "
                                         r"sparse_size \(3, 5\)"):
        SparseGraph.from_edge_index(eidx, num_dst_nodes=7)
    with pytest.raises(ValueError, match="num_src_nodes = 4 contradicts"):
        SparseGraph.from_edge_index(eidx, num_src_nodes=4, num_dst_nodes=5)
    with pytest.raises(ValueError, match="contradicts"):
        SparseGraph.from_edge_index(eidx, num_nodes=5)
    # Without a declared size, explicit counts are used as given.
    g = SparseGraph.from_edge_index(EdgeIndex(EDGES), num_src_nodes=4, num_dst_nodes=6)
    assert (g.num_cols, g.num_rows) == (4, 6)
    g = SparseGraph.from_edge_index(EdgeIndex(EDGES, sparse_size=(None, 6)), num_src_nodes=4)
    assert (g.num_cols, g.num_rows) == (4, 6)


# --------------------------------------------------------------------------- #
# scipy input
# --------------------------------------------------------------------------- #
def test_complex_scipy_matrix_is_refused():
    m = sp.csr_matrix(np.array([[0, 1 + 2j], [3j, 0]]))
    with pytest.raises(TypeError, match="matrix must have real entries, got dtype complex128"):
        SparseGraph.from_scipy(m)


@pytest.mark.parametrize("bad", [torch.int64, torch.bool, torch.complex64, np.float32])
def test_scipy_weight_dtype_must_be_floating(bad):
    with pytest.raises(TypeError, match="dtype must be a floating torch.dtype"):
        SparseGraph.from_scipy(sp.eye(3, format="csr"), dtype=bad)


@pytest.mark.parametrize("fmt", ["csr", "csr_array"])
def test_from_scipy_does_not_modify_the_matrix(fmt):
    # Unsorted column indices inside row 0.
    indptr, indices = np.array([0, 3, 4]), np.array([2, 0, 1, 0])
    data = np.array([1.0, 2.0, 3.0, 4.0])
    make = sp.csr_array if fmt == "csr_array" else sp.csr_matrix
    m = make((data.copy(), indices.copy(), indptr.copy()), shape=(2, 3))
    g = SparseGraph.from_scipy(m)
    np.testing.assert_array_equal(m.indices, indices)
    np.testing.assert_array_equal(m.data, data)
    assert g.col.tolist() == [0, 1, 2, 0] and g.edge_weight.tolist() == [2.0, 3.0, 1.0, 4.0]
    torch.testing.assert_close(g.to_dense(), torch.from_numpy(m.toarray()).float())


def test_integer_and_bool_scipy_matrices_are_real():
    m = sp.csr_matrix(np.array([[0, 2], [1, 0]], dtype=np.int64))
    assert SparseGraph.from_scipy(m).to_dense().tolist() == [[0.0, 2.0], [1.0, 0.0]]
    assert SparseGraph.from_scipy(m.astype(bool)).to_dense().tolist() == [[0.0, 1.0], [1.0, 0.0]]


# --------------------------------------------------------------------------- #
# scatter's dim_size and index
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("bad", [3.0, 2.5, True, "3", torch.tensor(3.0), torch.tensor([3]), None])
def test_scatter_dim_size_must_be_an_int(backend, bad):
    src, index = torch.randn(4, 2), torch.tensor([0, 1, 1, 0])
    if bad is None:  # None means "infer it", which works
        assert ops.scatter(src, index, bad).shape == (2, 2)
        return
    with pytest.raises(TypeError, match="dim_size must be an int"):
        ops.scatter(src, index, bad)


def test_scatter_dim_size_must_be_non_negative_and_cover_the_index(backend):
    src, index = torch.randn(4, 2), torch.tensor([0, 1, 1, 0])
    with pytest.raises(ValueError, match="dim_size must be non-negative, got -1"):
        ops.scatter(src, index, -1)
    with pytest.raises(ValueError, match=r"index contains index 1, outside \[0, 1\)"):
        ops.scatter(src, index, 1)
    for size in (np.int64(3), torch.tensor(3), 3):
        out = ops.scatter(src, index, size, reduce="max")
        assert out.shape == (3, 2)
        torch.testing.assert_close(out[2], torch.zeros(2))  # nothing points to row 2


@pytest.mark.parametrize("dim_size", [None, 3])
@pytest.mark.parametrize("bad", [torch.tensor([0.0, 1.0, 1.0, 0.0]), torch.tensor([0, 1, 1, 0]).bool(),
                                 torch.tensor([0, 1, 1, 0], dtype=torch.int16), [0, 1, 1, 0]])
def test_scatter_index_dtype_is_checked_first(backend, dim_size, bad):
    with pytest.raises(TypeError, match="index must be"):
        ops.scatter(torch.randn(4, 2), bad, dim_size)


# --------------------------------------------------------------------------- #
# The differences from torch_scatter that graphcl.ops documents
# --------------------------------------------------------------------------- #
def test_documented_differences_from_torch_scatter(backend):
    src, index, rowptr = torch.randn(4, 2), torch.tensor([0, 2, 2, 0]), torch.tensor([0, 2, 2, 4])
    for op, args in ((ops.scatter, (index, 3)), (ops.segment_csr, (rowptr,))):
        # No 'mul' reduction.
        with pytest.raises(ValueError, match="reduce must be one of"):
            op(src, *args, reduce="mul")
        # Integer and bool inputs are refused.
        for dtype in (torch.long, torch.int32, torch.bool):
            with pytest.raises(TypeError, match="src must be floating point"):
                op(src.to(dtype), *args)
        # Empty segments give 0 for max and min too (segment/row 1 is empty).
        for reduce in ("max", "min"):
            out = op(src - 100, *args, reduce=reduce)
            torch.testing.assert_close(out[1], torch.zeros(2))
            assert bool((out[[0, 2]] < -90).all())
    # Dimension 0 only: no broadcast index of src's shape, no batched rowptr.
    with pytest.raises(ValueError, match=r"index must have shape \[4\]"):
        ops.scatter(src, index[:, None].expand(4, 2), 3)
    with pytest.raises(ValueError, match="rowptr must be 1-D"):
        ops.segment_csr(src, rowptr[None].expand(2, 4))
    # int32 indices are accepted (torch_scatter needs int64).
    torch.testing.assert_close(ops.scatter(src, index.int(), 3), ops.scatter(src, index, 3))
