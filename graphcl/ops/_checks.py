"""Argument checks run in Python before any kernel: every message names the
argument, and bad input raises TypeError/ValueError instead of reaching C++."""
from __future__ import annotations

import torch
from torch import Tensor

REDUCTIONS = ("sum", "mean", "max", "min")


def check_reduce(reduce: str) -> str:
    if reduce == "add":
        return "sum"
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    return reduce


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


def check_edge_values(values, name: str, num_edges: int, ref: Tensor) -> None:
    if not isinstance(values, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(values).__name__}")
    if values.dtype != ref.dtype:
        raise TypeError(f"{name} has dtype {values.dtype} but the features have {ref.dtype}")
    if values.dim() != 1 or values.numel() != num_edges:
        raise ValueError(f"{name} must have shape [{num_edges}] (one value per edge), "
                         f"got {tuple(values.shape)}")
    if values.device != ref.device:
        raise ValueError(f"{name} is on {values.device} but the features are on {ref.device}")
    if torch.isnan(values).any():
        raise ValueError(f"{name} contains NaN")


def check_index(index, name: str, size: int, upper: int, device: torch.device) -> None:
    if not isinstance(index, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(index).__name__}")
    if index.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"{name} must be int32 or int64, got {index.dtype}")
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


def check_rowptr(rowptr, name: str, num_src: int, device: torch.device) -> None:
    if not isinstance(rowptr, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(rowptr).__name__}")
    if rowptr.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"{name} must be int32 or int64, got {rowptr.dtype}")
    if rowptr.dim() != 1 or rowptr.numel() < 1:
        raise ValueError(f"{name} must be 1-D with at least one entry, got {tuple(rowptr.shape)}")
    if rowptr.device != device:
        raise ValueError(f"{name} is on {rowptr.device} but src is on {device}")
    if int(rowptr[0]) != 0:
        raise ValueError(f"{name}[0] must be 0, got {int(rowptr[0])}")
    if rowptr.numel() > 1 and bool((rowptr[1:] < rowptr[:-1]).any()):
        raise ValueError(f"{name} is not sorted (it must be non-decreasing)")
    if int(rowptr[-1]) != num_src:
        raise ValueError(f"{name}[-1] = {int(rowptr[-1])} but src has {num_src} rows")
