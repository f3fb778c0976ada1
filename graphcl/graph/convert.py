"""One converter from what a PyG user holds to a :class:`SparseGraph`, with a
cache so that a training loop does not rebuild the CSR at every step."""
from __future__ import annotations

import sys
from typing import Optional, Tuple

import torch
from torch import Tensor

from graphcl.graph._cache import GraphCache
from graphcl.graph.validation import (check_count, explicit_sizes, is_pyg_edge_index,
                                       merge_edge_index_sizes)
from graphcl.graph.sparse_graph import SparseGraph

Sizes = Tuple[Optional[int], Optional[int]]
_CACHE = GraphCache(capacity=32)

_SPARSE_LAYOUTS = (torch.sparse_coo, torch.sparse_csr, torch.sparse_csc)
_ACCEPTED = ("a graphcl.SparseGraph, an edge_index tensor [2, E], a torch_geometric.EdgeIndex, "
             "a torch sparse tensor (COO/CSR/CSC) or a torch_sparse.SparseTensor")


def as_sparse_graph(adj, edge_weight: Optional[Tensor] = None, num_nodes: Optional[int] = None,
                    size: Optional[Tuple[Optional[int], Optional[int]]] = None, *,
                    cache: bool = True, name: str = "adj") -> SparseGraph:
    r"""The :class:`SparseGraph` of any adjacency a PyG user holds; every
    graphcl block and op calls it on its graph argument.

    Direction follows PyG: ``edge_index[0]`` holds sources and
    ``edge_index[1]`` targets, and a sparse matrix is read as PyG's ``adj_t``
    (shape ``[num_dst, num_src]``, entry ``(i, j)`` the weight of the edge
    ``j -> i``), so the graph's rows are the targets and ``spmm`` computes
    ``adj_t @ x``.

    Args:
        adj: one of

            - a :class:`SparseGraph`: returned as it is;
            - an ``edge_index`` (int32/int64 ``[2, E]``) or a
              ``torch_geometric.EdgeIndex`` (whose ``sparse_size`` gives the
              node counts it knows);
            - a torch sparse tensor, COO, CSR or CSC, with one floating value
              (the edge weight) per entry; a COO is coalesced (duplicates
              summed);
            - a ``torch_sparse.SparseTensor``, when torch_sparse is installed.
        edge_weight (Tensor, optional): one weight per column of an
            ``edge_index``, in its order. Sparse matrices carry their weights
            as values. (default: ``None``, unit weights)
        num_nodes (int, optional): the node count of a square graph.
        size ((int or None, int or None), optional): ``(num_src, num_dst)``,
            PyG's ``propagate`` convention; ``None`` entries are left to the
            input. (default: ``None``)
        cache (bool, optional): reuse the graph built for the same unchanged
            input (default ``True``; see below).
        name (str, optional): how error messages call ``adj`` (default
            ``'adj'``; graphcl's blocks pass their argument's name).

    Node counts: the counts given must match those the input carries (a
    sparse matrix's shape, an ``EdgeIndex``'s ``sparse_size``, a
    ``SparseGraph``'s) or a ValueError names both. For an ``edge_index``, a
    count given for one side only sets the other side too (a square graph,
    as PyG's ``propagate`` assumes when one feature matrix is passed), and
    with none given both are ``max index + 1``.

    Edge order: the graph is in CSR order (by target, then source);
    ``graph.to_csr_order(values)`` maps per-edge values given in the input's
    order (an ``edge_index``'s columns, a coalesced COO's or a CSC's entries)
    to it. CSR inputs are in CSR order already.

    Cache: a graph built from an ``edge_index``, ``EdgeIndex`` or sparse tensor
    is kept (at most 32 of them, least recently used dropped first) while the
    input is alive, and returned again for the same input object with the
    same ``edge_weight`` object and sizes, as long as neither tensor was
    modified: an in-place change bumps the tensor's version counter
    (``t._version``), and a new storage changes its ``data_ptr``, which both
    invalidate the entry. Writes that bypass the version counter (through
    ``t.data``, ``t.numpy()`` or DLPack) are not seen: pass ``cache=False``
    or call :func:`clear_graph_cache` after them. An ``edge_weight`` that
    requires grad is never cached (only the CSR structure is), since a cached
    graph would hold the previous step's autograd graph.

    Returns:
        SparseGraph: the graph, shared with the cache: treat it as read-only.
    """
    num_src, num_dst = _requested_sizes(num_nodes, size)
    if isinstance(adj, SparseGraph):
        if edge_weight is not None:
            raise ValueError("edge_weight cannot be given with a SparseGraph, which carries its "
                             "own weights in CSR order; use graph.with_edge_weight(...)")
        _check_own_sizes(f"{name} (a SparseGraph)", (adj.num_cols, adj.num_rows),
                         (num_src, num_dst))
        return adj
    owner, parts, build = _recipe(adj, edge_weight, num_src, num_dst, name)
    if not cache or any(p is not None and p.is_inference() for p in parts):
        return build(edge_weight)
    return _CACHE.lookup(owner, parts, edge_weight, (num_src, num_dst), build)


def clear_graph_cache() -> None:
    """Forget every graph :func:`as_sparse_graph` has cached."""
    _CACHE.clear()


