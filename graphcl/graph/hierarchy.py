r"""Dense grouped graphs of a hierarchy: every node linked to each of its
ancestors, grouped by their distance (DGP, Kampffmeyer et al., CVPR 2019).

:func:`ancestor_distance_groups` runs one breadth-first search from every node
at once: the frontier of all nodes is a sparse matrix, advanced one level by a
sparse-sparse product with the child → parent adjacency, so 32k nodes take a
dozen products instead of 32k Python searches. A cycle is found as a node
reaching itself and raises.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from graphcl.graph.sparse_graph import SparseGraph
from graphcl.graph.validation import check_count, check_index_tensor

DIRECTIONS = ("ancestors", "descendants")


@dataclass(frozen=True)
class DistanceGroups:
    r"""All (node, ancestor) pairs of a hierarchy with their BFS distance.

    Group :math:`g` holds the pairs at distance :math:`g` for
    :math:`g < \text{max\_distance}` and every farther pair in the last group
    (:math:`d \ge \text{max\_distance}`); group 0 is each node with itself.

    Attributes:
        node: ``[P]`` int64, the descendant end of every pair.
        ancestor: ``[P]`` int64, the ancestor end.
        distance: ``[P]`` int64 shortest child → parent path length.
        num_nodes: nodes of the hierarchy.
        max_distance: distance from which pairs share one group.
    """
    node: Tensor = field(repr=False)
    ancestor: Tensor = field(repr=False)
    distance: Tensor = field(repr=False)
    num_nodes: int
    max_distance: int

    @property
    def num_groups(self) -> int:
        return self.max_distance + 1

    @property
    def group(self) -> Tensor:
        """``[P]`` group of every pair (distance clipped at ``max_distance``)."""
        return self.distance.clamp(max=self.max_distance)

    @property
    def sizes(self) -> List[int]:
        """Number of pairs in every group."""
        return torch.bincount(self.group, minlength=self.num_groups).tolist()

    def _ends(self, direction: str) -> Tuple[Tensor, Tensor]:
        """(source, target) of the messages: ancestors send to their descendants
        in the ancestor phase, descendants to their ancestors in the other."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        return (self.ancestor, self.node) if direction == "ancestors" else (self.node, self.ancestor)

    def stacked(self, direction: str = "ancestors") -> Tuple[SparseGraph, Tensor]:
        r"""Every group in one graph: the weight of a pair is
        :math:`1 / |\{\text{pairs of its target in its group}\}|`, DGP's 'in'
        normalisation of each group, and ``group`` says which group each edge
        (CSR order) belongs to, so
        ``spmm(graph, x, graph.edge_weight * alpha[group])`` is
        :math:`\sum_g \alpha_g D_g^{-1} A_g x` in one product.

        Args:
            direction: ``'ancestors'`` (row ``u`` averages over ``u``'s
                ancestors at each distance) or ``'descendants'`` (over its
                descendants).

        Returns:
            ``(graph, group)``: a square :class:`SparseGraph` with the weights
            above and the ``[E]`` int64 group of every CSR edge.
        """
        source, target = self._ends(direction)
        group = self.group
        per_target_group = torch.bincount(target * self.num_groups + group,
                                          minlength=self.num_nodes * self.num_groups)
        weight = 1.0 / per_target_group[target * self.num_groups + group].float()
        graph = SparseGraph.from_edge_index(torch.stack([source, target]), weight,
                                            num_nodes=self.num_nodes)
        return graph, graph.to_csr_order(group)

    def merged(self, direction: str = "ancestors") -> SparseGraph:
        """All pairs as one row-normalised graph, distances ignored (DGPM's dense graph)."""
        source, target = self._ends(direction)
        return SparseGraph.from_edge_index(torch.stack([source, target]),
                                           num_nodes=self.num_nodes).normalized("row")

    def graphs(self, direction: str = "ancestors") -> List[SparseGraph]:
        """One row-normalised graph per group (what DGP's code multiplies one by one)."""
        source, target = self._ends(direction)
        group = self.group
        return [SparseGraph.from_edge_index(torch.stack([source[group == g], target[group == g]]),
                                            num_nodes=self.num_nodes).normalized("row")
                for g in range(self.num_groups)]


def ancestor_distance_groups(edge_index: Tensor, num_nodes: Optional[int] = None,
                             max_distance: int = 4) -> DistanceGroups:
    r"""Every (node, ancestor) pair of a hierarchy with its BFS distance.

    Args:
        edge_index (Tensor): ``[2, E]`` int child → parent edges
            (``edge_index[0]`` the child, ``edge_index[1]`` its parent); a
            node may have several parents (a DAG). Duplicates are harmless.
        num_nodes (int, optional): number of nodes (default ``max index + 1``).
        max_distance (int): pairs at this distance or farther share the last
            group (DGP's ``lim``, default 4).

    Returns:
        The :class:`DistanceGroups`.

    Raises:
        ValueError: ``edge_index`` is malformed, or the hierarchy has a cycle
            (a self-loop included); the message names a node on it.
    """
    check_index_tensor(edge_index, "edge_index")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must have shape [2, E], got {tuple(edge_index.shape)}")
    max_distance = check_count(max_distance, "max_distance")
    if max_distance < 1:
        raise ValueError(f"max_distance must be at least 1, got {max_distance}")
    child, parent = edge_index.long().cpu().numpy()
    if child.size and min(child.min(), parent.min()) < 0:
        raise ValueError("edge_index contains negative node indices")
    largest = int(max(child.max(), parent.max())) + 1 if child.size else 0
    n = largest if num_nodes is None else check_count(num_nodes, "num_nodes")
    if largest > n:
        raise ValueError(f"edge_index holds node {largest - 1}, outside [0, {n}) (num_nodes is too small)")
    up = sp.csr_matrix((np.ones(child.size, dtype=bool), (child, parent)), shape=(n, n))
    frontier = sp.identity(n, dtype=bool, format="csr")
    reached = frontier.copy()
    rows, cols, dists = [np.arange(n)], [np.arange(n)], [np.zeros(n, dtype=np.int64)]
    distance = 0
    while frontier.nnz:
        distance += 1
        step = (frontier @ up).tocsr()      # pairs one parent further, bool: no path counts
        on_cycle = np.flatnonzero(step.diagonal())
        if on_cycle.size:
            raise ValueError(f"edge_index: the hierarchy has a cycle through node {on_cycle[0]} "
                             "(a node is its own ancestor); ancestor distances need a DAG")
        frontier = (step > reached).tocsr()  # first reached now: shortest distance
        frontier.eliminate_zeros()
        reached = reached + frontier
        coo = frontier.tocoo()
        rows.append(coo.row)
        cols.append(coo.col)
        dists.append(np.full(coo.nnz, distance, dtype=np.int64))
    as_long = lambda parts: torch.from_numpy(np.concatenate(parts).astype(np.int64))
    return DistanceGroups(node=as_long(rows), ancestor=as_long(cols), distance=as_long(dists),
                          num_nodes=n, max_distance=max_distance)


__all__ = ["DistanceGroups", "ancestor_distance_groups", "DIRECTIONS"]
