"""Neural-network blocks on graphcl's sparse ops."""
from graphcl.nn.cross_view_infonce import cross_view_infonce
from graphcl.nn.gcn_propagation import GCNPropagation
from graphcl.nn.infonce import MultiPositiveInfoNCE, multi_positive_infonce
from graphcl.nn.neighbour_contrast import NeighbourContrast, neighbour_contrast
from graphcl.nn.node_attention import NodeAttentionAggregation
from graphcl.nn.semantic_attention import SemanticAttention
from graphcl.nn.student_t import StudentTAssignment, target_distribution

__all__ = ["GCNPropagation", "NodeAttentionAggregation", "SemanticAttention",
           "MultiPositiveInfoNCE", "multi_positive_infonce", "cross_view_infonce",
           "NeighbourContrast",
           "neighbour_contrast", "StudentTAssignment", "target_distribution"]

# The PyG convolutions (graphcl.nn.conv) import torch_geometric.nn, which is
# slow to load: they are exported lazily.
_CONVS = ("FusedGCNConv", "FusedGATConv")
__all__ += list(_CONVS)


def __getattr__(name):
    if name in _CONVS:
        from graphcl.nn import conv
        return getattr(conv, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
