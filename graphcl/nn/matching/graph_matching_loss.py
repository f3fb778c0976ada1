r"""LVM-Med's second-order graph-matching loss for any encoder of two views."""
from __future__ import annotations

import numbers
from typing import NamedTuple, Optional

import torch
from torch import Tensor, nn

from graphcl.graph import SparseGraph
from graphcl.knn import batched_knn_adjacency
from graphcl.nn.gcn_propagation import GCNPropagation
from graphcl.nn.matching._checks import check_view_embeddings
from graphcl.nn.matching.affinity import edge_affinity, node_affinity
from graphcl.nn.matching.blackbox import blackbox_matching, gumbel_like
from graphcl.nn.matching.hamming import hamming_loss
from graphcl.nn.matching.assignment import linear_assignment
from graphcl.nn.matching.ipfp import ipfp_unchecked

ORDERS = ("second", "first")
#: Message passing: the paper's GCN (Eq. 1) or the authors' code's GraphConv.
CONVS = ("gcn", "graphconv")


class GraphMatchingOutput(NamedTuple):
    """What :class:`GraphMatchingLoss` computed for one batch."""
    loss: Tensor           # scalar Hamming loss (mean over graphs)
    matching: Tensor       # [G, n, n] the solver's matching of each graph pair
    unary: Tensor          # [G, n, n] vertex affinities (before noise)
    adjacency_s: Tensor    # [G, n, n] bool kNN graphs of the first view
    adjacency_t: Tensor    # [G, n, n] bool kNN graphs of the second view


class MatchingProblems(NamedTuple):
    """The perturbed matching problems of one batch (what the solver sees)."""
    noisy_unary: Tensor            # [G, n, n] vertex affinities plus Gumbel noise
    quadratic: Optional[Tensor]    # [G, E_s, E_t] perturbed edge affinities (second order)
    unary: Tensor                  # [G, n, n] vertex affinities (before noise)
    adjacency_s: Tensor            # [G, n, n] bool kNN graphs of the first view
    adjacency_t: Tensor            # [G, n, n] bool kNN graphs of the second view


