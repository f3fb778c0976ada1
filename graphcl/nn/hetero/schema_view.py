"""HeCo's network-schema view: sampled neighbours of every type, node-level
attention per type, then type-level attention."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from graphcl.graph import SparseGraph
from graphcl.nn._dropout import check_positive_int
from graphcl.nn.node_attention import NodeAttentionAggregation
from graphcl.nn.semantic_attention import SemanticAttention
from graphcl.sampling import sample_neighbors

__all__ = ["SchemaView"]


class SchemaView(nn.Module):
    r"""The network-schema view of HeCo (Wang et al., `"Self-supervised
    Heterogeneous Graph Neural Network with Co-contrastive Learning"
    <https://arxiv.org/abs/2105.09111>`_, Eq. 2-4). For every neighbour type
    :math:`\Phi_m`, draw ``sample_rate[m]`` neighbours of each target
    (:func:`~graphcl.sampling.sample_neighbors`), aggregate them with
    node-level attention, then fuse the types with type-level attention:

    .. math::
        h^{\Phi_m}_i = \mathrm{ELU}\Big(\sum_{j \in S_m(i)} \alpha^{m}_{ij} h_j\Big),
        \qquad z^{sc}_i = \sum_m \beta_m\, h^{\Phi_m}_i

    with :math:`\alpha` from :class:`~graphcl.nn.NodeAttentionAggregation`
    (LeakyReLU slope 0.01) and :math:`\beta` from
    :class:`~graphcl.nn.SemanticAttention`. The target's own embedding only
    scores its neighbours (HeCo's view mask: it is not aggregated).

    Args:
        hidden (int): embedding size of every type.
        sample_rate (list of int): neighbours drawn per target, one entry per
            neighbour type.
        attn_drop (float, optional): attention dropout of both attentions.
            (default: :obj:`0.0`)
        attn_dropout_mode (str, optional): ``'parameter'`` (HeCo's reference)
            or ``'coefficients'``. (default: :obj:`'parameter'`)

    Shapes:
        - **input:** h_target ``[N, hidden]``; h_neighbors: one
          ``[N_m, hidden]`` per neighbour type; neighbors: one
          :class:`~graphcl.graph.SparseGraph` per type with rows = the ``N``
          targets, columns = that type's ``N_m`` nodes; generator (optional)
          for the sampling.
        - **output:** ``[N, hidden]``.
    """

    def __init__(self, hidden: int, sample_rate: Sequence[int], attn_drop: float = 0.0,
                 attn_dropout_mode: str = "parameter"):
        super().__init__()
        check_positive_int(hidden, "hidden")
        self.sample_rate = list(sample_rate)
        if not self.sample_rate:
            raise ValueError("sample_rate needs one entry per neighbour type, got none")
        for m, k in enumerate(self.sample_rate):
            check_positive_int(k, f"sample_rate[{m}]")
        self.node_attention = nn.ModuleList(
            NodeAttentionAggregation(hidden, negative_slope=0.01, attn_dropout=attn_drop,
                                     attn_dropout_mode=attn_dropout_mode)
            for _ in self.sample_rate)
        self.type_attention = SemanticAttention(hidden, attn_dropout=attn_drop,
                                                attn_dropout_mode=attn_dropout_mode)

    def reset_parameters(self) -> None:
        for att in self.node_attention:
            att.reset_parameters()
        self.type_attention.reset_parameters()

    def forward(self, h_target: Tensor, h_neighbors: Sequence[Tensor],
                neighbors: Sequence[SparseGraph], generator: Optional[torch.Generator] = None
                ) -> Tensor:
        h_neighbors, neighbors = list(h_neighbors), list(neighbors)
        types = len(self.sample_rate)
        if len(h_neighbors) != types or len(neighbors) != types:
            raise ValueError(f"h_neighbors and neighbors need one entry per neighbour type "
                             f"({types}, as sample_rate), got {len(h_neighbors)} and "
                             f"{len(neighbors)}")
        per_type = []
        for att, k, h_nbr, nbrs in zip(self.node_attention, self.sample_rate, h_neighbors,
                                       neighbors):
            sampled = sample_neighbors(nbrs, k, generator)
            per_type.append(F.elu(att(h_nbr, h_target, sampled)))
        return self.type_attention(per_type)

    def extra_repr(self) -> str:
        return f"sample_rate={self.sample_rate}"
