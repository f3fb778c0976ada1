"""PyG ``MessagePassing`` convolutions that run graphcl's fused kernels in
``message_and_aggregate``: drop-in equivalents of PyG's layers that work in
``to_hetero``, ``HeteroConv`` and ``NeighborLoader`` mini-batches."""
from graphcl.nn.conv.gat_conv import FusedGATConv
from graphcl.nn.conv.gcn_conv import FusedGCNConv

__all__ = ["FusedGCNConv", "FusedGATConv"]
