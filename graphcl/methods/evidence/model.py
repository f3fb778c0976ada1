"""The multi-channel evidence recommender and the two collaborative baselines,
composed from graphcl.nn blocks (TypeProjection, FusedGCNConv,
SemanticAttention) and PyG's LightGCN."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from graphcl.nn import SemanticAttention, TypeProjection


@dataclass
class ChannelGraph:
    """One channel (a heterogeneous graph) as its encoder reads it: per-type
    features (``problem`` first, ``evidence`` second, then the rest) and the
    union of all relations over one node numbering (types in that order).
    ``lexical`` (text graph only): ``[P, E]`` inner products of the problems'
    and the articles' TF-IDF word edges, the two-hop word path between them."""
    node_types: List[str]
    features: List[Tensor]
    edge_index: Tensor
    edge_weight: Tensor
    lexical: Optional[Tensor] = None
    link_id: Optional[Tensor] = None  # [edges]: the training link an edge carries, else -1

    def without_links(self, hidden: Tensor) -> "ChannelGraph":
        """The graph without the edges of the training links marked in
        ``hidden`` (bool ``[links]``), so that a step is not supervised on
        links its messages carry."""
        if self.link_id is None:
            return self
        carried = self.link_id >= 0
        drop = torch.zeros_like(carried)
        drop[carried] = hidden[self.link_id[carried]]
        keep = ~drop
        return ChannelGraph(self.node_types, self.features, self.edge_index[:, keep],
                            self.edge_weight[keep], self.lexical, self.link_id[keep])

    @property
    def num_problems(self) -> int:
        return self.features[0].size(0)

    @property
    def num_evidence(self) -> int:
        return self.features[1].size(0)


def make_conv(kind: str, channels: int) -> nn.Module:
    """A GCN layer: graphcl's fused one, or PyG's stock GCNConv (same maths)."""
    if kind == "fused":
        from graphcl.nn import FusedGCNConv
        return FusedGCNConv(channels, channels)
    if kind == "pyg":
        from torch_geometric.nn import GCNConv
        return GCNConv(channels, channels)
    raise ValueError(f"conv must be 'fused' or 'pyg', got {kind!r}")


class ChannelEncoder(nn.Module):
    """Type projection to ``hidden``, then ``layers`` weighted GCN layers over
    every relation of the channel; the output is the mean of the projected
    input and every layer's output (LightGCN-style layer combination, so nodes
    without edges, such as an unseen problem in the co-reference graph, keep
    their text features)."""

    def __init__(self, in_channels: Sequence[int], num_nodes: Sequence[int], hidden: int,
                 layers: int, dropout: float = 0.0, conv: str = "fused"):
        super().__init__()
        self.project = TypeProjection(list(in_channels), list(num_nodes), hidden,
                                      feat_drop=dropout)
        self.convs = nn.ModuleList(make_conv(conv, hidden) for _ in range(layers))
        self.dropout = dropout

    def forward(self, graph: ChannelGraph) -> Tensor:
        h = torch.cat(self.project(graph.features))
        outputs = [h]
        for conv in self.convs:
            h = F.elu(conv(F.dropout(h, self.dropout, self.training), graph.edge_index,
                           graph.edge_weight))
            outputs.append(h)
        return torch.stack(outputs).mean(0)


