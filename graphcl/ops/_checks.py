"""Argument checks run in Python before any kernel: every message names the
argument, and bad input raises TypeError/ValueError instead of reaching C++.

The checks of graph structure (index dtypes, counts, CSR row pointers, edge
weights) are shared with the graph builders and live in
:mod:`graphcl.graph.validation`; this module adds those of the ops'
features and reductions, and :func:`graph_input`, which lets an op's graph
argument be any adjacency :func:`graphcl.graph.as_sparse_graph` accepts.
"""
from __future__ import annotations

import functools
import inspect
from typing import Callable, Dict, Optional, Tuple

import torch
from torch import Tensor

from graphcl.graph import SparseGraph, as_sparse_graph
from graphcl.graph.validation import (check_count, check_edge_weight,  # noqa: F401 (re-exported)
                                       check_index_tensor, check_rowptr)

REDUCTIONS = ("sum", "mean", "max", "min")


def check_reduce(reduce: str) -> str:
    if reduce == "add":
        return "sum"
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    return reduce


def check_graph(graph) -> None:
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


def num_rows_of(t) -> Optional[int]:
    """The number of rows of a tensor argument, None for anything else (whose
    own check then raises)."""
    return t.size(0) if isinstance(t, Tensor) and t.dim() >= 1 else None


def graph_input(sizes: Callable[[Dict[str, object]], Tuple[Optional[int], Optional[int]]],
                edge_inputs: Tuple[str, ...] = (), edge_output: bool = False):
    """Decorator: the op's ``graph`` argument may be anything
    :func:`graphcl.graph.as_sparse_graph` accepts.

    A :class:`SparseGraph` goes straight through (per-edge tensors in its CSR
    order). Any other input is converted, cached, with the node counts
    ``sizes(arguments) = (num_src, num_dst)`` read from the op's features, and
    its per-edge tensors keep the input's own edge order: the arguments named
    in ``edge_inputs`` are reordered into CSR order before the op runs and,
    with ``edge_output``, the op's per-edge result is put back in the input's
    order. A per-edge tensor of the wrong length or device is passed on as it
    is, for the op's own check to name it.
    """
    def decorate(op):
        signature = inspect.signature(op)

        @functools.wraps(op)
        def op_on_any_graph(*args, **kwargs):
            if args and isinstance(args[0], SparseGraph):
                return op(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            if isinstance(bound.arguments["graph"], SparseGraph):  # passed by keyword
                return op(*args, **kwargs)
            graph = as_sparse_graph(bound.arguments["graph"], size=sizes(bound.arguments),
                                    name="graph")
            bound.arguments["graph"] = graph
            for name in edge_inputs:
                bound.arguments[name] = _to_csr_order(graph, bound.arguments.get(name))
            out = op(*bound.args, **bound.kwargs)
            return _to_input_order(graph, out) if edge_output else out
        return op_on_any_graph
    return decorate


def _to_csr_order(graph: SparseGraph, values):
    perm = graph.input_perm
    if perm is None or not isinstance(values, Tensor) or values.dim() == 0 \
            or values.size(0) != graph.num_edges or values.device != perm.device:
        return values
    return values[perm]


def _to_input_order(graph: SparseGraph, out: Tensor) -> Tensor:
    perm = graph.input_perm
    if perm is None:
        return out
    # out_input[perm[k]] = out[k]; index_copy is differentiable in out.
    return out.new_empty(out.shape).index_copy(0, perm, out)
