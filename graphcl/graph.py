"""The graph object every graphcl op runs on.

A :class:`SparseGraph` is built once and caches what the kernels need: the
CSR (rows receive messages), the CSC permutation used by backward passes,
degrees, and normalised edge weights. Edge direction follows PyG: an edge
``(j, i)`` in ``edge_index`` (``edge_index[0] = j``, ``edge_index[1] = i``)
sends a message from source ``j`` to target ``i``, so row ``i`` of the CSR
aggregates over its incoming edges; for a scipy matrix ``A``, ``spmm`` computes
``A @ x``.
"""
from __future__ import annotations

import warnings
from typing import Dict, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

NORMALIZATIONS = ("none", "row", "sym")


def _check_index_tensor(t, name: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"{name} must be int32 or int64, got {t.dtype}")


def _check_edge_weight(edge_weight, num_edges: int, device) -> None:
    if edge_weight is None:
        return
    if not isinstance(edge_weight, Tensor):
        raise TypeError(f"edge_weight must be a torch.Tensor, got {type(edge_weight).__name__}")
    if not edge_weight.is_floating_point():
        raise TypeError(f"edge_weight must be floating point, got {edge_weight.dtype}")
    if edge_weight.dim() != 1 or edge_weight.numel() != num_edges:
        raise ValueError(
            f"edge_weight must have shape [{num_edges}] (one weight per edge), "
            f"got {tuple(edge_weight.shape)}")
    if edge_weight.device != device:
        raise ValueError(f"edge_weight is on {edge_weight.device} but the edges are on {device}")
    if torch.isnan(edge_weight).any():
        raise ValueError("edge_weight contains NaN")


