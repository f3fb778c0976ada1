"""Parsing HeCo's relation lists and neighbour files (only ever called on verified bytes).

The ``nei_*.npy`` files are pickled object arrays; a pinned hash proves
integrity, not that the file is harmless (whoever can write the data root can
pin a crafted file in ``SHA256SUMS``), so they are read with a restricted
unpickler that rebuilds only integer arrays and refuses every other global
(:mod:`graphcl.datasets._npy`): no dataset file can run code.
"""
from __future__ import annotations

import io

import numpy as np
import torch

from graphcl.datasets._npy import load_integer_object_array


def load_relation(payload: bytes, file: str) -> np.ndarray:
    """``(E, 2)`` int64 id pairs of a relation list ``<s><t>.txt`` (one pair per line)."""
    pairs = np.loadtxt(io.BytesIO(payload), dtype=np.int64, ndmin=2)
    if pairs.shape[1] != 2:
        raise ValueError(f"{file}: expected two ids per line, got {pairs.shape[1]}")
    return pairs


def check_ids(ids: np.ndarray, bound: int, what: str) -> None:
    """Raise a ValueError naming ``what`` unless every id lies in ``[0, bound)``."""
    if ids.size and (ids.min() < 0 or ids.max() >= bound):
        raise ValueError(f"{what}: ids must lie in [0, {bound}), got [{ids.min()}, {ids.max()}]")


def neighbour_edges(payload: bytes, file: str, num_targets: int, num_neighbours: int) -> torch.Tensor:
    """``[2, E]`` edge_index (neighbour id, target id) of a ``nei_<t>.npy`` file.

    Edges are grouped by target node in id order, and each node's neighbours
    keep the file's order (the reference samples from these lists by position).
    """
    # A pickled object array. Verification proves integrity, not intent (the
    # user may pin any file), so it is read with an unpickler that can only
    # rebuild integer arrays: no file can run code.
    nei = load_integer_object_array(payload, file)
    if nei.dtype == object:
        lists = [np.asarray(a, dtype=np.int64).reshape(-1) for a in nei]
    elif nei.ndim == 2:  # ACM nei_s.npy: a plain (N, 1) array, one subject per paper
        lists = list(nei.astype(np.int64))
    else:
        raise ValueError(f"{file}: expected an object array or a 2-d array, got {nei.dtype} {nei.shape}")
    if len(lists) != num_targets:
        raise ValueError(f"{file}: {len(lists)} neighbour lists for {num_targets} target nodes")
    lengths = np.fromiter((a.size for a in lists), dtype=np.int64, count=len(lists))
    src = np.concatenate(lists) if lists else np.zeros(0, dtype=np.int64)
    check_ids(src, num_neighbours, file)
    dst = np.repeat(np.arange(num_targets, dtype=np.int64), lengths)
    return torch.from_numpy(np.stack([src, dst]))



__all__ = ["load_relation", "check_ids", "neighbour_edges"]
