"""HeCo's positive pairs: the metapath-count top-T rule.

For target nodes i and j let C(i, j) be the number of metapaths that connect
them (the sum of the boolean metapath adjacencies; the diagonal is included,
as every metapath adjacency has a full diagonal). The candidates of row i are
the j with C(i, j) > 0. If row i has more than T candidates, its positives are
T candidates with the highest counts; otherwise all of its candidates. Ties at
the cut are broken arbitrarily, so a selection is checked for *validity*
(:func:`topt_violations`) rather than compared to a file, except in rows where
the cut falls between two different counts (:func:`determined_rows`).

This rule (not the row-normalised score of the reference repository's
``data/pos.py``) is the one the released ``pos.npz`` files satisfy; see the
HeCo reference notes. Everything here is sparse and vectorised: DBLP's count
matrix has about 7.5 million entries.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence, Union

import numpy as np
import scipy.sparse as sp
import torch

#: T (most positives per anchor) used by the HeCo reference for each dataset.
HECO_POSITIVE_T: Mapping[str, int] = {"acm": 5, "dblp": 1000, "aminer": 15, "freebase": 80}

#: A metapath or positive matrix: scipy sparse, dense numpy, or a ``[2, E]``
#: torch ``edge_index`` (row 0 = anchor/source, row 1 = target).
Adjacency = Union[sp.spmatrix, sp.sparray, np.ndarray, torch.Tensor]


def _to_bool_csr(matrix: Adjacency, num_nodes: Optional[int]) -> sp.csr_matrix:
    """Canonical boolean CSR (sorted indices, no duplicates, no explicit zeros)."""
    if isinstance(matrix, torch.Tensor):
        if matrix.dim() != 2 or matrix.size(0) != 2:
            raise ValueError(f"an edge_index must have shape [2, E], got {tuple(matrix.shape)}")
        if num_nodes is None:
            raise ValueError("num_nodes is required when matrices are given as edge_index tensors")
        row, col = matrix.detach().cpu().numpy()
        out = sp.csr_matrix((np.ones(row.size, dtype=bool), (row, col)),
                            shape=(num_nodes, num_nodes))
    elif sp.issparse(matrix):
        out = sp.csr_matrix(matrix)
    else:
        out = sp.csr_matrix(np.asarray(matrix))
    if out.shape[0] != out.shape[1]:
        raise ValueError(f"metapath and positive matrices must be square, got {out.shape}")
    if num_nodes is not None and out.shape[0] != num_nodes:
        raise ValueError(f"expected {num_nodes} nodes, got a matrix of shape {out.shape}")
    # csr_matrix((data, (row, col))) sums duplicates; != 0 then drops explicit
    # zeros (a 0/1 float pos.npz could store some) and makes the data boolean.
    out = (out != 0).tocsr()
    out.sort_indices()
    return out


def metapath_counts(metapaths: Sequence[Adjacency], num_nodes: Optional[int] = None) -> sp.csr_matrix:
    """C(i, j): how many of the metapaths connect i and j.

    Args:
        metapaths: The metapath adjacencies over the target nodes (any
            :data:`Adjacency` form; nonzero = connected).
        num_nodes: Number of target nodes; required for ``edge_index`` inputs.

    Returns:
        ``int32`` CSR matrix with sorted indices holding only the candidates
        (C > 0).
    """
    if not metapaths:
        raise ValueError("at least one metapath matrix is needed")
    mats = [_to_bool_csr(m, num_nodes) for m in metapaths]
    shape = mats[0].shape
    if any(m.shape != shape for m in mats):
        raise ValueError(f"metapath matrices differ in shape: {[m.shape for m in mats]}")
    counts = mats[0].astype(np.int32)
    for m in mats[1:]:
        counts = counts + m.astype(np.int32)
    counts = sp.csr_matrix(counts)
    counts.sort_indices()
    return counts


def _sorted_by_count(counts: sp.csr_matrix):
    """Order of the entries by (row, count descending); ties keep column order."""
    n = counts.shape[0]
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(counts.indptr))
    top = int(counts.data.max()) if counts.nnz else 0
    # One integer key instead of np.lexsort: counts are small (at most the
    # number of metapaths), and a stable sort on the key keeps the column
    # order within equal counts, so ties break the same way on every run.
    key = rows * (top + 1) + (top - counts.data.astype(np.int64))
    order = np.argsort(key, kind="stable")
    return rows, order


def topt_positives(metapaths: Sequence[Adjacency], top_t: int,
                   num_nodes: Optional[int] = None) -> sp.csr_matrix:
    """Build positives with the metapath-count top-T rule.

    Args:
        metapaths: The metapath adjacencies over the target nodes.
        top_t: T, the most positives per row (HeCo: :data:`HECO_POSITIVE_T`).
        num_nodes: Number of target nodes; required for ``edge_index`` inputs.

    Returns:
        ``float32`` 0/1 CSR matrix (sorted indices), row i = positives of
        anchor i. Rows with more than T candidates keep T with the highest
        count; among equal counts at the cut, the lower column ids are kept
        (any choice is valid).
    """
    if int(top_t) < 1:
        raise ValueError(f"top_t must be at least 1, got {top_t}")
    counts = metapath_counts(metapaths, num_nodes)
    rows, order = _sorted_by_count(counts)
    # Rank of each sorted entry within its row = position - start of its row.
    rank = np.arange(order.size, dtype=np.int64) - counts.indptr[rows[order]]
    keep = order[rank < int(top_t)]
    keep.sort()  # back to (row, column) order: CSR construction needs no sorting
    kept_rows = rows[keep]
    indptr = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(kept_rows, minlength=counts.shape[0]), out=indptr[1:])
    return sp.csr_matrix((np.ones(keep.size, dtype=np.float32), counts.indices[keep], indptr),
                         shape=counts.shape)


def determined_rows(metapaths: Sequence[Adjacency], top_t: int,
                    num_nodes: Optional[int] = None) -> np.ndarray:
    """Rows whose top-T set does not depend on tie-breaking.

    Args:
        metapaths: The metapath adjacencies over the target nodes.
        top_t: T.
        num_nodes: Number of target nodes; required for ``edge_index`` inputs.

    Returns:
        Boolean mask over rows: True where the row has at most T candidates
        or its T-th highest count is strictly greater than its (T+1)-th.
    """
    counts = metapath_counts(metapaths, num_nodes)
    n_cand = np.diff(counts.indptr)
    rows, order = _sorted_by_count(counts)
    sorted_counts = counts.data[order]
    out = n_cand <= top_t
    big = np.flatnonzero(~out)
    start = counts.indptr[big]
    out[big] = sorted_counts[start + top_t - 1] > sorted_counts[start + top_t]
    return out


def _in_sorted(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Boolean mask: which ``keys`` occur in the ascending ``sorted_keys``."""
    where = np.searchsorted(sorted_keys, keys)
    found = where < sorted_keys.size
    found[found] = sorted_keys[where[found]] == keys[found]
    return found


