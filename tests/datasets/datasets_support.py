"""Helpers shared by the dataset tests.

A plain module rather than a ``conftest.py``: with several ``conftest.py``
files in folders without ``__init__.py``, ``from conftest import ...`` picks
whichever was collected last.
"""
import hashlib
import os
from pathlib import Path
from typing import Dict

import numpy as np
import scipy.sparse as sp
import torch

from graphcl.datasets import load_heco

REPO = Path(__file__).resolve().parents[2]
CARDS = REPO / "datasets"


def mirror_dir() -> Path:
    """The data mirror the tests read (GRAPHCL_MIRROR, default ../shared/data)."""
    configured = os.environ.get("GRAPHCL_MIRROR")
    return Path(configured) if configured else REPO.parent / "shared" / "data"


def sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def csr(edge_index: torch.Tensor, n: int) -> sp.csr_matrix:
    """Boolean ``[n, n]`` adjacency of an edge_index, read independently of graphcl."""
    row, col = edge_index.numpy()
    return sp.csr_matrix((np.ones(row.size, dtype=bool), (row, col)), shape=(n, n))


_HECO: Dict[str, object] = {}


def load_heco_once(name: str):
    """``load_heco(name)``, loaded at most once per test session.

    Call it with a data root filled from the mirror only (the loaded graph is
    the same whatever the root), so that the HeCo test modules share one load
    of each real dataset instead of repeating DBLP's.
    """
    if name not in _HECO:
        _HECO[name] = load_heco(name)
    return _HECO[name]


class Call:
    """Pickles as ``func(*args)``: unpickling it calls func (a stand-in for an attack)."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def attacks(marker: Path):
    """Pickled calls that each create ``marker`` when unpickled."""
    import builtins
    import shlex
    return {
        "os.system": Call(os.system, f"touch {shlex.quote(str(marker))}"),
        "builtins.eval": Call(builtins.eval, f"__import__('os').mkdir({str(marker)!r})"),
        "os.mkdir": Call(os.mkdir, str(marker)),
    }


def npy_bytes(array: np.ndarray) -> bytes:
    """``np.save`` of ``array`` (pickles allowed) as bytes."""
    import io
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def object_array(items) -> np.ndarray:
    """A 1-d object array holding ``items`` as they are."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):  # item by item: equal lengths must not broadcast
        out[i] = item
    return out
