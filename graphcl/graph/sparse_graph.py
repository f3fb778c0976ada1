"""The graph object every graphcl op runs on.

A :class:`SparseGraph` is built once and caches what the kernels need: the
CSR (rows receive messages), the CSC permutation used by backward passes,
degrees, and normalised edge weights. Edge direction follows PyG: an edge
``(j, i)`` in ``edge_index`` (``edge_index[0] = j``, ``edge_index[1] = i``)
sends a message from source ``j`` to target ``i``, so row ``i`` of the CSR
aggregates over its incoming edges; for a scipy matrix ``A``, ``spmm`` computes
``A @ x``.

This module holds the data and its caches (storage, CSC, devices, dtypes);
the builders, the algebra and the normalisation are mixed in from
:mod:`~graphcl.graph.construction`, :mod:`~graphcl.graph.algebra` and
:mod:`~graphcl.graph.normalization`.
"""
from __future__ import annotations

import warnings
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

from graphcl.graph.validation import check_edge_weight, check_fits_index_dtype, check_index_dtype
from graphcl.graph.algebra import AlgebraMixin
from graphcl.graph.construction import ConstructionMixin
from graphcl.graph.normalization import NormalizationMixin


class SparseGraph(ConstructionMixin, AlgebraMixin, NormalizationMixin):
    r"""A sparse (possibly bipartite) graph in CSR form with cached transpose,
    degrees and normalisations.

    Build it with :meth:`from_edge_index`, :meth:`from_data`,
    :meth:`from_scipy` or :meth:`from_csr`, or from any PyG adjacency with
    :func:`graphcl.graph.as_sparse_graph` (cached); the constructor itself
    expects an already validated CSR.

    Args:
        rowptr (Tensor): CSR row pointer, shape ``[num_rows + 1]``.
        col (Tensor): source node of every edge in CSR order, shape ``[E]``,
            of ``rowptr``'s dtype (int32 or int64, which must hold
            ``num_rows``, ``num_cols`` and ``E``).
        num_cols (int): number of source nodes (rows of the ``x`` an op takes).
        edge_weight (Tensor, optional): weight of every edge in CSR order. Ops
            read it in their features' dtype through :meth:`edge_weight_as`.
        input_perm (Tensor, optional): ``input_perm[k]`` is the position in the
            caller's edge list of the ``k``-th CSR edge (see
            :meth:`to_csr_order`).

    Shapes:
        - ``spmm(graph, x)``: ``x`` is ``[num_cols, F]``, the output
          ``[num_rows, F]``.
    """

    def __init__(self, rowptr: Tensor, col: Tensor, num_cols: int,
                 edge_weight: Optional[Tensor] = None, input_perm: Optional[Tensor] = None):
        # Cheap structural guards (no device sync): the builders validate the
        # values; these catch index dtypes that cannot hold the counts.
        check_index_dtype(rowptr.dtype, "rowptr's dtype")
        if col.dtype != rowptr.dtype:
            raise TypeError(f"col has dtype {col.dtype} but rowptr has {rowptr.dtype}")
        self.rowptr = rowptr
        self.col = col
        self.num_cols = int(num_cols)
        check_fits_index_dtype(rowptr.dtype, num_rows=self.num_rows, num_cols=self.num_cols,
                               num_edges=self.num_edges)
        self.edge_weight = edge_weight
        self.input_perm = input_perm
        self._row: Optional[Tensor] = None
        self._csc: Optional[Tuple[Tensor, Tensor, Tensor]] = None
        self._degrees: Dict[Tuple[str, bool], Tensor] = {}
        self._normalized: Dict[Tuple[str, bool], "SparseGraph"] = {}
        # Set on normalised graphs: (kind, raw weights before normalising), so
        # that the coefficients can be recomputed in a wider dtype.
        self._norm_recipe: Optional[Tuple[str, Optional[Tensor]]] = None
        self._weights_by_dtype: Dict[torch.dtype, Tensor] = {}
        self._self_looped: Dict[Tuple[float, Optional[int]], "SparseGraph"] = {}

    # ------------------------------------------------------------- properties
    @property
    def num_rows(self) -> int:
        return self.rowptr.numel() - 1

    @property
    def num_edges(self) -> int:
        return self.col.numel()

    @property
    def device(self) -> torch.device:
        return self.rowptr.device

    @property
    def index_dtype(self) -> torch.dtype:
        return self.rowptr.dtype

    @property
    def row(self) -> Tensor:
        """Target (row) of every edge in CSR order, shape ``[E]``."""
        if self._row is None:
            counts = self.rowptr[1:] - self.rowptr[:-1]
            self._row = torch.arange(self.num_rows, device=self.device, dtype=self.index_dtype) \
                .repeat_interleave(counts.long(), output_size=self.num_edges)
        return self._row

    @property
    def csc(self) -> Tuple[Tensor, Tensor, Tensor]:
        """The transpose as ``(colptr, csc_row, csc_perm)``: ``csc_perm[k]`` is
        the CSR position of the ``k``-th edge in column-major order. Computed
        once and cached; backward passes traverse it instead of transposing."""
        if self._csc is None:
            col = self.col.long()
            # A stable sort keeps rows ascending inside each column.
            perm = torch.argsort(col, stable=True)
            counts = torch.bincount(col, minlength=self.num_cols)
            colptr = torch.zeros(self.num_cols + 1, dtype=torch.long, device=self.device)
            torch.cumsum(counts, 0, out=colptr[1:])
            dt = self.index_dtype
            self._csc = (colptr.to(dt), self.row[perm].to(dt), perm.to(dt))
        return self._csc

    def _with_weight(self, edge_weight: Optional[Tensor]) -> "SparseGraph":
        """Same structure (and shared caches of structure), other weights."""
        g = SparseGraph(self.rowptr, self.col, self.num_cols, edge_weight, self.input_perm)
        g._row, g._csc = self._row, self._csc
        return g

    def with_edge_weight(self, edge_weight: Optional[Tensor]) -> "SparseGraph":
        """Same structure with new per-edge weights given in CSR order."""
        if edge_weight is not None:
            check_edge_weight(edge_weight, "edge_weight", self.num_edges, self.device)
        return self._with_weight(edge_weight)

    def to_csr_order(self, values: Tensor) -> Tensor:
        """Reorder per-edge values given in the order of the ``edge_index``
        this graph was built from into CSR order."""
        if self.input_perm is None:
            return values
        if values.size(0) != self.num_edges:
            raise ValueError(f"values must have {self.num_edges} rows (one per edge), "
                             f"got {values.size(0)}")
        return values[self.input_perm]

    # ------------------------------------------------------------ conversion
    def _weights_or_ones(self, dtype: Optional[torch.dtype]) -> Tensor:
        """Per-edge weights in ``dtype`` (stored dtype when None), 1 where the
        graph is unweighted."""
        if self.edge_weight is None:
            return torch.ones(self.num_edges, dtype=dtype, device=self.device)
        return self.edge_weight if dtype is None else self.edge_weight_as(dtype)

    def to_edge_index(self) -> Tensor:
        """The edges as a PyG ``edge_index`` (``[2, E]`` int64, row 0 = source,
        row 1 = target) in CSR order, i.e. aligned with :attr:`edge_weight`."""
        return torch.stack([self.col.long(), self.row.long()])

    def to_torch_sparse(self, dtype: Optional[torch.dtype] = None) -> Tensor:
        """The weighted adjacency as a ``torch.sparse_csr`` tensor (int64
        indices; weight 1 where the graph is unweighted).

        Args:
            dtype (torch.dtype, optional): dtype of the values (as
                :meth:`edge_weight_as`); default the stored weights' dtype, or
                the default dtype when unweighted.
        """
        w = self._weights_or_ones(dtype)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return torch.sparse_csr_tensor(self.rowptr.long(), self.col.long(), w,
                                           (self.num_rows, self.num_cols),
                                           check_invariants=False)  # validated at build

    # ----------------------------------------------------------------- device
    def to(self, device=None, index_dtype: Optional[torch.dtype] = None) -> "SparseGraph":
        """Move every cached tensor to ``device`` and/or cast the indices to
        ``index_dtype`` (``torch.int32`` or ``torch.int64``; the node counts and
        the number of edges must fit it)."""
        if index_dtype is not None:
            check_index_dtype(index_dtype)
            check_fits_index_dtype(index_dtype, num_rows=self.num_rows, num_cols=self.num_cols,
                                   num_edges=self.num_edges)

        def move(t: Optional[Tensor], is_index: bool = True) -> Optional[Tensor]:
            if t is None:
                return None
            if is_index and index_dtype is not None:
                t = t.to(index_dtype)
            return t.to(device) if device is not None else t

        g = SparseGraph(move(self.rowptr), move(self.col), self.num_cols,
                        move(self.edge_weight, False), move(self.input_perm, False))
        g._row = move(self._row)
        if self._csc is not None:
            g._csc = tuple(move(t) for t in self._csc)  # type: ignore[assignment]
        g._degrees = {k: move(v, False) for k, v in self._degrees.items()}
        g._normalized = {k: (v.to(device, index_dtype) if v is not self else g)
                         for k, v in self._normalized.items()}
        g._self_looped = {k: v.to(device, index_dtype) for k, v in self._self_looped.items()}
        if self._norm_recipe is not None:
            g._norm_recipe = (self._norm_recipe[0], move(self._norm_recipe[1], False))
        return g

    def cuda(self) -> "SparseGraph":
        return self.to("cuda")

    def cpu(self) -> "SparseGraph":
        return self.to("cpu")

    def to_dense(self, dtype: Optional[torch.dtype] = None) -> Tensor:
        """Dense ``[num_rows, num_cols]`` adjacency (duplicates summed); for
        tests and small graphs only. ``dtype`` as in :meth:`to_torch_sparse`."""
        w = self._weights_or_ones(dtype)
        dense = torch.zeros(self.num_rows, self.num_cols, dtype=w.dtype, device=self.device)
        dense.index_put_((self.row.long(), self.col.long()), w, accumulate=True)
        return dense

    def __repr__(self) -> str:
        weighted = ", weighted" if self.edge_weight is not None else ""
        return (f"SparseGraph(num_rows={self.num_rows}, num_cols={self.num_cols}, "
                f"num_edges={self.num_edges}{weighted}, device={self.device})")
