"""The zero-shot class-vector regressors DGP compares: DGP, DGPM, SGCN, GCNZ.

Each predicts one L2-normalised class vector per graph node from its word
embedding; all are compositions of graphcl.nn blocks over SparseGraphs.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import torch.nn.functional as F
from torch import Tensor, nn

from graphcl.graph import SparseGraph
from graphcl.nn import DenseGraphPropagation, GCNPropagation


class DGP(nn.Module):
    r"""DGP (ADGPM): descendant phase then ancestor phase, each a
    :class:`~graphcl.nn.DenseGraphPropagation` over the distance groups, with
    LeakyReLU(0.2) between and L2-normalised output rows.

    With ``distance_weights=False`` and the merged (one-group) graphs it is DGPM.

    Args:
        in_channels, hidden, out_channels (int): sizes (DGP: 300, 2048, 2049).
        num_groups (int): distance groups (5).
        distance_weights (bool): learn per-group weights (DGP) or not (DGPM).
        dropout (float): dropout on each layer's input (0.5).
        negative_slope (float): LeakyReLU slope (0.2).
    """

    def __init__(self, in_channels: int, hidden: int, out_channels: int, num_groups: int = 5,
                 distance_weights: bool = True, dropout: float = 0.5,
                 negative_slope: float = 0.2):
        super().__init__()
        self.descendant = DenseGraphPropagation(in_channels, hidden, num_groups,
                                                distance_weights, dropout)
        self.ancestor = DenseGraphPropagation(hidden, out_channels, num_groups,
                                              distance_weights, dropout)
        self.negative_slope = negative_slope

    def forward(self, x: Tensor, descendants: Tuple[SparseGraph, Tensor],
                ancestors: Tuple[SparseGraph, Tensor]) -> Tensor:
        h = F.leaky_relu(self.descendant(x, *descendants), self.negative_slope)
        return F.normalize(self.ancestor(h, *ancestors), dim=1)


class GCNRegressor(nn.Module):
    r"""A stack of :class:`~graphcl.nn.GCNPropagation` layers
    :math:`\hat A(\mathrm{dropout}(H) W) + b` with LeakyReLU(0.2) between and
    L2-normalised output rows: SGCN (2 layers over the row-normalised
    symmetric induced graph with self-loops, DGP's ``gcn.py``) or GCNZ (6 layers,
    Wang et al. 2018).

    Args:
        sizes (sequence of int): ``[in, hidden..., out]``.
        normalization (str): ``'row'`` (DGP's 'in' normalisation) or ``'sym'``.
        dropout (float): dropout on each layer's input (0.5).
        negative_slope (float): LeakyReLU slope (0.2).
    """

    def __init__(self, sizes: Sequence[int], normalization: str = "row", dropout: float = 0.5,
                 negative_slope: float = 0.2):
        super().__init__()
        self.layers = nn.ModuleList(GCNPropagation(a, b, normalization=normalization,
                                                   add_self_loops=True)
                                    for a, b in zip(sizes[:-1], sizes[1:]))
        self.dropout, self.negative_slope = dropout, negative_slope
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in self.layers:  # DGP's GraphConv init: xavier_uniform W, zero b
            nn.init.xavier_uniform_(layer.lin.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor, graph: SparseGraph) -> Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(F.dropout(x, self.dropout, self.training), graph)
            if i + 1 < len(self.layers):
                x = F.leaky_relu(x, self.negative_slope)
        return F.normalize(x, dim=1)
