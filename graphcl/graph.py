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

from graphcl.ops._checks import (check_count, check_edge_weight, check_fits_index_dtype,
                                 check_index_dtype, check_index_tensor, check_rowptr)

NORMALIZATIONS = ("none", "row", "sym", "pyg")

#: Orders up to this multiply step by step (``A^k = A^{k-1} A``, the
#: association the reference implementations use); higher orders square.
_STEPWISE_MAX_ORDER = 8
#: :meth:`SparseGraph.matrix_power` refuses larger orders; up to it, repeated
#: squaring costs at most 3 sparse products per bit of the order (under 190).
MAX_POWER_ORDER = 2 ** 63 - 1


def _explicit_sizes(num_nodes, num_src_nodes, num_dst_nodes) -> Tuple[Optional[int], Optional[int]]:
    """The node counts the caller gave, validated: ``num_nodes`` sets both."""
    if num_nodes is not None:
        if num_src_nodes is not None or num_dst_nodes is not None:
            raise ValueError("give either num_nodes or num_src_nodes/num_dst_nodes, not both")
        num_nodes = check_count(num_nodes, "num_nodes")
        return num_nodes, num_nodes
    src = None if num_src_nodes is None else check_count(num_src_nodes, "num_src_nodes")
    dst = None if num_dst_nodes is None else check_count(num_dst_nodes, "num_dst_nodes")
    return src, dst


def _is_pyg_edge_index(edge_index) -> bool:
    return callable(getattr(edge_index, "sparse_size", None)) and \
        callable(getattr(edge_index, "as_tensor", None))


def _merge_edge_index_sizes(edge_index, num_src: Optional[int], num_dst: Optional[int]
                            ) -> Tuple[Optional[int], Optional[int]]:
    """A torch_geometric ``EdgeIndex`` carries its own ``sparse_size``: it fills
    the counts the caller left out, and a count that contradicts it raises."""
    merged = []
    for name, given, own in (("num_src_nodes", num_src, edge_index.sparse_size(0)),
                             ("num_dst_nodes", num_dst, edge_index.sparse_size(1))):
        if given is not None and own is not None and int(own) != given:
            raise ValueError(f"{name} = {given} contradicts the EdgeIndex's sparse_size "
                             f"{tuple(edge_index.sparse_size())}")
        merged.append(given if given is not None else (None if own is None else int(own)))
    return merged[0], merged[1]


def _csr_order(src: Tensor, dst: Tensor, num_src: int, num_dst: int) -> Tensor:
    """Permutation sorting the edges by (target, source), stable.

    One sort on the key ``dst * num_src + src`` when that key fits int64,
    otherwise (huge ``num_src``) a stable sort by source then a stable sort by
    target, which orders the same way without forming the key.
    """
    if num_dst * max(num_src, 1) <= torch.iinfo(torch.int64).max:
        return torch.argsort(dst * max(num_src, 1) + src, stable=True)
    by_src = torch.argsort(src, stable=True)
    return by_src[torch.argsort(dst[by_src], stable=True)]


def _positive_or_one(deg: Tensor) -> Tensor:
    return torch.where(deg > 0, deg, torch.ones_like(deg))


def _normalize_weights(graph: "SparseGraph", kind: str, weight: Optional[Tensor],
                       dtype: torch.dtype) -> Tensor:
    """The normalised weights of ``graph``'s edges, computed in ``dtype`` from
    the raw weights ``weight`` (unit weights when None)."""
    row, col = graph.row.long(), graph.col.long()
    w = weight.to(dtype) if weight is not None else \
        torch.ones(graph.num_edges, dtype=dtype, device=graph.device)
    deg_in = torch.zeros(graph.num_rows, dtype=dtype, device=graph.device).index_add_(0, row, w)
    if kind == "row":
        return w / _positive_or_one(deg_in)[row]
    if kind == "sym":
        deg_out = torch.zeros(graph.num_cols, dtype=dtype, device=graph.device) \
            .index_add_(0, col, w)
        return w / (_positive_or_one(deg_in)[row] * _positive_or_one(deg_out)[col]).sqrt()
    # "pyg": GCNConv's gcn_norm, the in-degree on both ends; degree 0 gives 0.
    inv_sqrt = deg_in.pow(-0.5)
    inv_sqrt = inv_sqrt.masked_fill(inv_sqrt == float("inf"), 0)
    return inv_sqrt[col] * w * inv_sqrt[row]