# ----------------------------------------------------------------- inputs
def _requested_sizes(num_nodes, size) -> Sizes:
    if size is None:
        return explicit_sizes(num_nodes, None, None)
    if num_nodes is not None:
        raise ValueError("give either num_nodes or size, not both")
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise TypeError(f"size must be a pair (num_src, num_dst), got {size!r}")
    return tuple(None if s is None else check_count(s, f"size[{k}]")  # type: ignore[return-value]
                 for k, s in enumerate(size))


def _check_own_sizes(what: str, own: Tuple[int, int], given: Sizes) -> None:
    for side, o, g in (("source", own[0], given[0]), ("target", own[1], given[1])):
        if g is not None and g != o:
            raise ValueError(f"{what} has {o} {side} nodes but {g} were given "
                             f"(size = (num_src, num_dst) = {given})")


def _recipe(adj, edge_weight, num_src, num_dst, name):
    """``(owner, parts, build)``: the object the cache follows, the tensors
    whose contents define the graph, and ``build(edge_weight) -> SparseGraph``."""
    if isinstance(adj, Tensor) and adj.layout in _SPARSE_LAYOUTS:
        if edge_weight is not None:
            raise ValueError("edge_weight cannot be given with a sparse tensor, whose values "
                             "are the edge weights")
        return (adj,) + _sparse_tensor_recipe(adj, num_src, num_dst, name)
    if isinstance(adj, Tensor):
        return _edge_index_recipe(adj, num_src, num_dst)
    torch_sparse = sys.modules.get("torch_sparse")  # a SparseTensor needs it imported
    if torch_sparse is not None and isinstance(adj, torch_sparse.SparseTensor):
        if edge_weight is not None:
            raise ValueError("edge_weight cannot be given with a SparseTensor, whose values "
                             "are the edge weights")
        return _sparse_tensor_lib_recipe(adj, num_src, num_dst, name)
    raise TypeError(f"{name} must be {_ACCEPTED}; got {type(adj).__name__}")


def _edge_index_recipe(edge_index: Tensor, num_src, num_dst):
    data = edge_index
    if is_pyg_edge_index(edge_index):
        num_src, num_dst = merge_edge_index_sizes(edge_index, num_src, num_dst)
        data = edge_index.as_tensor()  # the EdgeIndex's own version counter stays at 0
    if (num_src is None) != (num_dst is None):  # PyG: one side given, the graph is square
        num_src = num_dst = num_src if num_src is not None else num_dst

    def build(edge_weight):
        return SparseGraph.from_edge_index(edge_index, edge_weight, num_src_nodes=num_src,
                                           num_dst_nodes=num_dst)
    return edge_index, (data,), build


def _sparse_values(values: Tensor, name: str) -> Tensor:
    if values.dim() != 1:
        raise ValueError(f"{name} must have one value per entry (a 2-D sparse matrix without "
                         f"dense dimensions), got values of shape {tuple(values.shape)}")
    if not values.is_floating_point():
        raise TypeError(f"{name}'s values are its edge weights and must be floating point, got "
                        f"{values.dtype}; convert with {name}.to(torch.get_default_dtype())")
    return values


def _sparse_tensor_recipe(adj: Tensor, num_src, num_dst, name):
    if adj.sparse_dim() != 2:
        raise ValueError(f"{name} must be a 2-D sparse matrix [num_dst, num_src], got shape "
                         f"{tuple(adj.shape)} with {adj.sparse_dim()} sparse dimensions")
    if adj.dim() != 2:
        raise ValueError(f"{name} must have one value per entry (no dense dimensions), got "
                         f"shape {tuple(adj.shape)}")
    _check_own_sizes(f"{name} (read as adj_t [num_dst, num_src])", (adj.size(1), adj.size(0)),
                     (num_src, num_dst))
    n_dst, n_src = adj.shape
    if adj.layout == torch.sparse_csr:
        rowptr, col, values = adj.crow_indices(), adj.col_indices(), adj.values()
        return (rowptr, col, values), \
            lambda _: SparseGraph.from_csr(rowptr, col, n_src, _sparse_values(values, name))
    if adj.layout == torch.sparse_csc:
        colptr, row, values = adj.ccol_indices(), adj.row_indices(), adj.values()

        def build_csc(_):
            src = torch.arange(n_src, device=colptr.device).repeat_interleave(
                (colptr[1:] - colptr[:-1]).long(), output_size=row.numel())
            return SparseGraph.from_edge_index(torch.stack([src, row.long()]),
                                               _sparse_values(values, name), num_src_nodes=n_src,
                                               num_dst_nodes=n_dst)
        return (colptr, row, values), build_csc
    indices, values = adj._indices(), adj._values()

    def build_coo(_):
        coalesced = adj.coalesce()
        dst, src = coalesced.indices()
        return SparseGraph.from_edge_index(torch.stack([src, dst]),
                                           _sparse_values(coalesced.values(), name),
                                           num_src_nodes=n_src, num_dst_nodes=n_dst)
    return (indices, values), build_coo


def _sparse_tensor_lib_recipe(adj, num_src, num_dst, name):
    n_dst, n_src = adj.sparse_sizes()
    _check_own_sizes(f"{name} (a SparseTensor, read as adj_t)", (n_src, n_dst), (num_src, num_dst))
    rowptr, col, value = adj.csr()
    if value is not None:
        value = _sparse_values(value, name)
    return adj, (rowptr, col, value), lambda _: SparseGraph.from_csr(rowptr, col, n_src, value)
