"""HeCo: co-contrastive learning between a network-schema view and a
meta-path view of a heterogeneous graph (Wang, Liu, Shi, KDD 2021), on
graphcl's blocks.

    TypeProjection -> MetapathView (GCNPropagation per metapath + SemanticAttention)
                   -> SchemaView   (sampled neighbours, NodeAttentionAggregation per
                                    type + SemanticAttention)
    both views -> shared projection head -> loss (CrossViewInfoNCE, or
                                                  HardNegativeInfoNCE for HeCo_MU-style)

The blocks live in graphcl.nn (graphcl.nn.hetero, graphcl.nn.contrast).
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
from torch import Tensor, nn

from graphcl.graph import SparseGraph
from graphcl.nn import (CrossViewInfoNCE, HardNegativeInfoNCE, MetapathView, SchemaView,
                        TypeProjection)


def _xavier(linear: nn.Linear) -> nn.Linear:
    nn.init.xavier_normal_(linear.weight, gain=1.414)
    return linear


class HeCo(nn.Module):
    r"""HeCo (Wang, Liu, Shi, `"Self-supervised Heterogeneous Graph Neural
    Network with Co-contrastive Learning" <https://arxiv.org/abs/2105.09111>`_,
    KDD 2021): a meta-path view and a network-schema view of the target nodes,
    a shared projection head, and a cross-view contrast between the two.

    Args:
        in_channels (list): feature size per node type (target first), or
            ``None`` for one-hot types.
        num_nodes (list): node count per type.
        num_metapaths (int): number of metapaths of the target type.
        sample_rate (list of int): neighbours sampled per schema type (one
            entry per type after the target).
        hidden (int, optional): embedding size. (default: :obj:`64`)
        feat_drop (float, optional): dropout of the type projection.
            (default: :obj:`0.0`)
        attn_drop (float, optional): attention dropout of both views.
            (default: :obj:`0.0`)
        attn_dropout_mode (str, optional): ``'parameter'`` (the reference's)
            or ``'coefficients'``. (default: :obj:`'parameter'`)
        metapath_normalization (str, optional): of the metapath adjacencies.
            (default: :obj:`'sym'`)
        tau (float, optional): temperature of the default loss.
            (default: :obj:`0.8`)
        lam (float, optional): weight of the meta-path -> schema direction
            of the default loss. (default: :obj:`0.5`)
        loss (callable, optional): the contrast, called as
            ``loss(p_mp, p_sc, positives, generator)`` and returning a
            scalar, e.g. :class:`~graphcl.nn.CrossViewInfoNCE` or
            :class:`~graphcl.nn.HardNegativeInfoNCE`. (default:
            ``CrossViewInfoNCE(tau, lam, block_size=loss_block_size)``)
        loss_block_size (int, optional): tile size of the default loss.
            (default: :obj:`4096`)
        projection, metapath_view, schema_view (nn.Module, optional):
            pre-built blocks replacing :class:`~graphcl.nn.TypeProjection`,
            :class:`~graphcl.nn.MetapathView` and
            :class:`~graphcl.nn.SchemaView` (their arguments above are then
            unused).

    Shapes:
        - features: list per type (see :class:`~graphcl.nn.TypeProjection`)
        - metapaths: ``num_metapaths`` square graphs over the target type
        - neighbors: one graph per schema type, rows = targets, cols = that
          type's nodes
        - positives: ``[N, N]`` mask: sparse, dense or a SparseGraph
        - :meth:`loss` returns a scalar; :meth:`embed` ``[N, hidden]``
    """

    def __init__(self, in_channels: Sequence[Optional[int]], num_nodes: Sequence[int],
                 num_metapaths: int, sample_rate: Sequence[int], *, hidden: int = 64,
                 feat_drop: float = 0.0, attn_drop: float = 0.0,
                 attn_dropout_mode: str = "parameter", metapath_normalization: str = "sym",
                 tau: float = 0.8, lam: float = 0.5, loss: Optional[nn.Module] = None,
                 loss_block_size: int = 4096, projection: Optional[nn.Module] = None,
                 metapath_view: Optional[nn.Module] = None,
                 schema_view: Optional[nn.Module] = None):
        super().__init__()
        if len(sample_rate) != len(in_channels) - 1:
            raise ValueError(f"sample_rate has {len(sample_rate)} entries but there are "
                             f"{len(in_channels) - 1} neighbour types")
        # Built in this order (projection, views, head) so that a seeded model
        # draws its initial weights as before.
        self.projection = projection if projection is not None else \
            TypeProjection(in_channels, num_nodes, hidden, feat_drop)
        self.metapath_view = metapath_view if metapath_view is not None else \
            MetapathView(hidden, num_metapaths, attn_drop, attn_dropout_mode,
                         metapath_normalization)
        self.schema_view = schema_view if schema_view is not None else \
            SchemaView(hidden, sample_rate, attn_drop, attn_dropout_mode)
        self.head = nn.Sequential(_xavier(nn.Linear(hidden, hidden)), nn.ELU(),
                                  _xavier(nn.Linear(hidden, hidden)))
        self.contrast = loss if loss is not None else \
            CrossViewInfoNCE(tau, lam, block_size=loss_block_size)

    @classmethod
    def from_config(cls, in_channels: Sequence[Optional[int]], num_nodes: Sequence[int],
                    num_metapaths: int, config) -> "HeCo":
        """The model of a :class:`~graphcl.methods.heco.config.HeCoConfig`
        (with :class:`~graphcl.nn.HardNegativeInfoNCE` as its loss when
        ``config.hard_negatives > 0``)."""
        loss: Union[CrossViewInfoNCE, HardNegativeInfoNCE]
        if config.hard_negatives > 0:
            loss = HardNegativeInfoNCE(config.tau, config.hard_negatives,
                                       config.hard_negative_mix, config.lam,
                                       block_size=config.loss_block_size)
        else:
            loss = CrossViewInfoNCE(config.tau, config.lam, block_size=config.loss_block_size)
        return cls(in_channels, num_nodes, num_metapaths, config.sample_rate,
                   hidden=config.hidden, feat_drop=config.feat_drop, attn_drop=config.attn_drop,
                   attn_dropout_mode=config.attn_dropout_mode,
                   metapath_normalization=config.metapath_normalization, loss=loss)

    def views(self, features, metapaths, neighbors, generator=None):
        h = self.projection(features)
        z_mp = self.metapath_view(h[0], metapaths)
        z_sc = self.schema_view(h[0], h[1:], neighbors, generator)
        return z_mp, z_sc

    def loss(self, features, metapaths, neighbors, positives: Union[Tensor, SparseGraph],
             generator: Optional[torch.Generator] = None) -> Tensor:
        z_mp, z_sc = self.views(features, metapaths, neighbors, generator)
        # Both directions use the same positive rows (not pos^T), as the reference does.
        return self.contrast(self.head(z_mp), self.head(z_sc), positives, generator)

    @torch.no_grad()
    def embed(self, features, metapaths) -> Tensor:
        """The downstream embedding: z_mp in eval mode (no dropout), detached."""
        was_training = self.training
        self.eval()
        z = self.metapath_view(self.projection(features)[0], metapaths)
        self.train(was_training)
        return z.detach()
