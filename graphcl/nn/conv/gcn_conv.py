"""GCN convolution on graphcl's fused spmm, as a PyG ``MessagePassing``."""
from typing import Optional

import torch
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn import MessagePassing
from torch_geometric.nn.dense.linear import Linear
from torch_geometric.nn.inits import zeros

from graphcl import ops
from graphcl.graph import SparseGraph, as_sparse_graph
from graphcl.nn.conv._fused import (FUSED_AGGRS, message_passing_kwargs, propagation_adjacency,
                                    split_features)


class FusedGCNConv(MessagePassing):
    r"""The graph convolution of `"Semi-supervised Classification with Graph
    Convolutional Networks" <https://arxiv.org/abs/1609.02907>`_ (Kipf &
    Welling, ICLR 2017), computed by graphcl's fused ``spmm``:

    .. math::
        \mathbf{X}^{\prime} = \mathbf{\hat{D}}^{-1/2} \mathbf{\hat{A}}
        \mathbf{\hat{D}}^{-1/2} \mathbf{X} \mathbf{\Theta},
        \qquad
        \mathbf{x}^{\prime}_i = \mathbf{\Theta}^{\top} \sum_{j \in
        \mathcal{N}(i) \cup \{ i \}} \frac{e_{j,i}}{\sqrt{\hat{d}_j
        \hat{d}_i}} \mathbf{x}_j

    with :math:`\mathbf{\hat{A}} = \mathbf{A} + \mathbf{I}` (or
    :math:`+ 2\mathbf{I}` when ``improved``) and :math:`\hat{d}_i` the weighted
    in-degree of node :math:`i` in :math:`\mathbf{\hat{A}}`. It equals
    ``torch_geometric.nn.GCNConv`` with the same weights (same parameters
    ``lin.weight`` and ``bias``, same defaults), but aggregates in one CSR pass
    without the ``E x F`` message tensor, and the normalised graph is cached
    on the input (see :func:`graphcl.graph.as_sparse_graph`), so a training
    loop on the same ``edge_index`` normalises it once. Coefficients are exact
    in the features' dtype (float64 included).

    Self-loops follow ``torch_geometric.utils.add_remaining_self_loops`` for
    every input form: each node ends with exactly one loop, keeping the weight
    of an existing one. (PyG's ``GCNConv`` does so for an ``edge_index``; for
    a torch sparse input it adds the loops on top of existing diagonal
    entries.)

    Bipartite message passing, which ``GCNConv`` lacks, is supported for
    ``to_hetero`` and ``HeteroConv``: with ``x = (x_src, x_dst)`` each edge
    is divided by :math:`\sqrt{d^{in}_i d^{out}_j}`, the target's in-degree and
    the source's out-degree (:math:`D_{dst}^{-1/2} A D_{src}^{-1/2}`); there
    are no self-loops (``add_self_loops=False`` is required) and ``x_dst``
    only fixes the number of targets.

    Args:
        in_channels (int): size of each input sample, or ``-1`` to derive it
            from the first input (lazy initialisation).
        out_channels (int): size of each output sample.
        improved (bool, optional): self-loops of weight 2,
            :math:`\mathbf{\hat{A}} = \mathbf{A} + 2\mathbf{I}`.
            (default: ``False``)
        cached (bool, optional): keep the normalised graph of the first call
            and reuse it for every later call, whatever graph is passed
            (transductive learning only, as in PyG). (default: ``False``)
        add_self_loops (bool, optional): add self-loops before normalising;
            by default when ``normalize`` is set. (default: ``None``)
        normalize (bool, optional): normalise the adjacency; without it the
            layer sums :math:`e_{j,i} \mathbf{\Theta}^{\top} \mathbf{x}_j`.
            (default: ``True``)
        bias (bool, optional): learn an additive bias. (default: ``True``)
        **kwargs (optional): arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`; ``aggr`` may be
            ``'add'`` (default), ``'sum'``, ``'mean'``, ``'max'`` or ``'min'``.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F_{in})` or
          :math:`((|\mathcal{V}_s|, F_{in}), (|\mathcal{V}_t|, *))` if
          bipartite; an ``edge_index`` :math:`(2, |\mathcal{E}|)` or any
          adjacency :func:`~graphcl.graph.as_sparse_graph` accepts
          (``EdgeIndex``, torch sparse ``adj_t`` :math:`(|\mathcal{V}_t|,
          |\mathcal{V}_s|)`, ``SparseTensor``, :class:`~graphcl.SparseGraph`);
          edge weights :math:`(|\mathcal{E}|)` *(optional, with an
          edge_index only)*
        - **output:** node features :math:`(|\mathcal{V}_t|, F_{out})`
    """

    def __init__(self, in_channels: int, out_channels: int, improved: bool = False,
                 cached: bool = False, add_self_loops: Optional[bool] = None,
                 normalize: bool = True, bias: bool = True, **kwargs):
        super().__init__(**message_passing_kwargs(type(self).__name__, kwargs, FUSED_AGGRS,
                                                  node_dim=0))
        if add_self_loops is None:
            add_self_loops = normalize
        if add_self_loops and not normalize:
            raise ValueError(f"{type(self).__name__}: add_self_loops=True needs normalize=True "
                             "(self-loops are added as part of the normalisation)")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.improved, self.cached = improved, cached
        self.add_self_loops, self.normalize = add_self_loops, normalize
        self._cached_graph: Optional[SparseGraph] = None
        self.lin = Linear(in_channels, out_channels, bias=False, weight_initializer="glorot")
        if bias:
            self.bias = Parameter(torch.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.lin.reset_parameters()
        zeros(self.bias)
        self._cached_graph = None

    def forward(self, x, edge_index, edge_weight: Optional[Tensor] = None) -> Tensor:
        """Args:
            x (Tensor or (Tensor, Tensor or None)): node features, or source
                and target features of a bipartite graph.
            edge_index: the graph (see the class docstring).
            edge_weight (Tensor, optional): one weight per ``edge_index``
                column, in its order.
        """
        x_src, x_dst, bipartite = split_features(x, type(self).__name__)
        graph = self._graph(edge_index, edge_weight, x_src, x_dst, bipartite)
        h = self.lin(x_src)
        # edge_weight=None: the unfused path reads the weights from adj_t
        out = self.propagate(propagation_adjacency(graph, h.dtype), x=h, edge_weight=None,
                             graph=graph)
        return out if self.bias is None else out + self.bias

    def _graph(self, edge_index, edge_weight, x_src, x_dst, bipartite) -> SparseGraph:
        """The (normalised) graph messages run on; cached by the converter,
        and on the layer too with ``cached=True``."""
        if self.cached and self._cached_graph is not None:
            return self._cached_graph
        num_dst = None if x_dst is None else x_dst.size(0)
        graph = as_sparse_graph(edge_index, edge_weight, size=(x_src.size(0), num_dst),
                                name="edge_index")
        if self.normalize and bipartite:
            if self.add_self_loops:
                raise ValueError(f"{type(self).__name__}: bipartite input (x_src, x_dst) has no "
                                 "self-loops; construct the layer with add_self_loops=False")
            graph = graph.normalized("sym")
        elif self.normalize:
            if self.add_self_loops:
                graph = graph.with_remaining_self_loops(2.0 if self.improved else 1.0)
            graph = graph.normalized("pyg")
        if self.cached:
            self._cached_graph = graph
        return graph

    def message(self, x_j: Tensor, edge_weight: Optional[Tensor]) -> Tensor:
        # The unfused path (explain mode), on propagate's adj_t: same sum.
        return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j

    def message_and_aggregate(self, adj_t: Tensor, x: Tensor, graph: SparseGraph) -> Tensor:
        # One fused pass over graph's CSR; adj_t (the same graph) only routes
        # propagate here.
        return ops.spmm(graph, x, reduce=self.aggr)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
