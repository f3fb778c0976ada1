"""Node-level (GAT-style) attention aggregation over a CSR graph."""
from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from graphcl import ops
from graphcl.graph import SparseGraph, as_sparse_graph
from graphcl.nn._dropout import (check_attn_dropout, check_positive_int, drop_coefficients,
                                 drop_parameter)


class NodeAttentionAggregation(nn.Module):
    r"""Attention-weighted aggregation of each target node's neighbours:

    .. math::
        \alpha_{ij} = \mathrm{softmax}_{j \in N(i)}\big(\mathrm{LeakyReLU}(
            a_{dst}^\top h_i + a_{src}^\top h_j)\big), \qquad
        z_i = \sum_{j \in N(i)} \alpha_{ij} h_j

    which equals :math:`a^\top [h_i \| h_j]` with :math:`a = [a_{dst} \| a_{src}]`.
    Scores are per-edge scalars, the softmax is graphcl's ``segment_softmax``
    over CSR rows and the sum a fused ``spmm``; the target's own embedding only
    scores its neighbours (add self-loops to the graph to aggregate it too).

    Args:
        channels (int): feature size per head.
        heads (int): number of attention heads.
        concat (bool): concatenate heads (``heads * channels`` outputs) or
            average them.
        negative_slope (float): LeakyReLU slope (HeCo uses 0.01).
        attn_dropout (float): attention dropout probability.
        attn_dropout_mode (str): ``'coefficients'`` (drop :math:`\alpha`) or
            ``'parameter'`` (drop entries of :math:`a`, HeCo's reference code).

    Shapes:
        - x_src: ``[graph.num_cols, heads * channels]``
        - x_dst: ``[graph.num_rows, heads * channels]``
        - output: ``[graph.num_rows, heads * channels]`` (or ``channels``
          without ``concat``)

    ``x_src`` and ``x_dst`` must be floating point, of one dtype, finite, on
    the graph's device and have exactly the graph's source/target node
    counts; otherwise a ``TypeError``/``ValueError`` names the argument.
    """

    def __init__(self, channels: int, heads: int = 1, concat: bool = True,
                 negative_slope: float = 0.2, attn_dropout: float = 0.0,
                 attn_dropout_mode: str = "coefficients"):
        super().__init__()
        check_positive_int(channels, "channels")
        check_positive_int(heads, "heads")
        if not isinstance(negative_slope, numbers.Real) or isinstance(negative_slope, bool) \
                or not math.isfinite(negative_slope):
            raise TypeError(f"negative_slope must be a finite number, got {negative_slope!r}")
        check_attn_dropout(attn_dropout, attn_dropout_mode)
        self.channels, self.heads, self.concat = channels, heads, concat
        self.negative_slope = negative_slope
        self.attn_dropout, self.attn_dropout_mode = attn_dropout, attn_dropout_mode
        self.att_dst = nn.Parameter(torch.empty(heads, channels))
        self.att_src = nn.Parameter(torch.empty(heads, channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Initialise as one [1, 2C] vector per head (HeCo's layout).
        for h in range(self.heads):
            att = torch.empty(1, 2 * self.channels)
            nn.init.xavier_normal_(att, gain=1.414)
            with torch.no_grad():
                self.att_dst[h].copy_(att[0, : self.channels])
                self.att_src[h].copy_(att[0, self.channels:])

    def _check_inputs(self, x_src: Tensor, x_dst: Tensor, graph: SparseGraph) -> None:
        if not isinstance(graph, SparseGraph):
            raise TypeError(f"graph must be a graphcl.SparseGraph, got {type(graph).__name__}")
        width = self.heads * self.channels
        # x_src feeds the source nodes (graph columns), x_dst the targets (rows)
        for name, t, rows, what in (("x_src", x_src, graph.num_cols, "source nodes (num_cols)"),
                                    ("x_dst", x_dst, graph.num_rows, "target nodes (num_rows)")):
            if not isinstance(t, Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
            if not t.is_floating_point():
                raise TypeError(f"{name} must be floating point, got {t.dtype}")
            if t.dim() != 2 or t.size(1) != width:
                raise ValueError(f"{name} must have shape [N, {width}] (heads * channels), "
                                 f"got {tuple(t.shape)}")
            if t.size(0) != rows:
                raise ValueError(f"{name} has {t.size(0)} rows but the graph has {rows} {what}")
            if t.device != graph.device:
                raise ValueError(f"{name} is on {t.device} but the graph is on {graph.device}")
            if t.device != self.att_src.device:
                raise ValueError(f"{name} is on {t.device} but the module's parameters are on "
                                 f"{self.att_src.device}")
        if x_src.dtype != x_dst.dtype:
            raise TypeError(f"x_src and x_dst must have the same dtype, got {x_src.dtype} and "
                            f"{x_dst.dtype}")
        for name, t in (("x_src", x_src), ("x_dst", x_dst)):
            if not bool(torch.isfinite(t.detach()).all()):
                raise ValueError(f"{name} contains NaN or Inf")

    def forward(self, x_src: Tensor, x_dst: Tensor, graph: SparseGraph) -> Tensor:
        H, C = self.heads, self.channels
        if not isinstance(graph, SparseGraph):  # a PyG adjacency (edge_index, ...), cached
            graph = as_sparse_graph(graph, size=(len(x_src), len(x_dst)), name="graph")
        self._check_inputs(x_src, x_dst, graph)
        h_src, h_dst = x_src.view(-1, H, C), x_dst.view(-1, H, C)
        att_src = drop_parameter(self.att_src, self.attn_dropout, self.attn_dropout_mode,
                                 self.training)
        att_dst = drop_parameter(self.att_dst, self.attn_dropout, self.attn_dropout_mode,
                                 self.training)
        score_src = (h_src * att_src).sum(-1)  # [num_cols, H]
        score_dst = (h_dst * att_dst).sum(-1)  # [num_rows, H]
        scores = score_src.index_select(0, graph.col.long()) + \
            score_dst.index_select(0, graph.row.long())
        if not bool(torch.isfinite(scores.detach()).all()):
            # finite inputs whose a^T h overflows the dtype
            raise ValueError(f"attention scores a^T [h_i || h_j] overflow {scores.dtype}; scale "
                             f"x_src/x_dst down or use float64")
        alpha = ops.segment_softmax(graph, F.leaky_relu(scores, self.negative_slope))
        alpha = drop_coefficients(alpha, self.attn_dropout, self.attn_dropout_mode, self.training)
        out = torch.stack([ops.spmm(graph, h_src[:, h], alpha[:, h].contiguous())
                           for h in range(H)], dim=1)
        return out.reshape(-1, H * C) if self.concat else out.mean(1)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.channels}, heads={self.heads})"
