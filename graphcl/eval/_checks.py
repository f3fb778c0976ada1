"""Input checks shared by the evaluation metrics, and their mean/std summary.

Each check turns what a user holds (a tensor, a numpy array, a list) into a
numpy array, or raises a TypeError/ValueError that names the argument.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Union

import numpy as np
from torch import Tensor

#: What the metrics accept for embeddings, labels and node ids.
ArrayLike = Union[Tensor, np.ndarray, Sequence[int]]


def as_numpy(x, name: str) -> np.ndarray:
    """A numpy array of a tensor (detached, on the CPU) or of any array-like."""
    if isinstance(x, Tensor):
        return x.detach().cpu().numpy()
    try:
        return np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise TypeError(f"{name} must be array-like, got {type(x).__name__}") from exc


def check_embeddings(embeddings, name: str = "embeddings") -> np.ndarray:
    """2-D, numeric, finite; returns a numpy view/copy."""
    emb = as_numpy(embeddings, name)
    if emb.ndim != 2:
        raise ValueError(f"{name} must be 2-D [nodes, dim], got shape {emb.shape}")
    if emb.shape[0] == 0 or emb.shape[1] == 0:
        raise ValueError(f"{name} must be non-empty, got shape {emb.shape}")
    if not (np.issubdtype(emb.dtype, np.floating) or np.issubdtype(emb.dtype, np.integer)
            or emb.dtype == np.bool_):
        raise TypeError(f"{name} must be numeric, got dtype {emb.dtype}")
    if np.issubdtype(emb.dtype, np.floating) and not np.isfinite(emb).all():
        bad = int((~np.isfinite(emb)).any(axis=1).sum())
        raise ValueError(f"{name} contains NaN or Inf values ({bad} rows affected)")
    return emb


def check_labels(labels, n: int, name: str = "labels") -> np.ndarray:
    """1-D integer class ids of length n (a 2-D one-hot matrix is argmax-ed,
    as HeCo stores labels one-hot)."""
    lab = as_numpy(labels, name)
    if lab.ndim == 2:
        lab = lab.argmax(axis=1)
    if lab.ndim != 1:
        raise ValueError(f"{name} must be 1-D class ids (or 2-D one-hot), got shape {lab.shape}")
    if lab.shape[0] != n:
        raise ValueError(f"{name} has {lab.shape[0]} entries but embeddings has {n} rows")
    if np.issubdtype(lab.dtype, np.floating):
        if not np.isfinite(lab).all():
            raise ValueError(f"{name} contains NaN or Inf values")
        if not np.all(lab == np.round(lab)):
            raise ValueError(f"{name} must hold integer class ids, got non-integral floats")
        lab = lab.astype(np.int64)  # HeCo's ACM labels.npy is float64
    elif not (np.issubdtype(lab.dtype, np.integer) or lab.dtype == np.bool_):
        raise TypeError(f"{name} must hold integer class ids, got dtype {lab.dtype}")
    return lab.astype(np.int64, copy=False)


def check_index(idx, n: int, name: str) -> np.ndarray:
    """Integer node ids in [0, n) (a boolean mask of length n is accepted)."""
    arr = as_numpy(idx, name)
    if arr.dtype == np.bool_:
        if arr.shape != (n,):
            raise ValueError(f"{name} as a boolean mask must have shape ({n},), got {arr.shape}")
        arr = np.flatnonzero(arr)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D node ids, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer node ids, got dtype {arr.dtype}")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= n:
        raise ValueError(f"{name} has node ids outside [0, {n}) (min {lo}, max {hi})")
    return arr.astype(np.int64, copy=False)


def check_assignment(y, name: str, n: Optional[int] = None) -> np.ndarray:
    """1-D vector of hashable labels (ints, or strings); floats must be finite."""
    arr = as_numpy(y, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} entries, expected {n}")
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or Inf values")
    return arr


def check_positive_int(value, name: str) -> int:
    """``value`` as an int, or a ValueError naming ``name`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def mean_std(values: Dict[str, np.ndarray]) -> Dict[str, Dict[str, float]]:
    """``{metric: {"mean", "std"}}`` of per-repeat values."""
    # Population std (ddof=0) because the reference reports np.std.
    return {k: {"mean": float(np.mean(v)), "std": float(np.std(v))} for k, v in values.items()}


__all__ = ["ArrayLike", "as_numpy", "check_embeddings", "check_labels", "check_index",
           "check_assignment", "check_positive_int", "mean_std"]
