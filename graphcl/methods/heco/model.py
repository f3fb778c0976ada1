"""HeCo: co-contrastive learning between a network-schema view and a
meta-path view of a heterogeneous graph (Wang, Liu, Shi, KDD 2021), on
graphcl's blocks.

    type projections -> meta-path view  (GCNPropagation per metapath + SemanticAttention)
                     -> schema view     (sampled neighbours, NodeAttentionAggregation per
                                         type + SemanticAttention)
    both views -> shared projection head -> cross-view multi-positive InfoNCE
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from graphcl.graph import SparseGraph
from graphcl.nn import GCNPropagation, NodeAttentionAggregation, SemanticAttention
from graphcl.nn.cross_view_infonce import cross_view_infonce
from graphcl.sampling import sample_neighbors


def _xavier(linear: nn.Linear) -> nn.Linear:
    nn.init.xavier_normal_(linear.weight, gain=1.414)
    return linear


class TypeProjection(nn.Module):
    r"""Projects every node type to the shared hidden size:
    :math:`h_t = \mathrm{ELU}(\mathrm{Dropout}(W_t x_t + b_t))`.

    A type without features is one-hot: :math:`W_t x_t` is then column ``i`` of
    :math:`W_t` for node ``i``, read directly instead of multiplying an
    ``N x N`` identity (which is what made the reference need 16 GB on AMiner).

    Args:
        in_channels (list): feature size per type, or ``None`` for one-hot.
        num_nodes (list): node count per type.
        hidden (int): output size.
        feat_drop (float): dropout after the linear map, before the ELU.

    Shapes:
        - features: list with ``[num_nodes[t], in_channels[t]]`` or ``None``
        - output: list of ``[num_nodes[t], hidden]``
    """

    def __init__(self, in_channels: Sequence[Optional[int]], num_nodes: Sequence[int], hidden: int,
                 feat_drop: float):
        super().__init__()
        self.one_hot = [c is None for c in in_channels]
        self.lins = nn.ModuleList(_xavier(nn.Linear(n if c is None else c, hidden))
                                  for c, n in zip(in_channels, num_nodes))
        self.feat_drop = nn.Dropout(feat_drop)

    def forward(self, features: Sequence[Optional[Tensor]]) -> List[Tensor]:
        out = []
        for lin, one_hot, x in zip(self.lins, self.one_hot, features):
            z = lin.weight.t() + lin.bias if one_hot else lin(x)
            out.append(F.elu(self.feat_drop(z)))
        return out


class MetapathView(nn.Module):
    """One GCN per metapath (PReLU), fused by semantic attention."""

    def __init__(self, hidden: int, num_metapaths: int, attn_drop: float, attn_dropout_mode: str,
                 normalization: str = "sym"):
        super().__init__()
        self.convs = nn.ModuleList(GCNPropagation(hidden, hidden, normalization, add_self_loops=False,
                                                  activation=nn.PReLU())
                                   for _ in range(num_metapaths))
        self.attention = SemanticAttention(hidden, attn_dropout=attn_drop,
                                           attn_dropout_mode=attn_dropout_mode)

    def forward(self, h: Tensor, metapaths: Sequence[SparseGraph]) -> Tensor:
        return self.attention([conv(h, graph) for conv, graph in zip(self.convs, metapaths)])


class SchemaView(nn.Module):
    """Per neighbour type: sample neighbours, node-level attention, ELU; then
    type-level attention. The target's own embedding only scores its
    neighbours (HeCo's view mask)."""

    def __init__(self, hidden: int, sample_rate: Sequence[int], attn_drop: float,
                 attn_dropout_mode: str):
        super().__init__()
        self.sample_rate = list(sample_rate)
        self.node_attention = nn.ModuleList(
            NodeAttentionAggregation(hidden, negative_slope=0.01, attn_dropout=attn_drop,
                                     attn_dropout_mode=attn_dropout_mode)
            for _ in self.sample_rate)
        self.type_attention = SemanticAttention(hidden, attn_dropout=attn_drop,
                                                attn_dropout_mode=attn_dropout_mode)

    def forward(self, h_target: Tensor, h_neighbors: Sequence[Tensor],
                neighbors: Sequence[SparseGraph], generator: Optional[torch.Generator] = None
                ) -> Tensor:
        per_type = []
        for att, k, h_nbr, nbrs in zip(self.node_attention, self.sample_rate, h_neighbors, neighbors):
            sampled = sample_neighbors(nbrs, k, generator)
            per_type.append(F.elu(att(h_nbr, h_target, sampled)))
        return self.type_attention(per_type)


def mixed_hard_negatives(anchor: Tensor, sample: Tensor, pos_mask: Tensor, tau: float, k: int,
                         mix: float, generator: Optional[torch.Generator] = None,
                         block_size: int = 4096) -> Tensor:
    r"""Extra log-sum-exp term of synthetic hard negatives, our HeCo_MU-style
    option (the paper names HeCo_MU but publishes no algorithm; this design is
    ours).

    For every anchor, take its ``k`` hardest negatives (highest cosine among
    non-positives of ``sample``), mix random pairs of them,
    :math:`\tilde n = \mathrm{normalize}(\beta n_a + (1 - \beta) n_b)` with
    :math:`\beta \sim U(mix, 1)`, and return
    :math:`\log \sum_{m} \exp(\cos(z_i, \tilde n_m)/\tau)` per anchor (``[N]``).
    The hardest negatives are found blockwise (``block_size`` rows at a time) and
    treated as constants (no gradient through the selection, like MoCHi).
    """
    a = F.normalize(anchor, dim=1)
    s = F.normalize(sample, dim=1)
    if pos_mask.is_sparse:
        rows, cols = _positive_pairs(pos_mask)[:2]
    hard = []
    with torch.no_grad():
        for start in range(0, a.size(0), block_size):
            stop = min(start + block_size, a.size(0))
            sim = a[start:stop] @ s.t()
            if pos_mask.is_sparse:
                in_block = (rows >= start) & (rows < stop)
                sim[rows[in_block] - start, cols[in_block]] = float("-inf")
            else:  # a dense mask (DBLP's is 25% full) is used as is, not converted
                sim.masked_fill_(pos_mask[start:stop] > 0, float("-inf"))
            hard.append(sim.topk(min(k, s.size(0)), dim=1).indices)
    hard = torch.cat(hard)  # [N, k]
    pair = torch.randint(0, hard.size(1), (hard.size(0), hard.size(1)), generator=generator,
                         device=hard.device)
    beta = mix + (1 - mix) * torch.rand(hard.size(0), hard.size(1), 1, generator=generator,
                                        device=hard.device)
    mixed = F.normalize(beta * s[hard] + (1 - beta) * s[hard.gather(1, pair)], dim=-1)
    return torch.logsumexp((mixed * a.unsqueeze(1)).sum(-1) / tau, dim=1)


class HeCo(nn.Module):
    r"""HeCo model.

    Args:
        in_channels (list): feature size per node type (target first), or
            ``None`` for one-hot types.
        num_nodes (list): node count per type.
        num_metapaths (int): number of metapaths of the target type.
        config (HeCoConfig): hyperparameters (hidden, dropouts, sample rates,
            tau, lambda, attention-dropout mode, hard negatives).

    Shapes:
        - features: list per type (see :class:`TypeProjection`)
        - metapaths: ``num_metapaths`` square graphs over the target type
        - neighbors: one graph per schema type, rows = targets, cols = that
          type's nodes
        - positives: ``[N, N]`` sparse (or dense) mask
        - :meth:`loss` returns a scalar; :meth:`embed` ``[N, hidden]``
    """

    def __init__(self, in_channels: Sequence[Optional[int]], num_nodes: Sequence[int],
                 num_metapaths: int, config):
        super().__init__()
        if len(config.sample_rate) != len(in_channels) - 1:
            raise ValueError(f"sample_rate has {len(config.sample_rate)} entries but there are "
                             f"{len(in_channels) - 1} neighbour types")
        self.config = config
        hidden = config.hidden
        self.projection = TypeProjection(in_channels, num_nodes, hidden, config.feat_drop)
        self.metapath_view = MetapathView(hidden, num_metapaths, config.attn_drop,
                                          config.attn_dropout_mode, config.metapath_normalization)
        self.schema_view = SchemaView(hidden, config.sample_rate, config.attn_drop,
                                      config.attn_dropout_mode)
        self.head = nn.Sequential(_xavier(nn.Linear(hidden, hidden)), nn.ELU(),
                                  _xavier(nn.Linear(hidden, hidden)))

    def views(self, features, metapaths, neighbors, generator=None):
        h = self.projection(features)
        z_mp = self.metapath_view(h[0], metapaths)
        z_sc = self.schema_view(h[0], h[1:], neighbors, generator)
        return z_mp, z_sc

    def loss(self, features, metapaths, neighbors, positives: Tensor,
             generator: Optional[torch.Generator] = None) -> Tensor:
        cfg = self.config
        z_mp, z_sc = self.views(features, metapaths, neighbors, generator)
        p_mp, p_sc = self.head(z_mp), self.head(z_sc)
        # Both directions use the same positive rows (not pos^T), as the reference does;
        # the sc->mp scores are the transpose of the mp->sc ones, so one pass gives both.
        loss_mp, loss_sc = cross_view_infonce(p_mp, p_sc, positives, cfg.tau,
                                              block_size=cfg.loss_block_size)
        if cfg.hard_negatives > 0:
            loss_mp = self._add_hard_negatives(loss_mp, p_mp, p_sc, positives, generator)
            loss_sc = self._add_hard_negatives(loss_sc, p_sc, p_mp, positives, generator)
        return cfg.lam * loss_mp.mean() + (1 - cfg.lam) * loss_sc.mean()

    def _add_hard_negatives(self, per_row, anchor, sample, positives, generator):
        cfg = self.config
        # loss_i = LSE_all_i - LSE_pos_i; adding the synthetic negatives to the
        # denominator turns it into logaddexp(LSE_all_i, LSE_mix_i) - LSE_pos_i
        # = loss_i + softplus(LSE_mix_i - LSE_all_i). LSE_all_i = loss_i + LSE_pos_i:
        # a sparse mask needs only the positive pairs for LSE_pos; a dense one
        # (DBLP) costs one blocked N x M GEMM, cheaper than gathering its 4M pairs.
        lse_all = per_row + _positive_logsumexp(anchor, sample, positives, cfg.tau,
                                                cfg.loss_block_size)
        lse_mix = mixed_hard_negatives(anchor, sample, positives, cfg.tau, cfg.hard_negatives,
                                       cfg.hard_negative_mix, generator, cfg.loss_block_size)
        return per_row + F.softplus(lse_mix - lse_all)

    @torch.no_grad()
    def embed(self, features, metapaths) -> Tensor:
        """The downstream embedding: z_mp in eval mode (no dropout), detached."""
        was_training = self.training
        self.eval()
        z = self.metapath_view(self.projection(features)[0], metapaths)
        self.train(was_training)
        return z.detach()


def _positive_pairs(positives: Tensor):
    """(rows, cols, weights) of the entries > 0 of a sparse mask."""
    pos = positives.coalesce()
    (rows, cols), weights = pos.indices(), pos.values()
    keep = weights > 0
    return rows[keep], cols[keep], weights[keep]


def _positive_logsumexp(anchor: Tensor, sample: Tensor, positives: Tensor, tau: float,
                        block_size: int = 4096) -> Tensor:
    """log sum_j P_ij exp(cos(anchor_i, sample_j) / tau); differentiable. Every
    row needs a positive. A sparse mask costs O(nnz * d) (positive pairs only); a
    dense one is scored in row blocks of ``block_size``."""
    a, s = F.normalize(anchor, dim=1), F.normalize(sample, dim=1)
    if not positives.is_sparse:
        out = []
        for start in range(0, a.size(0), block_size):
            block = positives[start:start + block_size].to(a.dtype)
            log_weights = torch.where(block > 0, block.clamp_min(torch.finfo(a.dtype).tiny).log(),
                                      torch.full((), float("-inf"), dtype=a.dtype, device=a.device))
            out.append(torch.logsumexp(a[start:start + block_size] @ s.t() / tau + log_weights,
                                       dim=1))
        return torch.cat(out)
    rows, cols, weights = _positive_pairs(positives)
    scores = (a[rows] * s[cols]).sum(1) / tau + weights.to(a.dtype).log()
    shift = torch.full((a.size(0),), float("-inf"), dtype=a.dtype, device=a.device)
    shift = shift.scatter_reduce(0, rows, scores.detach(), reduce="amax")  # only a shift
    total = torch.zeros_like(shift).index_add(0, rows, (scores - shift[rows]).exp())
    return total.log() + shift
