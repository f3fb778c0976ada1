"""Checks of graph structure: node counts, index dtypes, CSR row pointers and
edge weights.

They are written once, here, and shared by the graph builders and by the
argument checks of :mod:`graphcl.ops`; every message names the argument, and
bad input raises TypeError/ValueError before any kernel runs.
"""
from __future__ import annotations

import numbers
from typing import Optional, Tuple

import torch
from torch import Tensor

INDEX_DTYPES = (torch.int32, torch.int64)


def check_count(value, name: str) -> int:
    """``value`` as a non-negative Python int.

    Accepts Python and numpy integers and 0-d integer tensors; refuses bool,
    floats (``2.9`` is not silently truncated to 2) and negative values.
    """
    if isinstance(value, Tensor):
        if value.dim() != 0 or value.dtype == torch.bool or value.is_floating_point() \
                or value.is_complex():
            raise TypeError(f"{name} must be an int, got a tensor of shape {tuple(value.shape)} "
                            f"and dtype {value.dtype}")
        value = int(value)
    elif isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    value = int(value)
    if value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")
    return value


def check_index_dtype(dtype, name: str = "index_dtype") -> torch.dtype:
    """``dtype`` must be ``torch.int32`` or ``torch.int64``."""
    if dtype not in INDEX_DTYPES:
        raise TypeError(f"{name} must be torch.int32 or torch.int64, got {dtype!r}")
    return dtype


def check_fits_index_dtype(index_dtype: torch.dtype, **counts: int) -> None:
    """Every count (node counts, number of edges) must be representable in
    ``index_dtype``: node ids go up to the count and CSR pointers up to the
    number of edges, so a larger count would wrap around to negative ids."""
    limit = torch.iinfo(index_dtype).max
    for name, count in counts.items():
        if count > limit:
            raise ValueError(f"{name} = {count} does not fit index_dtype {index_dtype} "
                             f"(at most {limit}); use torch.int64")


def check_index_tensor(t, name: str) -> None:
    """``t`` is an int32 or int64 tensor."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dtype not in INDEX_DTYPES:
        raise TypeError(f"{name} must be int32 or int64, got {t.dtype}")


def check_edge_weight(values, name: str, num_edges: int, device: torch.device,
                      dtype: Optional[torch.dtype] = None, dtype_owner: str = "the features") -> None:
    """Per-edge values: a floating 1-D tensor of ``num_edges`` entries on
    ``device`` without NaN (and of ``dtype`` when given)."""
    if not isinstance(values, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(values).__name__}")
    if dtype is not None and values.dtype != dtype:
        raise TypeError(f"{name} has dtype {values.dtype} but {dtype_owner} have {dtype}")
    if not values.is_floating_point():
        raise TypeError(f"{name} must be floating point, got {values.dtype}")
    if values.dim() != 1 or values.numel() != num_edges:
        raise ValueError(f"{name} must have shape [{num_edges}] (one value per edge), "
                         f"got {tuple(values.shape)}")
    if values.device != device:
        raise ValueError(f"{name} is on {values.device} but the edges are on {device}")
    if torch.isnan(values).any():
        raise ValueError(f"{name} contains NaN")


def check_rowptr(rowptr, name: str, num_src: int, device: torch.device,
                 entries: str = "src", entries_unit: str = "rows") -> None:
    """A CSR row pointer over ``num_src`` entries (``entries`` names what it
    points into, for the messages)."""
    check_index_tensor(rowptr, name)
    if rowptr.dim() != 1 or rowptr.numel() < 1:
        raise ValueError(f"{name} must be 1-D with at least one entry, got {tuple(rowptr.shape)}")
    if rowptr.device != device:
        raise ValueError(f"{name} is on {rowptr.device} but {entries} is on {device}")
    if int(rowptr[0]) != 0:
        raise ValueError(f"{name}[0] must be 0, got {int(rowptr[0])}")
    if rowptr.numel() > 1 and bool((rowptr[1:] < rowptr[:-1]).any()):
        raise ValueError(f"{name} is not sorted (it must be non-decreasing): not a valid CSR")
    if int(rowptr[-1]) != num_src:
        raise ValueError(f"{name}[-1] = {int(rowptr[-1])} but {entries} has {num_src} "
                         f"{entries_unit}")


def explicit_sizes(num_nodes, num_src_nodes, num_dst_nodes) -> Tuple[Optional[int], Optional[int]]:
    """The node counts ``(num_src, num_dst)`` the caller gave, validated:
    ``num_nodes`` sets both."""
    if num_nodes is not None:
        if num_src_nodes is not None or num_dst_nodes is not None:
            raise ValueError("give either num_nodes or num_src_nodes/num_dst_nodes, not both")
        num_nodes = check_count(num_nodes, "num_nodes")
        return num_nodes, num_nodes
    src = None if num_src_nodes is None else check_count(num_src_nodes, "num_src_nodes")
    dst = None if num_dst_nodes is None else check_count(num_dst_nodes, "num_dst_nodes")
    return src, dst


def is_pyg_edge_index(edge_index) -> bool:
    """Whether ``edge_index`` is a ``torch_geometric.EdgeIndex`` (duck-typed, so
    that graphcl works with PyG versions that lack the class)."""
    return callable(getattr(edge_index, "sparse_size", None)) and \
        callable(getattr(edge_index, "as_tensor", None))


def merge_edge_index_sizes(edge_index, num_src: Optional[int], num_dst: Optional[int]
                           ) -> Tuple[Optional[int], Optional[int]]:
    """A torch_geometric ``EdgeIndex`` carries its own ``sparse_size``: it fills
    the counts the caller left out, and a count that contradicts it raises."""
    merged = []
    for name, given, own in (("num_src_nodes", num_src, edge_index.sparse_size(0)),
                             ("num_dst_nodes", num_dst, edge_index.sparse_size(1))):
        if given is not None and own is not None and int(own) != given:
            raise ValueError(f"{name} = {given} contradicts the EdgeIndex's sparse_size "
                             f"{tuple(edge_index.sparse_size())}")
        merged.append(given if given is not None else (None if own is None else int(own)))
    return merged[0], merged[1]


def check_square(num_rows: int, num_cols: int, what: str) -> None:
    """``what`` (e.g. ``'self-loops'``) needs as many targets as sources."""
    if num_rows != num_cols:
        raise ValueError(f"{what} need a square graph, got {num_rows} x {num_cols}")
