"""Building a :class:`~graphcl.graph.SparseGraph` from what a caller holds:
a PyG ``edge_index`` or ``Data``, a CSR, or a scipy.sparse matrix.

Every builder validates its input (see :mod:`graphcl.graph.validation`)
and sorts the edges into CSR order: by target, then by source.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch import Tensor

from graphcl.graph.validation import (check_count, check_edge_weight, check_fits_index_dtype,
                                       check_index_dtype, check_index_tensor, check_rowptr,
                                       explicit_sizes, is_pyg_edge_index, merge_edge_index_sizes)


def csr_order(src: Tensor, dst: Tensor, num_src: int, num_dst: int) -> Tensor:
    """Permutation sorting the edges by (target, source), stable.

    One sort on the key ``dst * num_src + src`` when that key fits int64,
    otherwise (huge ``num_src``) a stable sort by source then a stable sort by
    target, which orders the same way without forming the key.
    """
    if num_dst * max(num_src, 1) <= torch.iinfo(torch.int64).max:
        return torch.argsort(dst * max(num_src, 1) + src, stable=True)
    by_src = torch.argsort(src, stable=True)
    return by_src[torch.argsort(dst[by_src], stable=True)]


class ConstructionMixin:
    """The ``from_*`` builders of :class:`~graphcl.graph.SparseGraph`."""

    @classmethod
    def from_edge_index(cls, edge_index: Tensor, edge_weight: Optional[Tensor] = None,
                        num_nodes: Optional[int] = None, *,
                        num_src_nodes: Optional[int] = None,
                        num_dst_nodes: Optional[int] = None,
                        index_dtype: torch.dtype = torch.int64) -> "SparseGraph":
        """Build from a PyG ``edge_index`` (``[2, E]``, row 0 = source, row 1 =
        target), optionally with one weight per edge.

        Args:
            edge_index (Tensor or torch_geometric.EdgeIndex): int32/int64 edges.
            edge_weight (Tensor, optional): one floating weight per edge.
            num_nodes (int, optional): both node counts of a square graph.
            num_src_nodes, num_dst_nodes (int, optional): the node counts of a
                bipartite graph. Missing counts come from an ``EdgeIndex``'s
                ``sparse_size`` or are inferred as ``max index + 1``; a count
                contradicting the ``EdgeIndex``'s size raises.
            index_dtype (torch.dtype): ``torch.int64`` (default) or
                ``torch.int32``; the node counts and the number of edges must
                fit it.

        Self-loops and duplicate edges are kept.
        """
        check_index_dtype(index_dtype)
        check_index_tensor(edge_index, "edge_index")
        num_src_nodes, num_dst_nodes = explicit_sizes(num_nodes, num_src_nodes, num_dst_nodes)
        if is_pyg_edge_index(edge_index):
            num_src_nodes, num_dst_nodes = merge_edge_index_sizes(edge_index, num_src_nodes,
                                                                  num_dst_nodes)
            edge_index = edge_index.as_tensor()
        if edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise ValueError(f"edge_index must have shape [2, E], got {tuple(edge_index.shape)}")
        edge_index = edge_index.long()
        num_edges = edge_index.size(1)
        if edge_weight is not None:
            check_edge_weight(edge_weight, "edge_weight", num_edges, edge_index.device)
        if num_edges > 0 and bool((edge_index < 0).any()):
            raise ValueError("edge_index contains negative node indices")
        max_src = int(edge_index[0].max()) + 1 if num_edges else 0
        max_dst = int(edge_index[1].max()) + 1 if num_edges else 0
        if num_src_nodes is None and num_dst_nodes is None:
            num_src_nodes = num_dst_nodes = max(max_src, max_dst)
        num_src_nodes = max_src if num_src_nodes is None else num_src_nodes
        num_dst_nodes = max_dst if num_dst_nodes is None else num_dst_nodes
        if max_src > num_src_nodes:
            raise ValueError(f"edge_index[0] holds node {max_src - 1}, outside [0, {num_src_nodes})"
                             " (num_nodes/num_src_nodes is too small)")
        if max_dst > num_dst_nodes:
            raise ValueError(f"edge_index[1] holds node {max_dst - 1}, outside [0, {num_dst_nodes})"
                             " (num_nodes/num_dst_nodes is too small)")
        check_fits_index_dtype(index_dtype, num_src_nodes=num_src_nodes,
                               num_dst_nodes=num_dst_nodes, num_edges=num_edges)
        src, dst = edge_index[0], edge_index[1]
        # Sort by (target, source): CSR rows, and ascending sources inside a
        # row for locality when gathering x.
        perm = csr_order(src, dst, num_src_nodes, num_dst_nodes)
        counts = torch.bincount(dst, minlength=num_dst_nodes)
        rowptr = torch.zeros(num_dst_nodes + 1, dtype=torch.long, device=edge_index.device)
        torch.cumsum(counts, 0, out=rowptr[1:])
        weight = edge_weight[perm] if edge_weight is not None else None
        return cls(rowptr.to(index_dtype), src[perm].to(index_dtype), num_src_nodes, weight, perm)

    @classmethod
    def from_csr(cls, rowptr: Tensor, col: Tensor, num_cols: Optional[int] = None,
                 edge_weight: Optional[Tensor] = None) -> "SparseGraph":
        """Build from a CSR (``rowptr``, ``col``), validating it first.

        The indices stay int32 when both are int32, else become int64.
        """
        check_index_tensor(rowptr, "rowptr")
        check_index_tensor(col, "col")
        if col.dim() != 1:
            raise ValueError(f"col must be 1-D, got {tuple(col.shape)}")
        check_rowptr(rowptr, "rowptr", col.numel(), col.device, entries="col",
                     entries_unit="entries")
        if col.numel() and bool((col < 0).any()):
            raise ValueError("col contains negative node indices")
        max_col = int(col.max()) + 1 if col.numel() else 0
        num_cols = max_col if num_cols is None else check_count(num_cols, "num_cols")
        if max_col > num_cols:
            raise ValueError(f"col holds node {max_col - 1}, outside [0, {num_cols})")
        if edge_weight is not None:
            check_edge_weight(edge_weight, "edge_weight", col.numel(), col.device)
        index_dtype = torch.int32 if rowptr.dtype == col.dtype == torch.int32 else torch.int64
        return cls(rowptr.to(index_dtype), col.to(index_dtype), num_cols, edge_weight)

    @classmethod
    def from_scipy(cls, matrix, dtype: torch.dtype = torch.float32,
                   index_dtype: torch.dtype = torch.int64) -> "SparseGraph":
        """Build from a scipy.sparse matrix ``A``; ``spmm`` then computes ``A @ x``.

        Args:
            matrix (scipy.sparse matrix or array): real (bool, integer or
                floating) entries; complex matrices raise. Never modified.
            dtype (torch.dtype): floating dtype of the edge weights.
            index_dtype (torch.dtype): ``torch.int64`` or ``torch.int32``.

        Explicit zeros are kept as edges of weight 0.
        """
        import scipy.sparse as sp
        if not sp.issparse(matrix):
            raise TypeError(f"matrix must be a scipy.sparse matrix, got {type(matrix).__name__}")
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
        check_index_dtype(index_dtype)
        if matrix.dtype.kind not in "biuf":
            raise TypeError(f"matrix must have real entries, got dtype {matrix.dtype}"
                            " (take .real or abs() first if that is what you mean)")
        csr = sp.csr_matrix(matrix)  # may share the caller's arrays
        if not csr.has_sorted_indices:
            csr = csr.sorted_indices()  # a sorted copy: the caller's matrix stays as it is
        data = np.asarray(csr.data)
        if data.dtype.kind == "f" and np.isnan(data).any():
            raise ValueError("matrix contains NaN entries")
        check_fits_index_dtype(index_dtype, num_rows=csr.shape[0], num_cols=csr.shape[1],
                               num_edges=csr.nnz)
        rowptr = torch.from_numpy(csr.indptr.astype(np.int64))
        col = torch.from_numpy(csr.indices.astype(np.int64))
        weight = torch.from_numpy(data.astype(np.float64)).to(dtype)
        return cls(rowptr.to(index_dtype), col.to(index_dtype), csr.shape[1], weight)

    @classmethod
    def from_data(cls, data, edge_weight: Optional[Tensor] = None, **kwargs) -> "SparseGraph":
        """Build from a PyG ``Data`` (its ``edge_index``, ``num_nodes`` and, if
        present and 1-D, ``edge_weight``)."""
        if getattr(data, "edge_index", None) is None:
            raise ValueError("data has no edge_index")
        if edge_weight is None:
            edge_weight = getattr(data, "edge_weight", None)
        return cls.from_edge_index(data.edge_index, edge_weight, num_nodes=data.num_nodes, **kwargs)
