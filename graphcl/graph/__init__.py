"""Graphs for graphcl's ops: :class:`SparseGraph` and the converter from what
a PyG user holds (:func:`as_sparse_graph`).

- :mod:`~graphcl.graph.sparse_graph`: the class, its storage and caches;
- :mod:`~graphcl.graph.construction`: the ``from_*`` builders;
- :mod:`~graphcl.graph.algebra`: products, sums, powers, transpose;
- :mod:`~graphcl.graph.normalization`: degrees, self-loops, normalisations;
- :mod:`~graphcl.graph.convert`: :func:`as_sparse_graph` and its cache.
"""
from graphcl.graph.algebra import MAX_POWER_ORDER
from graphcl.graph.convert import as_sparse_graph, clear_graph_cache
from graphcl.graph.normalization import NORMALIZATIONS
from graphcl.graph.sparse_graph import SparseGraph

__all__ = ["SparseGraph", "as_sparse_graph", "clear_graph_cache", "NORMALIZATIONS",
           "MAX_POWER_ORDER"]
from graphcl.graph.spanning_forest import minimum_spanning_forest  # noqa: E402

__all__ += ["minimum_spanning_forest"]
