"""as_sparse_graph: every input form a PyG user holds, node counts, and the
cache (hits, invalidation by in-place changes, no pinning of dead inputs)."""
import gc
import warnings
import weakref

import pytest
import torch
from torch_geometric import EdgeIndex

from graphcl.graph import SparseGraph, as_sparse_graph, clear_graph_cache

N_SRC, N_DST = 6, 5


def bipartite_edges(seed=0, num_edges=14):
    """Edges j -> i with j < N_SRC, i < N_DST, some duplicated, isolated
    nodes at both ends (so inferred counts would be wrong)."""
    g = torch.Generator().manual_seed(seed)
    ei = torch.stack([torch.randint(0, N_SRC - 1, (num_edges,), generator=g),
                      torch.randint(0, N_DST - 1, (num_edges,), generator=g)])
    ei = torch.cat([ei, ei[:, :2]], 1)
    return ei, torch.rand(ei.size(1), generator=g, dtype=torch.float64)


def dense_reference(ei, w):
    """The [num_dst, num_src] weighted adjacency, duplicates summed."""
    dense = torch.zeros(N_DST, N_SRC, dtype=torch.float64)
    dense.index_put_((ei[1], ei[0]), w, accumulate=True)
    return dense


def sparse_forms(ei, w):
    """The same adjacency as every torch sparse layout (adj_t, rows = targets)."""
    coo = torch.sparse_coo_tensor(ei.flip(0), w, (N_DST, N_SRC))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {"coo": coo, "coo_coalesced": coo.coalesce(),
                "csr": coo.coalesce().to_sparse_csr(), "csc": coo.coalesce().to_sparse_csc()}


def test_every_input_form_gives_the_same_graph():
    ei, w = bipartite_edges()
    expected = dense_reference(ei, w)
    size = (N_SRC, N_DST)
    graphs = {"edge_index": as_sparse_graph(ei, w, size=size),
              "edge_index_int32": as_sparse_graph(ei.int(), w, size=size),
              "EdgeIndex": as_sparse_graph(EdgeIndex(ei, sparse_size=size), w),
              "SparseGraph": as_sparse_graph(SparseGraph.from_edge_index(
                  ei, w, num_src_nodes=N_SRC, num_dst_nodes=N_DST))}
    graphs.update({name: as_sparse_graph(adj) for name, adj in sparse_forms(ei, w).items()})
    for name, graph in graphs.items():
        assert (graph.num_cols, graph.num_rows) == size, name
        torch.testing.assert_close(graph.to_dense(torch.float64), expected, rtol=0, atol=1e-15,
                                   msg=name)
    unweighted = as_sparse_graph(ei, size=size)
    assert unweighted.edge_weight is None
    ones = torch.ones(ei.size(1), dtype=torch.float64)
    assert torch.equal(unweighted.to_dense(torch.float64), dense_reference(ei, ones))


def test_a_sparse_graph_is_returned_as_it_is():
    ei, w = bipartite_edges()
    graph = SparseGraph.from_edge_index(ei, w, num_src_nodes=N_SRC, num_dst_nodes=N_DST)
    assert as_sparse_graph(graph) is graph
    assert as_sparse_graph(graph, size=(N_SRC, N_DST)) is graph


def test_per_edge_values_map_from_the_input_order():
    """to_csr_order takes values in the input's edge order: an edge_index's
    columns, a CSC's entries."""
    ei, w = bipartite_edges()
    graph = as_sparse_graph(ei, size=(N_SRC, N_DST))
    assert torch.equal(graph.to_csr_order(w), as_sparse_graph(ei, w, size=(N_SRC, N_DST))
                       .edge_weight)
    csc = sparse_forms(ei, w)["csc"]
    from_csc = as_sparse_graph(csc)
    assert torch.equal(from_csc.to_csr_order(csc.values()), from_csc.edge_weight)


def test_node_counts():
    ei, _ = bipartite_edges()
    # nothing given: max index + 1 on both sides (square)
    inferred = as_sparse_graph(ei)
    assert inferred.num_rows == inferred.num_cols == int(ei.max()) + 1
    # one side given: square with that count (PyG's propagate)
    assert (as_sparse_graph(ei, size=(9, None)).num_cols,
            as_sparse_graph(ei, size=(9, None)).num_rows) == (9, 9)
    assert as_sparse_graph(ei, size=(None, 7)).num_cols == 7
    assert as_sparse_graph(ei, num_nodes=8).num_rows == 8
    # an EdgeIndex's own size fills the missing side
    half_sized = EdgeIndex(ei, sparse_size=(N_SRC, None))
    assert as_sparse_graph(half_sized).num_rows == N_SRC
    assert as_sparse_graph(EdgeIndex(ei, sparse_size=(N_SRC, N_DST)), size=(N_SRC, None)) \
        .num_rows == N_DST