class SparseGraph:
    r"""A sparse (possibly bipartite) graph in CSR form with cached transpose,
    degrees and normalisations.

    Build it with :meth:`from_edge_index`, :meth:`from_data`,
    :meth:`from_scipy` or :meth:`from_csr`; the constructor itself expects an
    already validated CSR.

    Args:
        rowptr (Tensor): CSR row pointer, shape ``[num_rows + 1]``.
        col (Tensor): source node of every edge in CSR order, shape ``[E]``.
        num_cols (int): number of source nodes (rows of the ``x`` an op takes).
        edge_weight (Tensor, optional): weight of every edge in CSR order.
        input_perm (Tensor, optional): ``input_perm[k]`` is the position in the
            caller's edge list of the ``k``-th CSR edge (see
            :meth:`to_csr_order`).

    Shapes:
        - ``spmm(graph, x)``: ``x`` is ``[num_cols, F]``, the output
          ``[num_rows, F]``.
    """

    def __init__(self, rowptr: Tensor, col: Tensor, num_cols: int,
                 edge_weight: Optional[Tensor] = None, input_perm: Optional[Tensor] = None):
        self.rowptr = rowptr
        self.col = col
        self.num_cols = int(num_cols)
        self.edge_weight = edge_weight
        self.input_perm = input_perm
        self._row: Optional[Tensor] = None
        self._csc: Optional[Tuple[Tensor, Tensor, Tensor]] = None
        self._degrees: Dict[Tuple[str, bool], Tensor] = {}
        self._normalized: Dict[Tuple[str, bool], "SparseGraph"] = {}

    # ------------------------------------------------------------------ build
    @classmethod
    def from_edge_index(cls, edge_index: Tensor, edge_weight: Optional[Tensor] = None,
                        num_nodes: Optional[int] = None, *,
                        num_src_nodes: Optional[int] = None,
                        num_dst_nodes: Optional[int] = None,
                        index_dtype: torch.dtype = torch.int64) -> "SparseGraph":
        """Build from a PyG ``edge_index`` (``[2, E]``, row 0 = source, row 1 =
        target), optionally with one weight per edge.

        ``num_nodes`` sets both node counts of a square graph; for a bipartite
        graph give ``num_src_nodes`` and ``num_dst_nodes``. Missing counts are
        inferred as ``max index + 1``. Self-loops and duplicate edges are kept.
        """
        _check_index_tensor(edge_index, "edge_index")
        if edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise ValueError(f"edge_index must have shape [2, E], got {tuple(edge_index.shape)}")
        sparse_size = getattr(edge_index, "sparse_size", None)
        if callable(sparse_size) and num_nodes is None and num_src_nodes is None:
            # torch_geometric.EdgeIndex carries its own sizes.
            src_size, dst_size = edge_index.sparse_size()
            num_src_nodes = src_size if src_size is not None else None
            num_dst_nodes = dst_size if dst_size is not None else None
            edge_index = edge_index.as_tensor()
        edge_index = edge_index.long()
        num_edges = edge_index.size(1)
        _check_edge_weight(edge_weight, num_edges, edge_index.device)
        if num_edges > 0 and bool((edge_index < 0).any()):
            raise ValueError("edge_index contains negative node indices")
        max_src = int(edge_index[0].max()) + 1 if num_edges else 0
        max_dst = int(edge_index[1].max()) + 1 if num_edges else 0
        if num_nodes is not None:
            if num_src_nodes is not None or num_dst_nodes is not None:
                raise ValueError("give either num_nodes or num_src_nodes/num_dst_nodes, not both")
            num_src_nodes = num_dst_nodes = int(num_nodes)
        if num_src_nodes is None and num_dst_nodes is None:
            num_src_nodes = num_dst_nodes = max(max_src, max_dst)
        num_src_nodes = max_src if num_src_nodes is None else int(num_src_nodes)
        num_dst_nodes = max_dst if num_dst_nodes is None else int(num_dst_nodes)
        if max_src > num_src_nodes:
            raise ValueError(f"edge_index[0] holds node {max_src - 1}, outside [0, {num_src_nodes})"
                             " (num_nodes/num_src_nodes is too small)")
        if max_dst > num_dst_nodes:
            raise ValueError(f"edge_index[1] holds node {max_dst - 1}, outside [0, {num_dst_nodes})"
                             " (num_nodes/num_dst_nodes is too small)")
        src, dst = edge_index[0], edge_index[1]
        # Sort by (target, source): CSR rows, and ascending sources inside a
        # row for locality when gathering x.
        perm = torch.argsort(dst * max(num_src_nodes, 1) + src, stable=True)
        counts = torch.bincount(dst, minlength=num_dst_nodes)
        rowptr = torch.zeros(num_dst_nodes + 1, dtype=torch.long, device=edge_index.device)
        torch.cumsum(counts, 0, out=rowptr[1:])
        weight = edge_weight[perm] if edge_weight is not None else None
        return cls(rowptr.to(index_dtype), src[perm].to(index_dtype), num_src_nodes, weight, perm)

    @classmethod
    def from_csr(cls, rowptr: Tensor, col: Tensor, num_cols: Optional[int] = None,
                 edge_weight: Optional[Tensor] = None) -> "SparseGraph":
        """Build from a CSR (``rowptr``, ``col``), validating it first."""
        _check_index_tensor(rowptr, "rowptr")
        _check_index_tensor(col, "col")
        if rowptr.dim() != 1 or rowptr.numel() < 1:
            raise ValueError(f"rowptr must be 1-D with at least one entry, got {tuple(rowptr.shape)}")
        if col.dim() != 1:
            raise ValueError(f"col must be 1-D, got {tuple(col.shape)}")
        if col.device != rowptr.device:
            raise ValueError(f"col is on {col.device} but rowptr is on {rowptr.device}")
        if int(rowptr[0]) != 0:
            raise ValueError(f"rowptr[0] must be 0, got {int(rowptr[0])}")
        if rowptr.numel() > 1 and bool((rowptr[1:] < rowptr[:-1]).any()):
            raise ValueError("rowptr is not sorted (it must be non-decreasing): not a valid CSR")
        if int(rowptr[-1]) != col.numel():
            raise ValueError(f"rowptr[-1] = {int(rowptr[-1])} but col has {col.numel()} entries")
        if col.numel() and bool((col < 0).any()):
            raise ValueError("col contains negative node indices")
        max_col = int(col.max()) + 1 if col.numel() else 0
        num_cols = max_col if num_cols is None else int(num_cols)
        if max_col > num_cols:
            raise ValueError(f"col holds node {max_col - 1}, outside [0, {num_cols})")
        _check_edge_weight(edge_weight, col.numel(), col.device)
        index_dtype = torch.int32 if rowptr.dtype == col.dtype == torch.int32 else torch.int64
        return cls(rowptr.to(index_dtype), col.to(index_dtype), num_cols, edge_weight)

    @classmethod
    def from_scipy(cls, matrix, dtype: torch.dtype = torch.float32,
                   index_dtype: torch.dtype = torch.int64) -> "SparseGraph":
        """Build from a scipy.sparse matrix ``A``; ``spmm`` then computes ``A @ x``.

        Explicit zeros are kept as edges of weight 0.
        """
        import scipy.sparse as sp
        if not sp.issparse(matrix):
            raise TypeError(f"matrix must be a scipy.sparse matrix, got {type(matrix).__name__}")
        csr = sp.csr_matrix(matrix)
        csr.sort_indices()
        data = np.asarray(csr.data)
        if np.isnan(data).any() if data.dtype.kind == "f" else False:
            raise ValueError("matrix contains NaN entries")
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

    def degree(self, kind: str = "in", weighted: bool = False) -> Tensor:
        """Per-node degree: ``'in'`` counts edges per row (target), ``'out'``
        per column (source). ``weighted`` sums edge weights instead."""
        if kind not in ("in", "out"):
            raise ValueError(f"kind must be 'in' or 'out', got {kind!r}")
        key = (kind, bool(weighted))
        if key not in self._degrees:
            w = self.edge_weight if weighted and self.edge_weight is not None else None
            dtype = w.dtype if w is not None else torch.float32
            ones = w if w is not None else torch.ones(self.num_edges, dtype=dtype, device=self.device)
            index = self.row if kind == "in" else self.col
            size = self.num_rows if kind == "in" else self.num_cols
            self._degrees[key] = torch.zeros(size, dtype=dtype, device=self.device) \
                .index_add_(0, index.long(), ones)
        return self._degrees[key]

    # ---------------------------------------------------------- normalisation
    def normalized(self, kind: str = "sym", add_self_loops: bool = False) -> "SparseGraph":
        r"""The graph with normalised edge weights (cached).

        - ``'sym'``: :math:`w_{ij} / \sqrt{d^{in}_i d^{out}_j}` (GCN's
          :math:`D^{-1/2} A D^{-1/2}` on a symmetric graph);
        - ``'row'``: :math:`w_{ij} / d^{in}_i`, i.e. a weighted mean over the
          incoming edges ('right' normalisation);
        - ``'none'``: the weights as they are.

        Degrees are weighted when the graph has weights. With
        ``add_self_loops`` every node lacking a self-loop gets one of weight 1
        first (square graphs only). Nodes of degree 0 keep weight 0.
        """
        if kind not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {kind!r}")
        key = (kind, bool(add_self_loops))
        if key in self._normalized:
            return self._normalized[key]
        graph = self.with_self_loops() if add_self_loops else self
        if kind == "none":
            result = graph
        else:
            w = graph.edge_weight
            if w is None:
                w = torch.ones(graph.num_edges, device=graph.device)
            deg_in = graph.degree("in", weighted=True).to(w.dtype)
            inv_in = torch.where(deg_in > 0, deg_in, torch.ones_like(deg_in))
            if kind == "row":
                new_w = w / inv_in[graph.row.long()]
            else:
                deg_out = graph.degree("out", weighted=True).to(w.dtype)
                inv_out = torch.where(deg_out > 0, deg_out, torch.ones_like(deg_out))
                new_w = w / (inv_in[graph.row.long()] * inv_out[graph.col.long()]).sqrt()
            result = graph._with_weight(new_w)
        self._normalized[key] = result
        return result

    def with_self_loops(self, fill_value: float = 1.0) -> "SparseGraph":
        """A copy where every node without a self-loop gets one (weight
        ``fill_value``); existing self-loops are kept as they are."""
        if self.num_rows != self.num_cols:
            raise ValueError(
                f"self-loops need a square graph, got {self.num_rows} x {self.num_cols}")
        row, col = self.row.long(), self.col.long()
        has_loop = torch.zeros(self.num_rows, dtype=torch.bool, device=self.device)
        has_loop[row[row == col]] = True
        missing = (~has_loop).nonzero().view(-1)
        edge_index = torch.stack([torch.cat([col, missing]), torch.cat([row, missing])])
        weight = None
        if self.edge_weight is not None:
            loops = torch.full((missing.numel(),), fill_value, dtype=self.edge_weight.dtype,
                               device=self.device)
            weight = torch.cat([self.edge_weight, loops])
        elif fill_value != 1.0:
            weight = torch.cat([torch.ones(self.num_edges, device=self.device),
                                torch.full((missing.numel(),), fill_value, device=self.device)])
        return SparseGraph.from_edge_index(edge_index, weight, num_nodes=self.num_rows,
                                           index_dtype=self.index_dtype)

    def _with_weight(self, edge_weight: Optional[Tensor]) -> "SparseGraph":
        """Same structure (and shared caches of structure), other weights."""
        g = SparseGraph(self.rowptr, self.col, self.num_cols, edge_weight, self.input_perm)
        g._row, g._csc = self._row, self._csc
        return g

    def with_edge_weight(self, edge_weight: Optional[Tensor]) -> "SparseGraph":
        """Same structure with new per-edge weights given in CSR order."""
        _check_edge_weight(edge_weight, self.num_edges, self.device)
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

    # ------------------------------------------------------------ products
    def to_torch_sparse(self) -> Tensor:
        """The weighted adjacency as a ``torch.sparse_csr`` tensor (int64
        indices; weight 1 where the graph is unweighted)."""
        w = self.edge_weight if self.edge_weight is not None else \
            torch.ones(self.num_edges, device=self.device)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return torch.sparse_csr_tensor(self.rowptr.long(), self.col.long(), w,
                                           (self.num_rows, self.num_cols),
                                           check_invariants=False)  # validated at build

    def matmul(self, other: "SparseGraph") -> "SparseGraph":
        r"""Sparse-sparse product :math:`A_{self} A_{other}` of the weighted
        adjacencies (duplicates summed), as a new weighted graph.

        Shapes: ``self`` is ``[n, k]``, ``other`` ``[k, m]``, the result ``[n, m]``.
        """
        if not isinstance(other, SparseGraph):
            raise TypeError(f"other must be a SparseGraph, got {type(other).__name__}")
        if self.num_cols != other.num_rows:
            raise ValueError(f"cannot multiply a [{self.num_rows}, {self.num_cols}] graph by a "
                             f"[{other.num_rows}, {other.num_cols}] graph")
        if self.device != other.device:
            raise ValueError(f"graphs are on different devices: {self.device} and {other.device}")
        a, b = self.to_torch_sparse(), other.to_torch_sparse()
        if a.dtype != b.dtype:
            dtype = torch.promote_types(a.dtype, b.dtype)
            a, b = a.to(dtype), b.to(dtype)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            prod = a @ b
        index_dtype = self.index_dtype
        return SparseGraph(prod.crow_indices().to(index_dtype), prod.col_indices().to(index_dtype),
                           other.num_cols, prod.values())

    def matrix_power(self, order: int, cumulative: bool = False) -> "SparseGraph":
        r""":math:`A^r` (``cumulative=False``) or :math:`\sum_{k=1}^{r} A^k`
        (``cumulative=True``) of a square weighted graph, by sparse products:
        nothing is dense in N x N, but :math:`A^r` fills in as r grows."""
        if isinstance(order, bool) or not isinstance(order, int) or order < 1:
            raise ValueError(f"order must be an int >= 1, got {order!r}")
        if self.num_rows != self.num_cols:
            raise ValueError(f"matrix_power needs a square graph, got [{self.num_rows}, "
                             f"{self.num_cols}]")
        power = total = self
        for _ in range(order - 1):
            power = power.matmul(self)
            if cumulative:
                total = total.add(power)
        return total if cumulative else power

    def add(self, other: "SparseGraph") -> "SparseGraph":
        """Element-wise sum of two weighted adjacencies of the same shape."""
        if not isinstance(other, SparseGraph):
            raise TypeError(f"other must be a SparseGraph, got {type(other).__name__}")
        if (self.num_rows, self.num_cols) != (other.num_rows, other.num_cols):
            raise ValueError(f"cannot add a [{self.num_rows}, {self.num_cols}] graph and a "
                             f"[{other.num_rows}, {other.num_cols}] graph")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            total = (self.to_torch_sparse().to_sparse_coo()
                     + other.to_torch_sparse().to_sparse_coo()).coalesce().to_sparse_csr()
        index_dtype = self.index_dtype
        return SparseGraph(total.crow_indices().to(index_dtype),
                           total.col_indices().to(index_dtype), self.num_cols, total.values())

    # ----------------------------------------------------------------- device
    def to(self, device=None, index_dtype: Optional[torch.dtype] = None) -> "SparseGraph":
        """Move every cached tensor to ``device`` (and/or cast indices)."""
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
        return g

    def cuda(self) -> "SparseGraph":
        return self.to("cuda")

    def cpu(self) -> "SparseGraph":
        return self.to("cpu")

    def to_dense(self) -> Tensor:
        """Dense ``[num_rows, num_cols]`` adjacency (duplicates summed); for
        tests and small graphs only."""
        w = self.edge_weight if self.edge_weight is not None else \
            torch.ones(self.num_edges, device=self.device)
        dense = torch.zeros(self.num_rows, self.num_cols, dtype=w.dtype, device=self.device)
        dense.index_put_((self.row.long(), self.col.long()), w, accumulate=True)
        return dense

    def __repr__(self) -> str:
        weighted = ", weighted" if self.edge_weight is not None else ""
        return (f"SparseGraph(num_rows={self.num_rows}, num_cols={self.num_cols}, "
                f"num_edges={self.num_edges}{weighted}, device={self.device})")
