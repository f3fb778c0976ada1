"""GCN-style propagation on graphcl's fused spmm."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from graphcl import ops
from graphcl.graph import NORMALIZATIONS, SparseGraph, as_sparse_graph


class GCNPropagation(nn.Module):
    r"""One graph convolution :math:`\sigma(\hat{A} X W + b)` with a choice of
    normalisation of :math:`\hat{A}`.

    The normalised graph is cached on the :class:`SparseGraph`, so repeated
    calls cost one fused spmm (no ``E x F`` message tensor). Its coefficients
    are exact in the dtype of ``x`` (float64 included).

    ``GCNPropagation(c_in, c_out, normalization="pyg", add_self_loops=True)``
    computes exactly ``torch_geometric.nn.GCNConv(c_in, c_out)`` (its
    defaults: ``improved=False``, ``normalize=True``, ``add_self_loops=True``)
    once ``lin.weight`` and ``bias`` are copied; only the initialisation differs.

    Args:
        in_channels (int): input feature size.
        out_channels (int): output feature size.
        normalization (str, optional): ``'sym'`` (default,
            :math:`D_{in}^{-1/2} A D_{out}^{-1/2}`, HeCo's), ``'row'``
            (:math:`D_{in}^{-1} A`, a weighted mean), ``'pyg'`` (GCNConv's
            ``gcn_norm``: the in-degree on both ends, which differs from
            ``'sym'`` on directed graphs; square graphs only) or ``'none'``.
            See :meth:`SparseGraph.normalized`.
        add_self_loops (bool, optional): add a unit self-loop to every node
            lacking one before normalising (default ``False``). With ``'pyg'``
            this is PyG's ``add_remaining_self_loops``: each node ends with
            exactly one self-loop (keeping an existing loop's weight); with the
            other normalisations existing self-loops are kept as they are.
        bias (bool, optional): add a learnable bias, initialised to 0 (default
            ``True``).
        activation (nn.Module, optional): applied last, e.g. ``nn.PReLU()``.

    Shapes:
        - x: ``[graph.num_cols, in_channels]``
        - graph: a :class:`SparseGraph` or any adjacency
          :func:`~graphcl.graph.as_sparse_graph` accepts (``edge_index`` with
          an optional ``edge_weight`` in its order, ``EdgeIndex``, torch
          sparse ``adj_t``, ``SparseTensor``)
        - output: ``[graph.num_rows, out_channels]``
    """

    def __init__(self, in_channels: int, out_channels: int, normalization: str = "sym",
                 add_self_loops: bool = False, bias: bool = True,
                 activation: Optional[nn.Module] = None):
        super().__init__()
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
        self.normalization = normalization
        self.add_self_loops = add_self_loops
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.activation = activation
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # HeCo's GCN: xavier_normal with gain sqrt(2), bias 0.
        nn.init.xavier_normal_(self.lin.weight, gain=1.414)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, graph, edge_weight: Optional[Tensor] = None) -> Tensor:
        if edge_weight is not None or not isinstance(graph, SparseGraph):
            # a PyG adjacency (edge_index with its edge_weight, ...), converted and cached
            graph = as_sparse_graph(graph, edge_weight, size=(len(x), None), name="graph")
        graph = graph.normalized(self.normalization, self.add_self_loops)
        out = ops.spmm(graph, self.lin(x))
        if self.bias is not None:
            out = out + self.bias
        return self.activation(out) if self.activation is not None else out

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.lin.in_features}, {self.lin.out_features}, "
                f"normalization={self.normalization!r})")