@pytest.mark.parametrize("form", ["SparseGraph", "EdgeIndex", "csr", "coo"])
def test_counts_that_contradict_the_input_raise(form):
    ei, w = bipartite_edges()
    if form == "SparseGraph":
        adj = SparseGraph.from_edge_index(ei, num_src_nodes=N_SRC, num_dst_nodes=N_DST)
    elif form == "EdgeIndex":
        adj = EdgeIndex(ei, sparse_size=(N_SRC, N_DST))
    else:
        adj = sparse_forms(ei, w)[form]
    with pytest.raises(ValueError, match=str(N_SRC)):
        as_sparse_graph(adj, size=(N_SRC + 1, None))
    with pytest.raises(ValueError, match=str(N_DST)):
        as_sparse_graph(adj, size=(None, N_DST + 2))


def test_bad_input_raises_naming_the_argument():
    ei, w = bipartite_edges()
    with pytest.raises(TypeError, match="adj must be a graphcl.SparseGraph"):
        as_sparse_graph([[0, 1], [1, 0]])
    with pytest.raises(TypeError, match="edge_index must be a graphcl.SparseGraph"):
        as_sparse_graph("graph", name="edge_index")
    with pytest.raises(TypeError, match="edge_index must be int32 or int64"):
        as_sparse_graph(ei.float())
    with pytest.raises(ValueError, match="edge_weight cannot be given with a SparseGraph"):
        as_sparse_graph(as_sparse_graph(ei), w)
    with pytest.raises(ValueError, match="edge_weight cannot be given with a sparse tensor"):
        as_sparse_graph(sparse_forms(ei, w)["csr"], w)
    with pytest.raises(TypeError, match="values .* must be floating point"):
        as_sparse_graph(torch.sparse_coo_tensor(ei, torch.ones(ei.size(1), dtype=torch.long)))
    with pytest.raises(ValueError, match="one value per entry"):
        as_sparse_graph(torch.sparse_coo_tensor(ei, torch.ones(ei.size(1), 3)))
    with pytest.raises(ValueError, match="2-D sparse matrix"):
        as_sparse_graph(torch.sparse_coo_tensor(torch.zeros(3, 1, dtype=torch.long),
                                                torch.ones(1), (2, 2, 2)))
    with pytest.raises(ValueError, match="either num_nodes or size"):
        as_sparse_graph(ei, num_nodes=6, size=(6, 6))
    with pytest.raises(TypeError, match="size must be a pair"):
        as_sparse_graph(ei, size=6)
    with pytest.raises(TypeError, match=r"size\[0\] must be an int"):
        as_sparse_graph(ei, size=(6.0, None))
    with pytest.raises(ValueError, match="edge_weight must have shape"):
        as_sparse_graph(ei, w[:-1])


def test_uncoalesced_coo_sums_duplicates():
    ei = torch.tensor([[0, 0, 1], [1, 1, 0]])
    coo = torch.sparse_coo_tensor(ei.flip(0), torch.tensor([1.0, 2.0, 4.0]), (2, 2))
    graph = as_sparse_graph(coo)
    assert graph.num_edges == 2
    assert torch.equal(graph.to_dense(), torch.tensor([[0.0, 4.0], [3.0, 0.0]]))


# ------------------------------------------------------------------ cache
def test_the_same_unchanged_input_is_converted_once():
    ei, w = bipartite_edges()
    graph = as_sparse_graph(ei, w, size=(N_SRC, N_DST))
    assert as_sparse_graph(ei, w, size=(N_SRC, N_DST)) is graph
    # the normalised graph cached on it is reused too
    assert as_sparse_graph(ei, w, size=(N_SRC, N_DST)).normalized("sym") is \
        graph.normalized("sym")
    # other sizes, other weights, no weights: other graphs
    assert as_sparse_graph(ei, w, size=(N_SRC + 1, N_DST)) is not graph
    assert as_sparse_graph(ei, w.clone(), size=(N_SRC, N_DST)) is not graph
    assert as_sparse_graph(ei, size=(N_SRC, N_DST)) is not graph
    assert as_sparse_graph(ei, w, size=(N_SRC, N_DST), cache=False) is not graph
    csr = sparse_forms(ei, w)["csr"]
    assert as_sparse_graph(csr) is as_sparse_graph(csr)


