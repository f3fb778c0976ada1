"""What the fused convolutions share: the checks of their MessagePassing
options and inputs, and the adjacency they hand to ``propagate``."""
from typing import Any, Dict, Optional, Tuple

from torch import Tensor

from graphcl.graph import SparseGraph

#: Reductions graphcl's spmm runs (PyG's names; ``'add'`` is ``'sum'``).
FUSED_AGGRS = ("add", "sum", "mean", "max", "min")


def message_passing_kwargs(owner: str, kwargs: Dict[str, Any], aggrs: Tuple[str, ...],
                           node_dim: int) -> Dict[str, Any]:
    """The keyword arguments for ``MessagePassing.__init__``, checked: the
    fused kernels aggregate targets over sources (``flow='source_to_target'``)
    with one of ``aggrs``, along the node dimension the layer fixes."""
    kwargs = dict(kwargs)
    kwargs.setdefault("aggr", "add")
    if not isinstance(kwargs["aggr"], str) or kwargs["aggr"] not in aggrs:
        raise ValueError(f"{owner}: aggr must be one of {aggrs}, got {kwargs['aggr']!r}")
    flow = kwargs.get("flow", "source_to_target")
    if flow != "source_to_target":
        raise ValueError(f"{owner}: flow must be 'source_to_target' (pass the reversed graph "
                         f"for the other direction), got {flow!r}")
    if "node_dim" in kwargs:
        raise TypeError(f"{owner}: node_dim is fixed to {node_dim} (2-D node features)")
    kwargs["node_dim"] = node_dim
    return kwargs


def check_node_features(x, name: str, owner: str) -> None:
    """``x`` is a 2-D ``[num_nodes, channels]`` tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{owner}: {name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"{owner}: {name} must be 2-D [num_nodes, channels], got shape "
                         f"{tuple(x.shape)}")


def split_features(x, owner: str) -> Tuple[Tensor, Optional[Tensor], bool]:
    """``(x_src, x_dst, bipartite)`` from a node feature matrix or a PyG pair
    ``(x_src, x_dst)`` (``x_dst`` may be None)."""
    if isinstance(x, (tuple, list)):
        if len(x) != 2:
            raise ValueError(f"{owner}: x must be a tensor or a pair (x_src, x_dst), got "
                             f"{len(x)} entries")
        check_node_features(x[0], "x[0] (source features)", owner)
        if x[1] is not None:
            check_node_features(x[1], "x[1] (target features)", owner)
        return x[0], x[1], True
    check_node_features(x, "x", owner)
    return x, x, False


def propagation_adjacency(graph: SparseGraph, dtype) -> Tensor:
    """``graph`` as the ``adj_t`` given to ``propagate``: a torch sparse CSR
    (``MessagePassing`` fuses only for sparse inputs) that shares the graph's
    index tensors, its values being the weights in ``dtype`` for the unfused
    path (explain mode)."""
    return graph.to_torch_sparse(dtype)
