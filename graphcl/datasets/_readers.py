"""Readers of verified ``.npy`` / ``.npz`` bytes shared by the HeCo and SDCN loaders.

They are only ever called on bytes whose sha256 was checked
(:func:`graphcl.datasets.read_verified_bytes`), and never unpickle: pickled
object arrays go through :func:`graphcl.datasets._npy.load_integer_object_array`.
"""
from __future__ import annotations

import io

import numpy as np
import scipy.sparse as sp


def load_npy(payload: bytes) -> np.ndarray:
    """A plain (non-object) array from ``.npy`` bytes; pickles are refused."""
    return np.load(io.BytesIO(payload), allow_pickle=False)


def load_sparse(payload: bytes) -> sp.csr_matrix:
    """A canonical CSR matrix (duplicates summed, explicit zeros dropped) from ``.npz`` bytes."""
    # load_npz reads with allow_pickle=False; CSR gives canonical order.
    matrix = sp.csr_matrix(sp.load_npz(io.BytesIO(payload)))
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix


__all__ = ["load_npy", "load_sparse"]
