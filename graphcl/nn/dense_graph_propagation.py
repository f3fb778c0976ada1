"""DGP's distance-weighted dense graph propagation layer in one spmm."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from graphcl import ops
from graphcl.graph import SparseGraph


class DenseGraphPropagation(nn.Module):
    r"""The dense graph propagation layer of `"Rethinking Knowledge Graph
    Propagation for Zero-Shot Learning" <https://arxiv.org/abs/1805.11724>`_
    (DGP, Kampffmeyer et al., CVPR 2019):

    .. math::
        H = \sum_{g=0}^{G-1} \mathrm{softmax}(\mathbf{a})_g \, D_g^{-1} A_g
            \left(\mathrm{dropout}(X) W + b\right)

    with one weight matrix shared by every distance group :math:`g` and
    :math:`G` learned logits :math:`\mathbf{a}` (initialised to ones, i.e.
    uniform weights). The groups arrive stacked in one graph whose edge weights
    are already :math:`D_g^{-1}` (see
    :meth:`graphcl.graph.hierarchy.DistanceGroups.stacked`), so the layer is
    one fused spmm with per-edge weights ``weight * softmax(a)[group]``, not
    :math:`G` sparse products. Without ``group`` (or ``distance_weights=False``)
    it is the plain :math:`\hat A (XW + b)` of DGPM's dense graph.

    When ``in_channels + 1 < out_channels`` the product is associated the
    cheaper way, :math:`(\hat A [X, 1]) [W; b]`, which equals
    :math:`\hat A (XW + b)` exactly (the bias still sits before propagation, as
    in the reference) but propagates ``in_channels + 1`` columns instead of
    ``out_channels``.

    Args:
        in_channels (int): input feature size.
        out_channels (int): output feature size.
        num_groups (int, optional): distance groups :math:`G` (default 5: DGP's
            distances 0, 1, 2, 3 and :math:`\ge 4`).
        distance_weights (bool, optional): learn the per-group softmax weights
            (default ``True``); ``False`` uses the graph's weights as they are.
        dropout (float, optional): dropout on the input (default 0.5, DGP's).
        bias (bool, optional): learnable bias added before propagation
            (default ``True``).

    Shapes:
        - x: ``[graph.num_cols, in_channels]``
        - graph: a :class:`~graphcl.graph.SparseGraph` (row-normalised per group)
        - group: ``[graph.num_edges]`` int64 group of every CSR edge, values in
          ``[0, num_groups)``
        - output: ``[graph.num_rows, out_channels]``
    """

    def __init__(self, in_channels: int, out_channels: int, num_groups: int = 5,
                 distance_weights: bool = True, dropout: float = 0.5, bias: bool = True):
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.dropout = dropout
        self.num_groups = num_groups
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.att = nn.Parameter(torch.empty(num_groups)) if distance_weights else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # DGP's GraphConv: xavier_uniform W, zero b, attention logits at one.
        nn.init.xavier_uniform_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        if self.att is not None:
            nn.init.ones_(self.att)

    def group_weights(self) -> Optional[Tensor]:
        """The softmax weight of every distance group (``None`` without them)."""
        return None if self.att is None else torch.softmax(self.att, 0)

    def forward(self, x: Tensor, graph: SparseGraph, group: Optional[Tensor] = None) -> Tensor:
        if not isinstance(graph, SparseGraph):
            raise TypeError(f"graph must be a SparseGraph, got {type(graph).__name__}")
        weight = graph.edge_weight_as(x.dtype)
        if weight is None:
            weight = torch.ones(graph.num_edges, dtype=x.dtype, device=x.device)
        if self.att is not None and group is not None:
            if group.shape != (graph.num_edges,):
                raise ValueError(f"group must have shape [{graph.num_edges}] (one group per "
                                 f"edge), got {list(group.shape)}")
            weight = weight * self.group_weights().to(x.dtype)[group]
        x = F.dropout(x, self.dropout, self.training)
        if x.size(1) + 1 < self.weight.size(1):
            if self.bias is None:
                return ops.spmm(graph, x, weight) @ self.weight
            ones = torch.ones(x.size(0), 1, dtype=x.dtype, device=x.device)
            h = ops.spmm(graph, torch.cat([x, ones], 1), weight)
            # One product with [W; b]: no [N, out] outer product h[:, -1:] * b to add.
            return h @ torch.cat([self.weight, self.bias.unsqueeze(0)], 0)
        support = x @ self.weight
        if self.bias is not None:
            support = support + self.bias
        return ops.spmm(graph, support, weight)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.weight.size(0)}, {self.weight.size(1)}, "
                f"num_groups={self.num_groups if self.att is not None else None})")
