"""The positive mask of a contrastive loss: validation and one representation
(private to :mod:`graphcl.nn.contrast`).

A mask is a dense ``[N, M]`` tensor (bool, integer or floating weights), a
``torch.sparse_coo`` / ``torch.sparse_csr`` tensor, or a
:class:`~graphcl.graph.SparseGraph` (rows = anchors, columns = samples, its
``edge_weight`` the positive weights, 1 where it has none). Every loss turns it
into :class:`Positives`: the dense tensor, or the list of positive pairs.
"""
from __future__ import annotations

from typing import Union

import torch
from torch import Tensor

from graphcl.graph import SparseGraph

# What a loss accepts as its positive mask.
PositiveMask = Union[Tensor, SparseGraph]

_CHECK_ELEMENTS = 1 << 24  # dense-mask elements inspected at a time during validation


class Positives:
    """Either a dense ``[N, M]`` mask (``dense``) or the list of positive
    pairs of a sparse mask (``rows``, ``cols``, ``vals``; only entries > 0)."""

    __slots__ = ("dense", "rows", "cols", "vals")

    def __init__(self, dense=None, rows=None, cols=None, vals=None):
        self.dense, self.rows, self.cols, self.vals = dense, rows, cols, vals

    @property
    def is_sparse(self) -> bool:
        return self.dense is None

    def masked_into(self, out: Tensor, e: Tensor, r0: int, r1: int, c0: int, c1: int) -> Tensor:
        """out = P[r0:r1, c0:c1] * e, for one tile (converting a bool, integer
        or other-precision tile into ``out`` first is faster than a
        mixed-dtype multiplication)."""
        blk = self.dense[r0:r1, c0:c1]
        if blk.dtype == e.dtype:
            return torch.mul(e, blk, out=out)
        return out.copy_(blk).mul_(e)

    def log_block(self, rows: Tensor, c0: int, c1: int, dtype: torch.dtype) -> Tensor:
        """log(P) of the given rows (gathered, ``k x block``): 0 -> -inf.

        A float64 mask is taken to the log before it is cast: a weight such as
        1e-300 underflows float32, its log (-690.8) does not."""
        blk = self.dense[rows, c0:c1]
        if blk.dtype == torch.float64:
            return blk.log().to(dtype)
        return blk.to(dtype).log_()


