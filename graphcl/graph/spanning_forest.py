"""Minimum spanning forests of a batch of small graphs (GPN's MST pruning)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse import csgraph
from torch import Tensor


def minimum_spanning_forest(edge_index: Tensor, weight: Tensor, num_nodes: int) -> Tensor:
    r"""Which edges a minimum spanning forest keeps.

    The edges are read as undirected (``i -> j`` and ``j -> i`` are one edge,
    with the smaller weight); the forest is computed once with
    ``scipy.sparse.csgraph.minimum_spanning_tree`` over the whole edge list, so
    a batch of disjoint task subgraphs (offset node ids) is pruned in one call,
    each component getting its own tree (``|V| - #components`` undirected
    edges). Every directed edge whose undirected pair is in the forest is
    kept. With Euclidean feature distances as weights this is GPN's
    maximum-similarity spanning tree (its Kruskal over the adjacency entries).

    Args:
        edge_index (Tensor): ``[2, E]`` int64 edges.
        weight (Tensor): ``[E]`` non-negative finite edge weights.
        num_nodes (int): number of nodes.

    Returns:
        A ``[E]`` bool mask (on ``edge_index``'s device). Ties between equal
        weights may be broken differently from a Python Kruskal.
    """
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must be a [2, E] tensor, got "
                         f"{tuple(getattr(edge_index, 'shape', ()))}")
    if not isinstance(weight, Tensor) or weight.shape != (edge_index.size(1),):
        raise ValueError(f"weight must be a [E] = [{edge_index.size(1)}] tensor, got "
                         f"{tuple(getattr(weight, 'shape', ()))}")
    e = edge_index.detach().cpu().numpy().astype(np.int64)
    w = weight.detach().cpu().double().numpy()
    if e.size and (e.min() < 0 or e.max() >= num_nodes):
        raise ValueError(f"edge_index holds nodes outside [0, {num_nodes})")
    if not np.all(np.isfinite(w)) or (w.size and w.min() < 0):
        raise ValueError("weight must be finite and non-negative")
    lo, hi = np.minimum(e[0], e[1]), np.maximum(e[0], e[1])
    edge_keys = lo * num_nodes + hi
    proper = np.flatnonzero(lo != hi)  # self-loops never join a forest
    # one entry per undirected pair, its smallest weight (a matrix built from
    # duplicates would add them up)
    order = proper[np.lexsort((w[proper], edge_keys[proper]))]
    first = np.ones(order.size, dtype=bool)
    first[1:] = edge_keys[order][1:] != edge_keys[order][:-1]
    pick = order[first]
    # scipy reads 0 as "no edge": shift every weight by 1, which leaves the
    # forest unchanged (every spanning forest of a graph has as many edges)
    matrix = sp.csr_matrix((w[pick] + 1.0, (lo[pick], hi[pick])), shape=(num_nodes, num_nodes))
    tree = csgraph.minimum_spanning_tree(matrix).tocoo()
    tree_keys = np.sort(np.minimum(tree.row, tree.col).astype(np.int64) * num_nodes
                        + np.maximum(tree.row, tree.col))
    keep = np.isin(edge_keys, tree_keys) & (lo != hi)
    return torch.from_numpy(keep).to(edge_index.device)


__all__ = ["minimum_spanning_forest"]
