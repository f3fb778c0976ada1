"""HeCo's meta-path view: one GCN per metapath, fused by semantic attention."""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from graphcl.graph import SparseGraph
from graphcl.nn._dropout import check_positive_int
from graphcl.nn.gcn_propagation import GCNPropagation
from graphcl.nn.semantic_attention import SemanticAttention

__all__ = ["MetapathView"]


class MetapathView(nn.Module):
    r"""The meta-path view of HeCo (Wang et al., `"Self-supervised
    Heterogeneous Graph Neural Network with Co-contrastive Learning"
    <https://arxiv.org/abs/2105.09111>`_, Eq. 5-7): a GCN with PReLU per
    metapath :math:`\mathcal{P}_p` over the target type, then semantic
    attention across the metapaths,

    .. math::
        h^{\mathcal{P}_p} = \mathrm{PReLU}\big(\hat A_{\mathcal{P}_p} h W_p + b_p\big),
        \qquad z^{mp} = \sum_p \beta_p\, h^{\mathcal{P}_p}

    with :math:`\hat A` the normalised metapath adjacency (no self loops are
    added) and :math:`\beta` from :class:`~graphcl.nn.SemanticAttention`.

    Args:
        hidden (int): embedding size (input and output).
        num_metapaths (int): number of metapaths :math:`P`.
        attn_drop (float, optional): attention dropout of the semantic
            attention. (default: :obj:`0.0`)
        attn_dropout_mode (str, optional): ``'parameter'`` (HeCo's reference:
            drop entries of the attention vector) or ``'coefficients'``.
            (default: :obj:`'parameter'`)
        normalization (str, optional): of each metapath adjacency, see
            :class:`~graphcl.nn.GCNPropagation`. (default: :obj:`'sym'`)

    Shapes:
        - **input:** h ``[N, hidden]`` (the target type), metapaths: ``P``
          square :class:`~graphcl.graph.SparseGraph` over the ``N`` targets.
        - **output:** ``[N, hidden]``.
    """

    def __init__(self, hidden: int, num_metapaths: int, attn_drop: float = 0.0,
                 attn_dropout_mode: str = "parameter", normalization: str = "sym"):
        super().__init__()
        check_positive_int(hidden, "hidden")
        check_positive_int(num_metapaths, "num_metapaths")
        self.convs = nn.ModuleList(GCNPropagation(hidden, hidden, normalization, add_self_loops=False,
                                                  activation=nn.PReLU())
                                   for _ in range(num_metapaths))
        self.attention = SemanticAttention(hidden, attn_dropout=attn_drop,
                                           attn_dropout_mode=attn_dropout_mode)

    def reset_parameters(self) -> None:
        for conv in self.convs:
            conv.reset_parameters()
            conv.activation.reset_parameters()
        self.attention.reset_parameters()

    def forward(self, h: Tensor, metapaths: Sequence[SparseGraph]) -> Tensor:
        metapaths = list(metapaths)
        if len(metapaths) != len(self.convs):
            raise ValueError(f"metapaths needs {len(self.convs)} graphs (one per metapath), "
                             f"got {len(metapaths)}")
        return self.attention([conv(h, graph) for conv, graph in zip(self.convs, metapaths)])
