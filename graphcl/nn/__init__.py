"""Neural-network blocks on graphcl's sparse ops."""
from graphcl.nn.gcn_propagation import GCNPropagation
from graphcl.nn.infonce import MultiPositiveInfoNCE, multi_positive_infonce
from graphcl.nn.node_attention import NodeAttentionAggregation
from graphcl.nn.semantic_attention import SemanticAttention

__all__ = ["GCNPropagation", "NodeAttentionAggregation", "SemanticAttention",
           "MultiPositiveInfoNCE", "multi_positive_infonce"]
