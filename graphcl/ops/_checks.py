"""Argument checks run in Python before any kernel: every message names the
argument, and bad input raises TypeError/ValueError instead of reaching C++.

The checks of graph structure (index dtypes, counts, CSR row pointers, edge
weights) live here only; :mod:`graphcl.graph` uses the same functions.
"""
from __future__ import annotations

import numbers
from typing import Optional

import torch
from torch import Tensor

REDUCTIONS = ("sum", "mean", "max", "min")
INDEX_DTYPES = (torch.int32, torch.int64)


def check_reduce(reduce: str) -> str:
    if reduce == "add":
        return "sum"
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    return reduce


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


def check_graph(graph) -> None:
    from graphcl.graph import SparseGraph
    if not isinstance(graph, SparseGraph):
        raise TypeError(f"graph must be a graphcl.SparseGraph, got {type(graph).__name__} "
                        "(build one with SparseGraph.from_edge_index / from_data / from_scipy)")


def check_features(x, name: str, rows: int, device: torch.device, rows_meaning: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be floating point, got {x.dtype}")
    if x.dim() != 2:
        raise ValueError(f"{name} must be 2-D [{rows_meaning}, features], got shape {tuple(x.shape)}")
    if x.size(0) != rows:
        raise ValueError(f"{name} has {x.size(0)} rows but the graph has {rows} {rows_meaning}")
    if x.device != device:
        raise ValueError(f"{name} is on {x.device} but the graph is on {device}")


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


def check_edge_values(values, name: str, num_edges: int, ref: Tensor) -> None:
    """Per-edge values passed next to features ``ref``: same dtype and device."""
    if isinstance(values, Tensor) and values.device != ref.device:
        raise ValueError(f"{name} is on {values.device} but the features are on {ref.device}")
    check_edge_weight(values, name, num_edges, ref.device, ref.dtype)


def check_index(index, name: str, size: int, upper: int, device: torch.device) -> None:
    check_index_tensor(index, name)
    if index.dim() != 1 or index.numel() != size:
        raise ValueError(f"{name} must have shape [{size}], got {tuple(index.shape)}")
    if index.device != device:
        raise ValueError(f"{name} is on {index.device} but src is on {device}")
    if index.numel():
        lo, hi = int(index.min()), int(index.max())
        if lo < 0:
            raise ValueError(f"{name} contains a negative index ({lo})")
        if hi >= upper:
            raise ValueError(f"{name} contains index {hi}, outside [0, {upper})")


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