class GraphMatchingLoss(nn.Module):
    r"""Self-supervision by matching the graphs of two views of a batch
    (LVM-Med, Nguyen et al., NeurIPS 2023,
    `arXiv 2306.11925 <https://arxiv.org/abs/2306.11925>`_, Alg. 1).

    The ``N`` rows of each view are cut into ``G = N // n`` graphs of ``n``
    consecutive rows (the remainder is dropped, as the authors' code does).
    Per graph and view, a directed kNN graph (Euclidean, ``k`` neighbours,
    :func:`graphcl.knn.batched_knn_adjacency` on the detached embeddings) is refined by
    ``num_layers`` GCN layers shared across views (the paper's two:
    :math:`H = \hat A\, \mathrm{ReLU}(\hat A Z W_1) W_2` with
    :math:`\hat A = \tilde D^{-1/2}(A + I)\tilde D^{-1/2}`, PyG ``GCNConv``;
    node ``i`` aggregates its neighbours). Then

    .. math::
        c^v_{ia} = \alpha \cos(\hat z^s_i, \hat z^t_a), \quad
        c^e_{ia,jb} = \cos(\hat z^s_i - \hat z^s_j, \hat z^t_a - \hat z^t_b), \quad
        \tilde v = \mathrm{GM}(c^v + \epsilon, c^e + \epsilon'),

    :math:`\epsilon, \epsilon' \sim \mathrm{Gumbel}(0, \beta)`, is solved by batched
    IPFP over all graphs at once (``order='first'``: the linear assignment of
    :math:`c^v + \epsilon` alone, the paper's ablation), and the loss is the
    Hamming distance of :math:`\tilde v` to the identity, with the IMLE
    gradient (:func:`~graphcl.nn.matching.blackbox_matching`, :math:`\lambda`).

    Args:
        in_channels (int): embedding size ``F``.
        hidden_channels (int, optional): GCN width (default ``128``).
        nodes_per_graph (int, optional): ``n`` (default ``16``).
        k (int, optional): kNN neighbours, ``1 <= k < n`` (default ``5``).
        alpha (float, optional): weight of the global vertex cosine (default ``0.8``).
        lam (float, optional): IMLE :math:`\lambda` (default ``80``).
        noise_scale (float, optional): Gumbel scale :math:`\beta` (default ``1.0``,
            the paper; ``0`` = no noise, BB-GM's blackbox gradient).
        order (str, optional): ``'second'`` (QAP, default) or ``'first'`` (LAP).
        solver_iterations (int, optional): IPFP steps (default ``30``).
        num_layers (int, optional): message-passing layers, 0, 1 or 2 (default
            ``2``, the paper's; ``0`` matches the projections themselves, the
            paper's "w/o message passing" ablation, Table 6). ReLU between layers.
        conv (str, optional): ``'gcn'`` (default, the paper's Eq. 1) or
            ``'graphconv'``, the authors' code's ``GraphConv`` (sum aggregation
            with its own root weight, :math:`W_r z_i + W_n \sum_{j \in N(i)} z_j`),
            which keeps a node's own features apart from its neighbours' mean.

    Shapes:
        - z_s, z_t: ``[N, in_channels]`` with ``N >= nodes_per_graph``
        - output: :class:`GraphMatchingOutput` (``loss`` scalar)
    """

    def __init__(self, in_channels: int, hidden_channels: int = 128, nodes_per_graph: int = 16,
                 k: int = 5, alpha: float = 0.8, lam: float = 80.0, noise_scale: float = 1.0,
                 order: str = "second", solver_iterations: int = 30, conv: str = "gcn",
                 num_layers: int = 2):
        super().__init__()
        for name, value in (("nodes_per_graph", nodes_per_graph), ("k", k)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if k >= nodes_per_graph:
            raise ValueError(f"k must be smaller than nodes_per_graph = {nodes_per_graph} "
                             f"(a kNN graph of n nodes has at most n - 1 neighbours), got {k}")
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        if not noise_scale >= 0:
            raise ValueError(f"noise_scale must be >= 0, got {noise_scale!r}")
        self.nodes_per_graph, self.k, self.alpha = int(nodes_per_graph), int(k), float(alpha)
        self.lam, self.noise_scale, self.order = float(lam), float(noise_scale), order
        if isinstance(solver_iterations, bool) or not isinstance(solver_iterations, int) \
                or solver_iterations < 1:
            raise ValueError(f"solver_iterations must be a positive int, got {solver_iterations!r}")
        self.solver_iterations = solver_iterations
        if conv not in CONVS:
            raise ValueError(f"conv must be one of {CONVS}, got {conv!r}")
        if num_layers not in (0, 1, 2) or isinstance(num_layers, bool):
            raise ValueError(f"num_layers must be 0, 1 or 2, got {num_layers!r}")
        self.conv, self.in_channels = conv, int(in_channels)
        widths = [in_channels] + [hidden_channels] * num_layers
        if conv == "gcn":
            self.convs = nn.ModuleList(GCNPropagation(a, b, "pyg", add_self_loops=True)
                                       for a, b in zip(widths, widths[1:]))
            self.roots = None
        else:   # PyG GraphConv(aggr='add'): W_n sum_j z_j + b + W_r z_i
            self.convs = nn.ModuleList(GCNPropagation(a, b, "none")
                                       for a, b in zip(widths, widths[1:]))
            self.roots = nn.ModuleList(nn.Linear(a, b, bias=False)
                                       for a, b in zip(widths, widths[1:]))

    def reset_parameters(self) -> None:
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def _check(self, z_s: Tensor, z_t: Tensor) -> int:
        check_view_embeddings(z_s, z_t, "[N, F]")
        if z_s.size(1) != self.in_channels:
            raise ValueError(f"z_s has {z_s.size(1)} channels, the loss was built for "
                             f"{self.in_channels}")
        graphs = z_s.size(0) // self.nodes_per_graph
        if graphs == 0:
            raise ValueError(f"a batch of {z_s.size(0)} rows holds no graph of "
                             f"nodes_per_graph = {self.nodes_per_graph} nodes")
        return graphs

    def knn_graphs(self, z: Tensor) -> Tensor:
        """``[G, n, n]`` bool directed kNN adjacencies of ``z`` (``[G, n, F]``)."""
        return batched_knn_adjacency(z.detach(), self.k)

    def refine(self, z: Tensor, adjacency: Tensor) -> Tensor:
        """The shared message-passing layers over the block-diagonal batch of graphs."""
        g, n, _ = z.shape
        if not len(self.convs):
            return z
        graph_id, src, dst = adjacency.nonzero(as_tuple=True)
        # node i aggregates its kNN neighbours j: messages flow j -> i
        edge_index = torch.stack([graph_id * n + dst, graph_id * n + src])
        graph = SparseGraph.from_edge_index(edge_index, num_nodes=g * n)
        h = z.reshape(g * n, -1)
        for layer, conv in enumerate(self.convs):
            out = conv(h, graph)
            if self.roots is not None:
                out = out + self.roots[layer](h)
            h = out.relu() if layer + 1 < len(self.convs) else out
        return h.view(g, n, -1)

    def problems(self, z_s: Tensor, z_t: Tensor,
                 generator: Optional[torch.Generator] = None) -> MatchingProblems:
        """The batch cut into graphs, their kNN graphs and GCN refinement, and
        the perturbed affinities the solver is given (``forward`` without the
        solve; also what a benchmark of the solver needs)."""
        graphs = self._check(z_s, z_t)
        n = self.nodes_per_graph
        z = torch.stack([z_s[:graphs * n], z_t[:graphs * n]]).view(2 * graphs, n, -1)
        adjacency = self.knn_graphs(z)
        h = self.refine(z, adjacency)
        h_s, h_t = h[:graphs], h[graphs:]
        adj_s, adj_t = adjacency[:graphs], adjacency[graphs:]
        unary = node_affinity(h_s, h_t, self.alpha)
        noisy_unary = unary + self._noise(unary, generator)
        quadratic = None
        if self.order == "second":
            quadratic = edge_affinity(h_s, adj_s, h_t, adj_t,
                                      perturb=lambda c: c + self._noise(c, generator))
        return MatchingProblems(noisy_unary, quadratic, unary, adj_s, adj_t)

    def forward(self, z_s: Tensor, z_t: Tensor,
                generator: Optional[torch.Generator] = None) -> GraphMatchingOutput:
        p = self.problems(z_s, z_t, generator)
        matching = blackbox_matching(p.noisy_unary, p.quadratic, self.lam, self._solve)
        return GraphMatchingOutput(hamming_loss(matching), matching.detach(), p.unary.detach(),
                                   p.adjacency_s, p.adjacency_t)

    def _solve(self, unary: Tensor, quadratic: Optional[Tensor]) -> Tensor:
        if quadratic is None:
            return linear_assignment(unary)
        return ipfp_unchecked(unary, quadratic, max_iter=self.solver_iterations)

    def _noise(self, x: Tensor, generator: Optional[torch.Generator]) -> Tensor:
        if self.noise_scale == 0:
            return torch.zeros_like(x)
        return gumbel_like(x, self.noise_scale, generator)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, "
                f"num_layers={len(self.convs)}, conv={self.conv!r}, "
                f"nodes_per_graph={self.nodes_per_graph}, k={self.k}, order={self.order!r}, "
                f"lam={self.lam:g}, noise_scale={self.noise_scale:g})")