def topt_violations(pos: Adjacency, metapaths: Sequence[Adjacency], top_t: int,
                    num_nodes: Optional[int] = None) -> np.ndarray:
    """Rows where ``pos`` is not a valid top-T selection.

    A row is valid when every positive is a candidate (C > 0), it has
    min(T, #candidates) positives, and the lowest count among its positives is
    at least the highest count among its dropped candidates.

    Args:
        pos: The positives (nonzero = positive), N x N.
        metapaths: The metapath adjacencies over the target nodes.
        top_t: T.
        num_nodes: Number of target nodes; required for ``edge_index`` inputs.

    Returns:
        Sorted ``int64`` array of the violating row ids (empty if valid).
    """
    counts = metapath_counts(metapaths, num_nodes)
    n = counts.shape[0]
    pos = _to_bool_csr(pos, n if num_nodes is None else num_nodes)
    if pos.shape != counts.shape:
        raise ValueError(f"pos has shape {pos.shape}, metapaths {counts.shape}")
    bad = np.zeros(n, dtype=bool)

    cand_rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(counts.indptr))
    pos_rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(pos.indptr))
    # Canonical CSR order makes row * n + col ascending, so membership is a
    # binary search instead of a hash join.
    cand_keys = cand_rows * n + counts.indices
    pos_keys = pos_rows * n + pos.indices

    found = _in_sorted(pos_keys, cand_keys)
    bad[pos_rows[~found]] = True  # a positive that no metapath connects
    kept = _in_sorted(cand_keys, pos_keys)

    n_cand = np.diff(counts.indptr)
    bad |= np.diff(pos.indptr) != np.minimum(n_cand, int(top_t))

    big = np.iinfo(np.int64).max
    min_kept = np.full(n, big, dtype=np.int64)
    np.minimum.at(min_kept, cand_rows[kept], counts.data[kept].astype(np.int64))
    max_dropped = np.full(n, -1, dtype=np.int64)
    np.maximum.at(max_dropped, cand_rows[~kept], counts.data[~kept].astype(np.int64))
    # A row with no positives but dropped candidates has min_kept = big and is
    # caught by the size check above.
    bad |= min_kept < max_dropped
    return np.flatnonzero(bad).astype(np.int64)


def is_valid_topt_selection(pos: Adjacency, metapaths: Sequence[Adjacency], top_t: int,
                            num_nodes: Optional[int] = None) -> bool:
    """Whether ``pos`` is a valid top-T selection in every row.

    Args:
        pos: The positives (nonzero = positive), N x N.
        metapaths: The metapath adjacencies over the target nodes.
        top_t: T.
        num_nodes: Number of target nodes; required for ``edge_index`` inputs.

    Returns:
        True if :func:`topt_violations` finds no violating row.
    """
    return topt_violations(pos, metapaths, top_t, num_nodes).size == 0


def csr_to_edge_index(matrix: sp.spmatrix) -> torch.Tensor:
    """``[2, nnz]`` int64 ``edge_index`` of a sparse matrix in (row, column) order.

    Args:
        matrix: Any scipy sparse matrix; explicit zeros are dropped.

    Returns:
        Row 0 = matrix row (anchor), row 1 = column.
    """
    csr = sp.csr_matrix(matrix, copy=True)  # the in-place clean-up must not touch the input
    csr.sum_duplicates()
    csr.eliminate_zeros()
    csr.sort_indices()
    rows = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
    return torch.from_numpy(np.stack([rows, csr.indices.astype(np.int64)]))


__all__ = [
    "HECO_POSITIVE_T", "metapath_counts", "topt_positives", "determined_rows", "topt_violations",
    "is_valid_topt_selection", "csr_to_edge_index",
]