def _wider(dtype: torch.dtype, than: torch.dtype) -> bool:
    return torch.finfo(dtype).bits > torch.finfo(than).bits


class _FiniteWatch:
    """Warns once when a graph produced by :meth:`SparseGraph.matrix_power`
    holds a non-finite weight (checked after every product, since a later
    product can drop the entry again)."""

    def __init__(self, order: int):
        self.order = order
        self.warned = False

    def __call__(self, graph: "SparseGraph", k: int) -> "SparseGraph":
        w = graph.edge_weight
        if not self.warned and w is not None and not bool(torch.isfinite(w).all()):
            self.warned = True
            warnings.warn(f"matrix_power(order={self.order}): weights overflowed to Inf/NaN "
                          f"({w.dtype}) at power {k}; normalise the graph or use float64 "
                          "weights", RuntimeWarning, stacklevel=3)
        return graph


class SparseGraph:
    r"""A sparse (possibly bipartite) graph in CSR form with cached transpose,
    degrees and normalisations.

    Build it with :meth:`from_edge_index`, :meth:`from_data`,
    :meth:`from_scipy` or :meth:`from_csr`; the constructor itself expects an
    already validated CSR.

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

    # ------------------------------------------------------------------ build
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
        num_src_nodes, num_dst_nodes = _explicit_sizes(num_nodes, num_src_nodes, num_dst_nodes)
        if _is_pyg_edge_index(edge_index):
            num_src_nodes, num_dst_nodes = _merge_edge_index_sizes(edge_index, num_src_nodes,
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
        perm = _csr_order(src, dst, num_src_nodes, num_dst_nodes)
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
        - ``'pyg'``: exactly ``torch_geometric.nn.GCNConv``'s ``gcn_norm``:
          :math:`w_{ij} / \sqrt{d^{in}_i d^{in}_j}`, the in-degree on both
          ends (so it differs from ``'sym'`` on directed graphs), square
          graphs only;
        - ``'none'``: the weights as they are.

        Degrees are weighted when the graph has weights; nodes of degree 0
        keep weight 0. With ``add_self_loops`` (square graphs only), every node
        lacking a self-loop first gets one of weight 1. For ``'sym'`` and
        ``'row'`` existing self-loops are kept as they are (duplicates too);
        for ``'pyg'`` they follow ``torch_geometric.utils.add_remaining_self_loops``:
        each node ends with exactly one self-loop, which keeps the weight of the
        node's last existing self-loop (in edge order) or gets weight 1.

        The coefficients are stored in the dtype of the graph's weights (the
        default dtype when unweighted), and recomputed, not cast, when an op
        meets features of a wider dtype (see :meth:`edge_weight_as`), so a
        float64 ``spmm`` is exact in float64.
        """
        if kind not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {kind!r}")
        key = (kind, bool(add_self_loops))
        if key in self._normalized:
            return self._normalized[key]
        if kind == "pyg" and self.num_rows != self.num_cols:
            raise ValueError(f"normalization 'pyg' (GCNConv's) needs a square graph, got "
                             f"{self.num_rows} x {self.num_cols}")
        graph = self
        if add_self_loops:
            graph = self._with_remaining_self_loops() if kind == "pyg" else self.with_self_loops()
        if kind == "none":
            result = graph
        else:
            w = graph.edge_weight
            dtype = w.dtype if w is not None else torch.get_default_dtype()
            result = graph._with_weight(_normalize_weights(graph, kind, w, dtype))
            result._norm_recipe = (kind, w)
        self._normalized[key] = result
        return result

    def edge_weight_as(self, dtype: torch.dtype) -> Optional[Tensor]:
        """The edge weights (CSR order) in ``dtype``; None for an unweighted graph.

        Normalised graphs (:meth:`normalized`) recompute their coefficients in
        ``dtype`` when it is wider than the stored weights, so float64 features
        get float64-exact normalisation of a float32 (or unweighted) graph;
        otherwise the stored weights are cast. Recomputed weights are cached.
        """
        w = self.edge_weight
        if w is None or w.dtype == dtype:
            return w
        if self._norm_recipe is None or not _wider(dtype, w.dtype):
            return w.to(dtype)
        if dtype not in self._weights_by_dtype:
            kind, raw = self._norm_recipe
            exact = _normalize_weights(self, kind, raw, dtype)
            if exact.requires_grad:  # would pin an autograd graph across steps
                return exact
            self._weights_by_dtype[dtype] = exact
        return self._weights_by_dtype[dtype]

    def with_self_loops(self, fill_value: float = 1.0) -> "SparseGraph":
        """A copy where every node without a self-loop gets one (weight
        ``fill_value``); existing self-loops are kept as they are."""
        self._check_square("self-loops")
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

    def _with_remaining_self_loops(self) -> "SparseGraph":
        """PyG's ``add_remaining_self_loops`` (fill value 1): the self-loops
        are replaced by exactly one per node, weighted like the node's last
        existing self-loop in CSR (= input) order, else 1."""
        self._check_square("self-loops")
        n = self.num_rows
        row, col = self.row.long(), self.col.long()
        is_loop = row == col
        nodes = torch.arange(n, device=self.device)
        edge_index = torch.stack([torch.cat([col[~is_loop], nodes]),
                                  torch.cat([row[~is_loop], nodes])])
        weight = None
        if self.edge_weight is not None:
            # The position of every node's last self-loop, -1 where it has none.
            positions = is_loop.nonzero().view(-1)
            last = torch.full((n,), -1, dtype=torch.long, device=self.device).scatter_reduce_(
                0, row[positions], positions, "amax")
            loop_weight = torch.ones(n, dtype=self.edge_weight.dtype, device=self.device)
            has_loop = last >= 0
            loop_weight[has_loop] = self.edge_weight[last[has_loop]]
            weight = torch.cat([self.edge_weight[~is_loop], loop_weight])
        return SparseGraph.from_edge_index(edge_index, weight, num_nodes=n,
                                           index_dtype=self.index_dtype)

    def _check_square(self, what: str) -> None:
        if self.num_rows != self.num_cols:
            raise ValueError(f"{what} need a square graph, got {self.num_rows} x {self.num_cols}")

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

    # ------------------------------------------------------------ products
    def _weights_or_ones(self, dtype: Optional[torch.dtype]) -> Tensor:
        """Per-edge weights in ``dtype`` (stored dtype when None), 1 where the
        graph is unweighted."""
        if self.edge_weight is None:
            return torch.ones(self.num_edges, dtype=dtype, device=self.device)
        return self.edge_weight if dtype is None else self.edge_weight_as(dtype)

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
        nothing is dense in N x N, but :math:`A^r` fills in as r grows.

        Orders up to 8 multiply step by step (:math:`A^k = A^{k-1} A`); higher
        orders use repeated squaring, so any order costs at most 3 sparse
        products per bit of ``order`` (under 190).

        Args:
            order (int): :math:`r`, from 1 to ``MAX_POWER_ORDER`` (``2**63 - 1``).
            cumulative (bool): sum the powers 1..r instead.

        Warns:
            RuntimeWarning: when a weight overflows to Inf or becomes NaN (e.g.
            path counts of an unnormalised graph in float32); normalise the
            graph or use float64 weights.
        """
        order = check_count(order, "order")
        if not 1 <= order <= MAX_POWER_ORDER:
            raise ValueError(f"order must be in [1, {MAX_POWER_ORDER}], got {order}")
        if self.num_rows != self.num_cols:
            raise ValueError(f"matrix_power needs a square graph, got [{self.num_rows}, "
                             f"{self.num_cols}]")
        watch = _FiniteWatch(order)
        if order <= _STEPWISE_MAX_ORDER:
            power = total = self
            for k in range(2, order + 1):
                power = watch(power.matmul(self), k)
                if cumulative:
                    total = watch(total.add(power), k)
            return total if cumulative else power
        return self._power_by_squaring(order, cumulative, watch)

    def _power_by_squaring(self, order: int, cumulative: bool, watch: "_FiniteWatch"
                           ) -> "SparseGraph":
        """Left-to-right binary powering; with ``cumulative``, the running sum
        follows :math:`S_{2m} = S_m + A^m S_m` and :math:`S_{m+1} = S_m + A^{m+1}`."""
        power = total = self  # A^m and S_m, for m = 1
        m = 1
        for bit in bin(order)[3:]:
            if cumulative:
                total = watch(total.add(power.matmul(total)), 2 * m)
            power, m = watch(power.matmul(power), 2 * m), 2 * m
            if bit == "1":
                power, m = watch(power.matmul(self), m + 1), m + 1
                if cumulative:
                    total = watch(total.add(power), m)
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