def test_in_place_changes_invalidate_the_cache():
    ei, w = bipartite_edges()
    size = (N_SRC, N_DST)
    graph = as_sparse_graph(ei, w, size=size)
    ei[0, 0] = N_SRC - 1  # in place: bumps ei._version
    changed = as_sparse_graph(ei, w, size=size)
    assert changed is not graph
    assert torch.equal(changed.to_dense(torch.float64), dense_reference(ei, w))
    w.mul_(2)
    rescaled = as_sparse_graph(ei, w, size=size)
    assert rescaled is not changed
    assert torch.equal(rescaled.to_dense(torch.float64), dense_reference(ei, w))
    # an EdgeIndex: its data's version counter is followed
    edge_index = EdgeIndex(ei.clone(), sparse_size=size)
    before = as_sparse_graph(edge_index)
    edge_index.as_tensor()[1, 0] = N_DST - 1
    after = as_sparse_graph(edge_index)
    assert after is not before
    assert after.to_dense()[N_DST - 1].sum() > before.to_dense()[N_DST - 1].sum()
    # a sparse tensor's values
    csr = sparse_forms(ei, w)["csr"]
    old = as_sparse_graph(csr)
    old_sym = old.normalized("sym").edge_weight.clone()
    csr.values()[0] += 1  # the graph shares the values; its caches must go
    fresh = as_sparse_graph(csr)
    assert fresh is not old
    expected = SparseGraph.from_csr(csr.crow_indices(), csr.col_indices(), N_SRC,
                                    csr.values().clone()).normalized("sym").edge_weight
    assert torch.equal(fresh.normalized("sym").edge_weight, expected)
    assert not torch.equal(expected, old_sym)


def test_writes_behind_the_version_counter_need_clear_graph_cache():
    ei, _ = bipartite_edges()
    graph = as_sparse_graph(ei, size=(N_SRC, N_DST))
    ei.data[0, 0] = N_SRC - 1  # not seen by the version counter (documented)
    assert as_sparse_graph(ei, size=(N_SRC, N_DST)) is graph
    clear_graph_cache()
    fresh = as_sparse_graph(ei, size=(N_SRC, N_DST))
    assert fresh is not graph and fresh.to_dense()[:, N_SRC - 1].sum() >= 1


def test_the_cache_does_not_keep_dead_inputs_or_their_graphs():
    ei, w = bipartite_edges()
    graph_ref = weakref.ref(as_sparse_graph(ei.clone(), w, size=(N_SRC, N_DST)))
    gc.collect()
    assert graph_ref() is None  # the input died, and its graph with it
    kept = ei.clone()
    graph = as_sparse_graph(kept, size=(N_SRC, N_DST))
    alive = [bipartite_edges(seed)[0] for seed in range(40)]  # more than the cache holds
    for other in alive:
        as_sparse_graph(other, size=(N_SRC, N_DST))
    assert as_sparse_graph(kept, size=(N_SRC, N_DST)) is not graph  # evicted


def test_a_weight_that_requires_grad_is_gathered_anew_every_call():
    ei, w = bipartite_edges()
    w = w.float().requires_grad_()
    x = torch.randn(N_SRC, 3)
    for _ in range(2):  # a cached weighted graph would fail the second backward
        graph = as_sparse_graph(ei, w, size=(N_SRC, N_DST))
        grad, = torch.autograd.grad((graph.to_dense() @ x).sum(), w)
        torch.testing.assert_close(grad, x.sum(1)[ei[0]])  # d sum(A x) / d w_e
    assert as_sparse_graph(ei, w, size=(N_SRC, N_DST)) is not graph
    # ... but the CSR structure is reused
    assert as_sparse_graph(ei, w, size=(N_SRC, N_DST)).rowptr is graph.rowptr


def test_inference_tensors_are_converted_without_cache():
    ei, w = bipartite_edges()
    with torch.inference_mode():
        frozen = ei.clone()
        graph = as_sparse_graph(frozen, w, size=(N_SRC, N_DST))
        assert as_sparse_graph(frozen, w, size=(N_SRC, N_DST)) is not graph
    assert torch.equal(graph.to_dense(torch.float64), dense_reference(ei, w))


def test_torch_sparse_sparse_tensor():
    torch_sparse = pytest.importorskip("torch_sparse")
    ei, w = bipartite_edges()
    adj_t = torch_sparse.SparseTensor(row=ei[1], col=ei[0], value=w,
                                      sparse_sizes=(N_DST, N_SRC))
    graph = as_sparse_graph(adj_t)
    torch.testing.assert_close(graph.to_dense(torch.float64), dense_reference(ei, w))
    assert as_sparse_graph(adj_t) is graph
    with pytest.raises(ValueError, match="edge_weight cannot be given with a SparseTensor"):
        as_sparse_graph(adj_t, w)
