"""graphcl: graph contrastive and graph-propagation learning on PyTorch Geometric."""
from graphcl.graph import SparseGraph
from graphcl import ops

__version__ = "0.1.0"
__all__ = ["SparseGraph", "ops", "__version__"]