class EvidenceRecommender(nn.Module):
    r"""One encoder per channel, fused per node by HAN-style semantic attention
    (:math:`\beta_c = \mathrm{softmax}_c(q^\top \overline{\tanh(W z_c + b)})`,
    ``fusion='attention'``) or by concatenation (``fusion='concat'``); the
    score of (problem, evidence) is the dot product of their fused embeddings,
    plus, when a channel has a ``lexical`` path (the text graph), a learned
    weight times it: :math:`s(p, e) = \langle z_p, z_e \rangle + \gamma\,
    \mathrm{lex}(p, e)`. (TextGCN's own input features are one-hot, and with
    one-hot word features one hop from a document to its words and one back
    is exactly that TF-IDF inner product: the path is kept as a scored skip
    connection, the learned embeddings add to it.)

    Args:
        channels (dict): ``{name: ChannelGraph}`` (fixes the input sizes).
        hidden, layers, dropout, conv: see :class:`ChannelEncoder`.
        fusion (str): ``'attention'`` or ``'concat'``.
        lexical_init (float): initial :math:`\gamma`.
    """

    def __init__(self, channels: Dict[str, ChannelGraph], hidden: int = 64, layers: int = 2,
                 dropout: float = 0.0, conv: str = "fused", fusion: str = "attention",
                 lexical_init: float = 10.0):
        super().__init__()
        if fusion not in ("attention", "concat"):
            raise ValueError(f"fusion must be 'attention' or 'concat', got {fusion!r}")
        if not channels:
            raise ValueError("channels must name at least one channel graph")
        self.names = list(channels)
        self.encoders = nn.ModuleDict({
            name: ChannelEncoder([x.size(1) for x in g.features], [x.size(0) for x in g.features],
                                 hidden, layers, dropout, conv)
            for name, g in channels.items()})
        self.fusion = fusion
        self.attention = SemanticAttention(hidden) if fusion == "attention" and \
            len(channels) > 1 else None
        self.lexical_channels = [n for n, g in channels.items() if g.lexical is not None]
        self.lexical_weight = nn.Parameter(torch.tensor(float(lexical_init))) \
            if self.lexical_channels else None

    def forward(self, channels: Dict[str, ChannelGraph]) -> Tuple[Tensor, Tensor, Tensor]:
        """``(z_problem [P, d], z_evidence [E, d], beta [C])``; beta is uniform
        for concatenation (which weighs every channel equally)."""
        first = channels[self.names[0]]
        p, e = first.num_problems, first.num_evidence
        for name in self.names:
            if (channels[name].num_problems, channels[name].num_evidence) != (p, e):
                raise ValueError(f"channel {name!r} has {channels[name].num_problems} problems "
                                 f"and {channels[name].num_evidence} evidence nodes, channel "
                                 f"{self.names[0]!r} {p} and {e}")
        z = [self.encoders[name](channels[name])[:p + e] for name in self.names]
        if self.attention is not None:
            fused, beta = self.attention(z, return_attention=True)
        elif len(z) == 1:
            fused, beta = z[0], torch.ones(1, device=z[0].device)
        else:
            fused = torch.cat(z, dim=1)
            beta = torch.full((len(z),), 1.0 / len(z), device=fused.device)
        return fused[:p], fused[p:], beta

    def lexical(self, channels: Dict[str, ChannelGraph]) -> Optional[Tensor]:
        """``gamma * lex`` ``[P, E]`` (``None`` without a lexical channel)."""
        if self.lexical_weight is None:
            return None
        return self.lexical_weight * channels[self.lexical_channels[0]].lexical


class MatrixFactorization(nn.Module):
    """MF-BPR (Rendle et al. 2009): one free embedding per problem and article."""

    def __init__(self, num_problems: int, num_articles: int, hidden: int = 64):
        super().__init__()
        self.problem = nn.Embedding(num_problems, hidden)
        self.evidence = nn.Embedding(num_articles, hidden)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.problem.weight, std=0.1)
        nn.init.normal_(self.evidence.weight, std=0.1)

    def forward(self) -> Tuple[Tensor, Tensor]:
        return self.problem.weight, self.evidence.weight


class LightGCNRecommender(nn.Module):
    """PyG's :class:`torch_geometric.nn.LightGCN` on the bipartite graph of the
    training links (problems ``0..P-1``, articles ``P..P+E-1``)."""

    def __init__(self, num_problems: int, num_articles: int, train_links: Tensor,
                 hidden: int = 64, layers: int = 3):
        super().__init__()
        from torch_geometric.nn import LightGCN
        self.num_problems = num_problems
        self.lightgcn = LightGCN(num_problems + num_articles, hidden, layers)
        p, a = train_links
        forward = torch.stack([p, a + num_problems])
        self.register_buffer("edge_index", torch.cat([forward, forward.flip(0)], dim=1))

    def forward(self) -> Tuple[Tensor, Tensor]:
        z = self.lightgcn.get_embedding(self.edge_index)
        return z[:self.num_problems], z[self.num_problems:]
