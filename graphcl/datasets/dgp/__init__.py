"""DGP's ImageNet zero-shot data and the offline WordNet-gloss protocol.

* :func:`load_dgp`: the induced WordNet graph, its GloVe-50d inputs, DGP's splits.
* :func:`load_gcnz_graph`: GCNZ's undirected graph.
* :func:`build_gloss_protocol`: gloss-mean targets and token samples (reference §4).
"""
from graphcl.datasets.dgp.files import DGP_COMMIT, DGP_FILES, GCNZ_COMMIT
from graphcl.datasets.dgp.loader import TEST_SETS, DGPData, load_dgp, load_gcnz_graph, node_indices
from graphcl.datasets.dgp.protocol import (TOKEN_PATTERN, GlossProtocol, GlossSamples,
                                           build_gloss_protocol, gloss_tokens)

__all__ = ["DGP_FILES", "DGP_COMMIT", "GCNZ_COMMIT", "TEST_SETS", "DGPData", "load_dgp",
           "load_gcnz_graph", "node_indices", "TOKEN_PATTERN", "GlossProtocol", "GlossSamples",
           "build_gloss_protocol", "gloss_tokens"]
