"""Normalisation of :class:`~graphcl.graph.SparseGraph`'s edge weights:
degrees, self-loops, the ``'sym'`` / ``'row'`` / ``'pyg'`` normalisations and
their exact recomputation in a wider dtype (:meth:`edge_weight_as`).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from graphcl.graph.validation import check_count, check_square

NORMALIZATIONS = ("none", "row", "sym", "pyg")


def _positive_or_one(deg: Tensor) -> Tensor:
    return torch.where(deg > 0, deg, torch.ones_like(deg))


def normalize_weights(graph: "SparseGraph", kind: str, weight: Optional[Tensor],
                       dtype: torch.dtype) -> Tensor:
    """The normalised weights of ``graph``'s edges, computed in ``dtype`` from
    the raw weights ``weight`` (unit weights when None)."""
    row, col = graph.row.long(), graph.col.long()
    w = weight.to(dtype) if weight is not None else \
        torch.ones(graph.num_edges, dtype=dtype, device=graph.device)
    deg_in = torch.zeros(graph.num_rows, dtype=dtype, device=graph.device).index_add_(0, row, w)
    if kind == "row":
        return w / _positive_or_one(deg_in)[row]
    if kind == "sym":
        deg_out = torch.zeros(graph.num_cols, dtype=dtype, device=graph.device) \
            .index_add_(0, col, w)
        return w / (_positive_or_one(deg_in)[row] * _positive_or_one(deg_out)[col]).sqrt()
    # "pyg": GCNConv's gcn_norm, the in-degree on both ends; degree 0 gives 0.
    inv_sqrt = deg_in.pow(-0.5)
    inv_sqrt = inv_sqrt.masked_fill(inv_sqrt == float("inf"), 0)
    return inv_sqrt[col] * w * inv_sqrt[row]


def _wider(dtype: torch.dtype, than: torch.dtype) -> bool:
    return torch.finfo(dtype).bits > torch.finfo(than).bits


class NormalizationMixin:
    """Degrees, self-loops and normalised weights of :class:`~graphcl.graph.SparseGraph`."""

    def degree(self, kind: str = "in", weighted: bool = False) -> Tensor:
        """Per-node degree: ``'in'`` counts edges per row (target), ``'out'``
        per column (source). ``weighted`` sums edge weights instead."""
        if kind not in ("in", "out"):
            raise ValueError(f"kind must be 'in' or 'out', got {kind!r}")
        key = (kind, bool(weighted))
        if key not in self._degrees:
            w = self.edge_weight if weighted and self.edge_weight is not None else None
            dtype = w.dtype if w is not None else torch.float32
            ones = w if w is not None else torch.ones(self.num_edges, dtype=dtype, device=self.device)
            index = self.row if kind == "in" else self.col
            size = self.num_rows if kind == "in" else self.num_cols
            self._degrees[key] = torch.zeros(size, dtype=dtype, device=self.device) \
                .index_add_(0, index.long(), ones)
        return self._degrees[key]

    def normalized(self, kind: str = "sym", add_self_loops: bool = False) -> "SparseGraph":
        r"""The graph with normalised edge weights (cached).

        - ``'sym'``: :math:`w_{ij} / \sqrt{d^{in}_i d^{out}_j}` (GCN's
          :math:`D^{-1/2} A D^{-1/2}` on a symmetric graph);
        - ``'row'``: :math:`w_{ij} / d^{in}_i`, i.e. a weighted mean over the
          incoming edges ('right' normalisation);
        - ``'pyg'``: exactly ``torch_geometric.nn.GCNConv``'s ``gcn_norm``:
          :math:`w_{ij} / \sqrt{d^{in}_i d^{in}_j}`, the in-degree on both
          ends (so it differs from ``'sym'`` on directed graphs), square
          graphs only;
        - ``'none'``: the weights as they are.

        Degrees are weighted when the graph has weights; nodes of degree 0
        keep weight 0. With ``add_self_loops`` (square graphs only), every node
        lacking a self-loop first gets one of weight 1. For ``'sym'`` and
        ``'row'`` existing self-loops are kept as they are (duplicates too);
        for ``'pyg'`` they follow ``torch_geometric.utils.add_remaining_self_loops``:
        each node ends with exactly one self-loop, which keeps the weight of the
        node's last existing self-loop (in edge order) or gets weight 1.

        The coefficients are stored in the dtype of the graph's weights (the
        default dtype when unweighted), and recomputed, not cast, when an op
        meets features of a wider dtype (see :meth:`edge_weight_as`), so a
        float64 ``spmm`` is exact in float64.
        """
        if kind not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {kind!r}")
        key = (kind, bool(add_self_loops))
        if key in self._normalized:
            return self._normalized[key]
        if kind == "pyg" and self.num_rows != self.num_cols:
            raise ValueError(f"normalization 'pyg' (GCNConv's) needs a square graph, got "
                             f"{self.num_rows} x {self.num_cols}")
        graph = self
        if add_self_loops:
            graph = self._remaining_self_loops() if kind == "pyg" else self.with_self_loops()
        if kind == "none":
            result = graph
        else:
            w = graph.edge_weight
            dtype = w.dtype if w is not None else torch.get_default_dtype()
            result = graph._with_weight(normalize_weights(graph, kind, w, dtype))
            result._norm_recipe = (kind, w)
        self._normalized[key] = result
        return result

    def edge_weight_as(self, dtype: torch.dtype) -> Optional[Tensor]:
        """The edge weights (CSR order) in ``dtype``; None for an unweighted graph.

        Normalised graphs (:meth:`normalized`) recompute their coefficients in
        ``dtype`` when it is wider than the stored weights, so float64 features
        get float64-exact normalisation of a float32 (or unweighted) graph;
        otherwise the stored weights are cast. Recomputed weights are cached.
        """
        w = self.edge_weight
        if w is None or w.dtype == dtype:
            return w
        if self._norm_recipe is None or not _wider(dtype, w.dtype):
            return w.to(dtype)
        if dtype not in self._weights_by_dtype:
            kind, raw = self._norm_recipe
            exact = normalize_weights(self, kind, raw, dtype)
            if exact.requires_grad:  # would pin an autograd graph across steps
                return exact
            self._weights_by_dtype[dtype] = exact
        return self._weights_by_dtype[dtype]

    def with_self_loops(self, fill_value: float = 1.0) -> "SparseGraph":
        """A copy where every node without a self-loop gets one (weight
        ``fill_value``); existing self-loops are kept as they are."""
        check_square(self.num_rows, self.num_cols, "self-loops")
        row, col = self.row.long(), self.col.long()
        has_loop = torch.zeros(self.num_rows, dtype=torch.bool, device=self.device)
        has_loop[row[row == col]] = True
        missing = (~has_loop).nonzero().view(-1)
        edge_index = torch.stack([torch.cat([col, missing]), torch.cat([row, missing])])
        weight = None
        if self.edge_weight is not None:
            loops = torch.full((missing.numel(),), fill_value, dtype=self.edge_weight.dtype,
                               device=self.device)
            weight = torch.cat([self.edge_weight, loops])
        elif fill_value != 1.0:
            weight = torch.cat([torch.ones(self.num_edges, device=self.device),
                                torch.full((missing.numel(),), fill_value, device=self.device)])
        return type(self).from_edge_index(edge_index, weight, num_nodes=self.num_rows,
                                          index_dtype=self.index_dtype)

    def with_remaining_self_loops(self, fill_value: float = 1.0,
                                  num_loops: Optional[int] = None) -> "SparseGraph":
        """PyG's ``add_remaining_self_loops`` (cached): the self-loops are
        replaced by exactly one per node, weighted like the node's last
        existing self-loop in CSR (= input) order, else ``fill_value``.

        Args:
            fill_value (float, optional): weight of the added loops (default
                1; GCN's ``improved`` variant uses 2).
            num_loops (int, optional): the nodes ``0 .. num_loops - 1`` get a
                loop and every other self-loop is dropped. Default: all nodes
                of a square graph; a non-square graph needs it given, e.g.
                ``min(num_rows, num_cols)`` for a bipartite block whose first
                targets are its first sources (PyG's ``GATConv`` rule).
        """
        if num_loops is not None:
            num_loops = check_count(num_loops, "num_loops")
            if num_loops > min(self.num_rows, self.num_cols):
                raise ValueError(f"num_loops = {num_loops} exceeds min(num_rows, num_cols) = "
                                 f"{min(self.num_rows, self.num_cols)}")
        key = (float(fill_value), num_loops)
        if key not in self._self_looped:
            self._self_looped[key] = self._remaining_self_loops(fill_value, num_loops)
        return self._self_looped[key]

    def _remaining_self_loops(self, fill_value: float = 1.0,
                              num_loops: Optional[int] = None) -> "SparseGraph":
        """:meth:`with_remaining_self_loops`, uncached."""
        if num_loops is None:
            check_square(self.num_rows, self.num_cols, "self-loops")
            num_loops = self.num_rows
        n = num_loops
        row, col = self.row.long(), self.col.long()
        is_loop = row == col
        nodes = torch.arange(n, device=self.device)
        edge_index = torch.stack([torch.cat([col[~is_loop], nodes]),
                                  torch.cat([row[~is_loop], nodes])])
        weight = None
        if self.edge_weight is not None or fill_value != 1.0:
            w = self.edge_weight if self.edge_weight is not None else \
                torch.ones(self.num_edges, device=self.device)
            # The position of every node's last self-loop, -1 where it has none.
            positions = is_loop.nonzero().view(-1)
            positions = positions[row[positions] < n]  # loops beyond num_loops are dropped
            last = torch.full((n,), -1, dtype=torch.long, device=self.device).scatter_reduce_(
                0, row[positions], positions, "amax")
            loop_weight = torch.full((n,), fill_value, dtype=w.dtype, device=self.device)
            has_loop = last >= 0
            loop_weight[has_loop] = w[last[has_loop]]
            weight = torch.cat([w[~is_loop], loop_weight])
        return type(self).from_edge_index(edge_index, weight, num_src_nodes=self.num_cols,
                                          num_dst_nodes=self.num_rows,
                                          index_dtype=self.index_dtype)