def _row_check_chunks(n_rows: int, n_cols: int):
    step = max(1, _CHECK_ELEMENTS // max(n_cols, 1))
    for r0 in range(0, n_rows, step):
        yield r0, min(r0 + step, n_rows)


def _no_positive_error(has_pos: Tensor, name: str) -> None:
    missing = (~has_pos).nonzero()
    if missing.numel():
        raise ValueError(
            f"{name} has {missing.numel()} row(s) without any positive entry (first: row "
            f"{int(missing[0, 0])}); every anchor needs at least one positive, otherwise its "
            f"loss is infinite")


def prepare_mask(pos_mask, n: int, m: int, device: torch.device,
                 dtype: torch.dtype = torch.float64, name: str = "pos_mask",
                 ref: str = "anchor") -> Positives:
    """Validates the mask (``name`` in messages; ``ref`` names the embedding
    whose device it must share) and returns its positives. ``dtype`` is the
    compute dtype: a dense mask's tiles are cast to it, so its weights must
    not overflow it."""
    if isinstance(pos_mask, SparseGraph):
        shape = (pos_mask.num_rows, pos_mask.num_cols)
    elif isinstance(pos_mask, Tensor):
        shape = tuple(pos_mask.shape)
    else:
        raise TypeError(f"{name} must be a torch.Tensor (dense, sparse COO or sparse CSR) or a "
                        f"graphcl SparseGraph, got {type(pos_mask).__name__}")
    if shape != (n, m):
        raise ValueError(f"{name} must have shape [N, M] = [{n}, {m}] (anchor rows x sample "
                         f"rows), got {list(shape)}")
    if pos_mask.device != device:
        raise ValueError(f"{name} is on {pos_mask.device} but {ref} is on {device}")
    if isinstance(pos_mask, SparseGraph):
        rows, cols, vals = _graph_pairs(pos_mask, name)
        return _positive_pairs(rows, cols, vals, n, device, name)
    if pos_mask.dtype.is_complex:
        raise TypeError(f"{name} must be bool, integer or floating, got {pos_mask.dtype}")
    layout = pos_mask.layout
    if layout == torch.strided:
        _check_dense_mask(pos_mask, n, m, device, dtype, name)
        return Positives(dense=pos_mask)
    if layout == torch.sparse_coo:
        rows, cols, vals = _coo_pairs(pos_mask, n, m, name)
    elif layout == torch.sparse_csr:
        rows, cols, vals = _csr_pairs(pos_mask, n, m, device, name)
    else:
        raise TypeError(f"{name} layout {layout} is not supported; use a dense tensor, "
                        f"sparse COO, sparse CSR or a SparseGraph")
    return _positive_pairs(rows, cols, vals, n, device, name)


def _coo_pairs(pos_mask: Tensor, n: int, m: int, name: str):
    """(rows, cols, weights) of a sparse COO mask, duplicates summed."""
    if pos_mask.sparse_dim() != 2 or pos_mask.dense_dim() != 0:
        raise ValueError(f"a sparse COO {name} must have 2 sparse and 0 dense dimensions, "
                         f"got {pos_mask.sparse_dim()} sparse and {pos_mask.dense_dim()} dense")
    idx = pos_mask._indices()
    if idx.numel() and (int(idx.min()) < 0 or int(idx[0].max()) >= n or int(idx[1].max()) >= m):
        raise ValueError(f"{name} (sparse COO) has indices outside its shape [{n}, {m}]")
    _check_sparse_values(pos_mask._values(), name)
    coalesced = pos_mask.coalesce()  # duplicate entries are summed
    rows, cols = coalesced.indices()
    return rows, cols, coalesced.values()


def _csr_pairs(pos_mask: Tensor, n: int, m: int, device: torch.device, name: str):
    """(rows, cols, weights) of a sparse CSR mask, in CSR order."""
    if pos_mask.dense_dim() != 0:
        raise ValueError(f"a sparse CSR {name} must have no dense dimensions, got "
                         f"{pos_mask.dense_dim()}")
    crow, cols, vals = pos_mask.crow_indices(), pos_mask.col_indices(), pos_mask.values()
    counts = crow.diff()
    if (crow.numel() != n + 1 or int(crow[0]) != 0 or int(crow[-1]) != cols.numel()
            or (counts.numel() and int(counts.min()) < 0)):
        raise ValueError(f"{name} (sparse CSR) has an invalid crow_indices array")
    if cols.numel() and (int(cols.min()) < 0 or int(cols.max()) >= m):
        raise ValueError(f"{name} (sparse CSR) has column indices outside [0, {m})")
    _check_sparse_values(vals, name)
    return torch.repeat_interleave(torch.arange(n, device=device), counts), cols, vals


def _graph_pairs(graph: SparseGraph, name: str):
    """(rows, cols, weights) of a SparseGraph mask, in CSR order: rows are the
    anchors, columns the samples, ``edge_weight`` the weights (1 where the
    graph has none, in the default dtype, as ``to_torch_sparse`` gives). The
    graph's indices were validated when it was built; its weights are checked
    here like a sparse tensor's values."""
    vals = graph.edge_weight
    if vals is None:
        vals = torch.ones(graph.num_edges, device=graph.device)
    elif vals.dtype.is_complex:
        raise TypeError(f"{name}'s edge_weight must be bool, integer or floating, got {vals.dtype}")
    _check_sparse_values(vals, f"{name}'s edge_weight")
    return graph.row.long(), graph.col.long(), vals


def _positive_pairs(rows: Tensor, cols: Tensor, vals: Tensor, n: int, device: torch.device,
                    name: str) -> Positives:
    """The pairs with a weight > 0; every anchor row must keep one."""
    keep = vals > 0
    if not bool(keep.all()):  # explicit zeros are not positives
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
    has_pos = torch.zeros(n, dtype=torch.bool, device=device)
    has_pos[rows] = True
    _no_positive_error(has_pos, name)
    return Positives(rows=rows.long(), cols=cols.long(), vals=vals)


def _check_dense_mask(pos_mask: Tensor, n: int, m: int, device: torch.device,
                      dtype: torch.dtype, name: str) -> None:
    """One pass over the mask in row chunks (no N x M temporary): finite,
    >= 0, representable in ``dtype``, a positive in every row."""
    # Tiles of a wider mask are cast to the compute dtype: a weight beyond its
    # range would become inf (and inf * 0 = NaN in the gradient).
    wider = pos_mask.dtype == torch.float64 and dtype != torch.float64
    limit = torch.finfo(dtype).max if wider else None
    has_pos = torch.zeros(n, dtype=torch.bool, device=device)
    for r0, r1 in _row_check_chunks(n, m):
        chunk = pos_mask[r0:r1]
        if chunk.dtype == torch.bool:
            has_pos[r0:r1] = chunk.any(1)
            continue
        if chunk.is_floating_point() and not bool(torch.isfinite(chunk).all()):
            raise ValueError(f"{name} contains NaN or Inf entries; weights must be finite")
        if chunk.numel() and float(chunk.amin()) < 0:
            raise ValueError(f"{name} has negative entries; positive weights must be >= 0")
        if limit is not None and chunk.numel() and float(chunk.amax()) > limit:
            raise ValueError(f"{name} has weights up to {float(chunk.amax()):.3g}, beyond the "
                             f"range of {dtype} (the embeddings' compute dtype, max "
                             f"{limit:.3g}); rescale the weights or use a sparse {name}")
        has_pos[r0:r1] = (chunk > 0).any(1)
    _no_positive_error(has_pos, name)


def _check_sparse_values(vals: Tensor, name: str) -> None:
    if vals.numel() == 0:
        return
    if vals.dtype == torch.bool:
        return
    if vals.is_floating_point() and not bool(torch.isfinite(vals).all()):
        raise ValueError(f"{name} contains NaN or Inf entries; weights must be finite")
    if float(vals.min()) < 0:
        raise ValueError(f"{name} has negative entries; positive weights must be >= 0")
