"""Neural-network blocks on graphcl's sparse ops."""
from graphcl.nn.contrast import (CrossViewInfoNCE, HardNegativeInfoNCE, MultiPositiveInfoNCE,
                                 NeighbourContrast, cross_view_infonce, mixed_hard_negatives,
                                 multi_positive_infonce, neighbour_contrast, positive_logsumexp)
from graphcl.nn.gcn_propagation import GCNPropagation
from graphcl.nn.hetero import MetapathView, SchemaView, TypeProjection
from graphcl.nn.node_attention import NodeAttentionAggregation
from graphcl.nn.semantic_attention import SemanticAttention
from graphcl.nn.student_t import StudentTAssignment, target_distribution

__all__ = ["GCNPropagation", "NodeAttentionAggregation", "SemanticAttention",
           "StudentTAssignment", "target_distribution",
           # heterogeneous blocks (graphcl.nn.hetero)
           "TypeProjection", "MetapathView", "SchemaView",
           # contrastive losses (graphcl.nn.contrast)
           "MultiPositiveInfoNCE", "multi_positive_infonce", "CrossViewInfoNCE",
           "cross_view_infonce", "NeighbourContrast", "neighbour_contrast",
           "HardNegativeInfoNCE", "mixed_hard_negatives", "positive_logsumexp"]

# The PyG convolutions (graphcl.nn.conv) import torch_geometric.nn, which is
# slow to load: they are exported lazily.
_CONVS = ("FusedGCNConv", "FusedGATConv")
__all__ += list(_CONVS)


def __getattr__(name):
    if name in _CONVS:
        from graphcl.nn import conv
        return getattr(conv, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

from graphcl.nn.bpr import BPRLoss, bpr_loss  # noqa: E402

__all__ += ["BPRLoss", "bpr_loss"]

# Appended: graph matching (LVM-Med) and image blocks.
from graphcl.nn.contrast import NTXentLoss, VICRegLoss, nt_xent, vicreg_loss  # noqa: E402
from graphcl.nn.matching import GraphMatchingLoss, blackbox_matching, hamming_loss, ipfp  # noqa: E402
from graphcl.nn.vision import Projector, RandomViews, ResNet18Small, SmallCNN  # noqa: E402

__all__ += ["NTXentLoss", "nt_xent", "VICRegLoss", "vicreg_loss", "GraphMatchingLoss",
            "blackbox_matching", "hamming_loss", "ipfp", "SmallCNN", "ResNet18Small", "Projector",
            "RandomViews"]

# GPN blocks (issue 14)
from graphcl.nn.gated_propagation import GatedCosinePropagation  # noqa: E402
from graphcl.nn.mlp_backbone import MLPBackbone  # noqa: E402
from graphcl.nn.resnet08 import ResNet08  # noqa: E402

__all__ += ["GatedCosinePropagation", "MLPBackbone", "ResNet08"]

from graphcl.nn.dense_graph_propagation import DenseGraphPropagation  # noqa: E402

__all__ += ["DenseGraphPropagation"]
