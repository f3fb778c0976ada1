r"""Graph matching as a self-supervised loss (LVM-Med): affinities, a batched
QAP solver (IPFP), batched linear assignment, the blackbox / IMLE gradient,
the Hamming loss, and :class:`GraphMatchingLoss` composing them.

The pair index of a QAP is row-major: node ``i`` of the first graph matched
to node ``a`` of the second is entry ``i * n + a`` of ``vec(v)``.
"""
from graphcl.nn.matching.affinity import edge_affinity, edge_directions, node_affinity, padded_edges
from graphcl.nn.matching.assignment import linear_assignment
from graphcl.nn.matching.blackbox import blackbox_matching, gumbel_like
from graphcl.nn.matching.graph_matching_loss import (GraphMatchingLoss, GraphMatchingOutput,
                                                    MatchingProblems)
from graphcl.nn.matching.hamming import hamming_loss
from graphcl.nn.matching.ipfp import ipfp, qap_objective

__all__ = ["node_affinity", "edge_affinity", "edge_directions", "padded_edges",
           "linear_assignment", "ipfp", "qap_objective", "blackbox_matching", "gumbel_like", "hamming_loss",
           "GraphMatchingLoss", "GraphMatchingOutput", "MatchingProblems"]
