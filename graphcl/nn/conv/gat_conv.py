"""GAT convolution on graphcl's fused sddmm, segment_softmax and spmm, as a
PyG ``MessagePassing``."""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn import MessagePassing
from torch_geometric.nn.dense.linear import Linear
from torch_geometric.nn.inits import glorot, zeros

from graphcl import ops
from graphcl.graph import SparseGraph, as_sparse_graph
from graphcl.nn.conv._fused import message_passing_kwargs, propagation_adjacency, split_features


class FusedGATConv(MessagePassing):
    r"""The graph attention layer of `"Graph Attention Networks"
    <https://arxiv.org/abs/1710.10903>`_ (Veličković et al., ICLR 2018),
    computed by graphcl's fused kernels:

    .. math::
        \mathbf{x}^{\prime}_i = \sum_{j \in \mathcal{N}(i) \cup \{ i \}}
        \alpha_{i,j}\mathbf{\Theta}_s\mathbf{x}_{j},
        \qquad
        \alpha_{i,j} = \mathrm{softmax}_{j}\Big(\mathrm{LeakyReLU}\big(
        \mathbf{a}^{\top}_{t} \mathbf{\Theta}_{t}\mathbf{x}_i
        + \mathbf{a}^{\top}_{s} \mathbf{\Theta}_{s}\mathbf{x}_j\big)\Big)

    per head, with :math:`\mathbf{\Theta}_s = \mathbf{\Theta}_t` unless
    ``in_channels`` is a pair. The edge scores are one ``sddmm`` per head (the
    additive score is the dot product :math:`[s_i, 1] \cdot [1, s_j]` of the
    per-node scores, so its backward is a CSR/CSC reduction, not a scatter),
    the softmax graphcl's ``segment_softmax`` over every target's incoming
    edges and the aggregation one fused ``spmm`` per head: no ``E x F``
    message tensor. With the same weights (``lin`` or ``lin_src``/``lin_dst``,
    ``att_src``, ``att_dst``, ``bias``, ``res``) it equals
    ``torch_geometric.nn.GATConv``, including its self-loop rule: all
    self-loops are removed and one is added to each node
    :math:`i < \min(|\mathcal{V}_s|, |\mathcal{V}_t|)`. Attention dropout
    draws other masks than PyG's (the edges are in another order). Edge
    features (``edge_dim``) are not supported.

    Args:
        in_channels (int or (int, int)): size of each input sample, or ``-1``
            to derive it from the first input; a pair gives the source and
            target sizes of a bipartite graph (separate ``lin_src`` and
            ``lin_dst``).
        out_channels (int): size of each output sample per head.
        heads (int, optional): number of attention heads. (default: ``1``)
        concat (bool, optional): concatenate the heads, else average them.
            (default: ``True``)
        negative_slope (float, optional): LeakyReLU slope. (default: ``0.2``)
        dropout (float, optional): dropout probability of the attention
            coefficients in training. (default: ``0.0``)
        add_self_loops (bool, optional): add self-loops as described above;
            set it to ``False`` for heterogeneous edge types
            (``to_hetero``/``HeteroConv``). (default: ``True``)
        bias (bool, optional): learn an additive bias. (default: ``True``)
        residual (bool, optional): add a learnable skip connection
            :math:`\mathbf{W}_r \mathbf{x}_i`. (default: ``False``)
        **kwargs (optional): arguments of
            :class:`torch_geometric.nn.conv.MessagePassing` (``aggr`` must stay
            ``'add'``).

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F_{in})` or
          :math:`((|\mathcal{V}_s|, F_s), (|\mathcal{V}_t|, F_t))` if
          bipartite (``x_t`` may be None); an ``edge_index``
          :math:`(2, |\mathcal{E}|)` or any adjacency
          :func:`~graphcl.graph.as_sparse_graph` accepts.
        - **output:** node features :math:`(|\mathcal{V}_t|, H F_{out})` (or
          :math:`(|\mathcal{V}_t|, F_{out})` without ``concat``); with
          ``return_attention_weights``, also ``(edge_index, alpha)``: the edges
          (self-loops included) :math:`(2, |\mathcal{E}'|)` in CSR order and
          their coefficients :math:`(|\mathcal{E}'|, H)`.
    """

    def __init__(self, in_channels: Union[int, Tuple[int, int]], out_channels: int,
                 heads: int = 1, concat: bool = True, negative_slope: float = 0.2,
                 dropout: float = 0.0, add_self_loops: bool = True, bias: bool = True,
                 residual: bool = False, **kwargs):
        super().__init__(**message_passing_kwargs(type(self).__name__, kwargs, ("add", "sum"),
                                                  node_dim=0))
        self.in_channels, self.out_channels = in_channels, out_channels
        self.heads, self.concat = heads, concat
        self.negative_slope, self.dropout = negative_slope, dropout
        self.add_self_loops, self.residual = add_self_loops, residual
        self.lin = self.lin_src = self.lin_dst = None
        if isinstance(in_channels, int):
            self.lin = Linear(in_channels, heads * out_channels, False, weight_initializer="glorot")
        else:
            self.lin_src = Linear(in_channels[0], heads * out_channels, False,
                                  weight_initializer="glorot")
            self.lin_dst = Linear(in_channels[1], heads * out_channels, False,
                                  weight_initializer="glorot")
        self.att_src = Parameter(torch.empty(1, heads, out_channels))
        self.att_dst = Parameter(torch.empty(1, heads, out_channels))
        total_out = out_channels * (heads if concat else 1)
        self.res = None
        if residual:
            self.res = Linear(in_channels if isinstance(in_channels, int) else in_channels[1],
                              total_out, bias=False, weight_initializer="glorot")
        self.bias = Parameter(torch.empty(total_out)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in (self.lin, self.lin_src, self.lin_dst, self.res):
            if lin is not None:
                lin.reset_parameters()
        glorot(self.att_src)
        glorot(self.att_dst)
        zeros(self.bias)

    def forward(self, x, edge_index, edge_attr: Optional[Tensor] = None, size=None,
                return_attention_weights: Optional[bool] = None):
        """Args:
            x (Tensor or (Tensor, Tensor or None)): node features, or source
                and target features of a bipartite graph.
            edge_index: the graph (see the class docstring).
            edge_attr: must be None (no edge features).
            size ((int, int), optional): ``(num_src, num_dst)``.
            return_attention_weights (bool, optional): also return
                ``(edge_index, alpha)`` whenever set, as PyG does.
        """
        if edge_attr is not None:
            raise ValueError(f"{type(self).__name__} takes no edge features (edge_attr)")
        H, C = self.heads, self.out_channels
        x_src, x_dst, bipartite = split_features(x, type(self).__name__)
        res = self.res(x_dst) if self.res is not None and x_dst is not None else None
        h_src, h_dst = self._project(x_src, x_dst, bipartite)
        if size is None:
            size = (h_src.size(0), None if h_dst is None else h_dst.size(0))
        graph = as_sparse_graph(edge_index, size=size, name="edge_index")
        if self.add_self_loops:
            square = graph.num_rows == graph.num_cols
            graph = graph.with_remaining_self_loops(
                num_loops=None if square else min(graph.num_rows, graph.num_cols))
        alpha = self._attention(graph, h_src, h_dst)
        out = self.propagate(propagation_adjacency(graph, h_src.dtype), x=(h_src, h_dst),
                             alpha=alpha, graph=graph)
        out = out.reshape(-1, H * C) if self.concat else out.mean(dim=1)
        if res is not None:
            out = out + res
        if self.bias is not None:
            out = out + self.bias
        if return_attention_weights is not None:
            return out, (graph.to_edge_index(), alpha)
        return out

    def _project(self, x_src: Tensor, x_dst: Optional[Tensor], bipartite: bool):
        """``[N, heads, out_channels]`` projections of the source and target
        features (PyG's order of operations)."""
        H, C = self.heads, self.out_channels
        lin_src = self.lin if self.lin is not None else self.lin_src
        lin_dst = self.lin if self.lin is not None else self.lin_dst
        h_src = lin_src(x_src).view(-1, H, C)
        if not bipartite and self.lin is not None:
            return h_src, h_src
        return h_src, None if x_dst is None else lin_dst(x_dst).view(-1, H, C)

    def _attention(self, graph: SparseGraph, h_src: Tensor, h_dst: Optional[Tensor]) -> Tensor:
        """Attention coefficients ``[E, heads]`` of ``graph``'s edges, CSR order."""
        score_src = (h_src * self.att_src).sum(dim=-1)  # [num_src, H]
        score_dst = None if h_dst is None else (h_dst * self.att_dst).sum(dim=-1)
        ones_dst = h_src.new_ones(graph.num_rows, 1)
        ones_src = h_src.new_ones(graph.num_cols, 1)
        heads = []
        for k in range(self.heads):
            s_src = score_src[:, k:k + 1]
            if score_dst is None:  # score_j only
                heads.append(ops.sddmm(graph, ones_dst, s_src))
            else:  # [s_i, 1] . [1, s_j] = s_i + s_j
                heads.append(ops.sddmm(graph, torch.cat([score_dst[:, k:k + 1], ones_dst], 1),
                                       torch.cat([ones_src, s_src], 1)))
        scores = F.leaky_relu(torch.stack(heads, dim=1), self.negative_slope)
        alpha = ops.segment_softmax(graph, scores)
        return F.dropout(alpha, p=self.dropout, training=self.training)

    def message(self, x_j: Tensor, alpha: Tensor) -> Tensor:
        # The unfused path (explain mode): propagate's adj_t lists the edges in
        # graph's CSR order, as alpha.
        return alpha.unsqueeze(-1) * x_j

    def message_and_aggregate(self, adj_t: Tensor, x: Tuple[Tensor, Optional[Tensor]],
                              alpha: Tensor, graph: SparseGraph) -> Tensor:
        h_src = x[0]
        return torch.stack([ops.spmm(graph, h_src[:, k], alpha[:, k].contiguous())
                            for k in range(self.heads)], dim=1)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, "
                f"heads={self.heads})")
