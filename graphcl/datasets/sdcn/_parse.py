"""Parsing of SDCN's graph and label files, and checks of user-given features.

Only ever called on verified bytes or on the user's ``features=``; every error
names the file (or argument) it is about.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Union

import numpy as np
import torch

from graphcl.datasets.sdcn.specs import SDCNSpec

PathLike = Union[str, os.PathLike]
#: What ``features=`` accepts.
FeaturesLike = Union[PathLike, np.ndarray, torch.Tensor, None]


def parse_edges(payload: bytes, rel: str, num_nodes: int) -> np.ndarray:
    """``[2, E]`` int64 from an ``i j`` per line file; every id must lie in ``[0, N)``."""
    try:
        pairs = np.loadtxt(io.BytesIO(payload), dtype=np.int64, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{rel}: expected one 'i j' pair of integer node ids per line: {exc}") from exc
    if pairs.size == 0 or pairs.shape[1] != 2:
        raise ValueError(f"{rel}: expected one 'i j' pair of node ids per line, got "
                         f"{pairs.shape[1] if pairs.size else 0} columns")
    low, high = int(pairs.min()), int(pairs.max())
    if low < 0 or high >= num_nodes:
        raise ValueError(f"{rel}: node ids must lie in [0, {num_nodes}), got [{low}, {high}]")
    return np.ascontiguousarray(pairs.T)


def parse_labels(payload: bytes, rel: str, spec: SDCNSpec) -> np.ndarray:
    """0-based int64 labels from a one-int-per-line file."""
    try:
        y = np.loadtxt(io.BytesIO(payload), dtype=np.int64, ndmin=1)
    except ValueError as exc:
        raise ValueError(f"{rel}: expected one integer label per line: {exc}") from exc
    if y.shape != (spec.num_nodes,):
        raise ValueError(f"{rel}: expected {spec.num_nodes} labels, got {y.shape[0] if y.ndim else 0}")
    y = y - spec.label_offset
    check_label_range(y, spec, rel)
    return y


def check_label_range(y: np.ndarray, spec: SDCNSpec, what: str) -> None:
    """Raise a ValueError naming ``what`` unless the 0-based labels lie in ``[0, C)``."""
    if y.min() < 0 or y.max() >= spec.num_classes:
        raise ValueError(f"{what}: labels must lie in [{spec.label_offset}, "
                         f"{spec.label_offset + spec.num_classes}), got "
                         f"[{y.min() + spec.label_offset}, {y.max() + spec.label_offset}]")


def check_shape(x: np.ndarray, spec: SDCNSpec, what: str) -> None:
    """Raise a ValueError naming ``what`` unless ``x`` is ``[num_nodes, num_features]``."""
    expected = (spec.num_nodes, spec.num_features)
    if x.shape != expected:
        raise ValueError(f"{what}: features have shape {x.shape}, expected {expected}")


def user_features(features: FeaturesLike, spec: SDCNSpec) -> np.ndarray:
    """The ``features=`` of hhar / reut as a finite float32 ``[N, d]`` array.

    Args:
        features: A ``.npy`` path, a whitespace-delimited text file, an array
            or a tensor, one row per node in SDCN's order.
        spec: The dataset's spec (for N and the message).
    """
    if isinstance(features, (str, os.PathLike)):
        path = Path(features).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"features: no such file {str(path)!r}")
        if path.suffix == ".npy":
            x = np.load(path, allow_pickle=False)
        else:
            try:
                x = np.loadtxt(path, dtype=np.float32, ndmin=2)
            except ValueError as exc:
                raise ValueError(f"features: {path} is not a whitespace-delimited numeric "
                                 f"matrix: {exc}") from exc
        what = f"features ({path})"
    elif isinstance(features, torch.Tensor):
        x, what = features.detach().cpu().numpy(), "features"
    elif isinstance(features, np.ndarray):
        x, what = features, "features"
    else:
        raise TypeError(f"features must be a path, a numpy array or a tensor, "
                        f"got {type(features).__name__}")
    if x.ndim != 2:
        raise ValueError(f"{what} must be 2-D [N, d], got shape {x.shape}")
    if x.shape[0] != spec.num_nodes:
        raise ValueError(f"{what} has {x.shape[0]} rows, but {spec.name} has {spec.num_nodes} "
                         f"nodes ({spec.name}_label.txt); expected shape ({spec.num_nodes}, "
                         f"{spec.num_features})")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_) or np.iscomplexobj(x):
        raise ValueError(f"{what} must be real numbers, got dtype {x.dtype}")
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or Inf")
    return x


__all__ = ["FeaturesLike", "parse_edges", "parse_labels", "check_label_range", "check_shape",
           "user_features"]
