"""The cache behind :func:`graphcl.graph.as_sparse_graph`: graphs by input
identity, checked against the inputs' version counters and storage."""
from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Callable, NamedTuple, Optional, Tuple

from torch import Tensor

from graphcl.graph.validation import check_edge_weight
from graphcl.graph.sparse_graph import SparseGraph

Sizes = Tuple[Optional[int], Optional[int]]


def _fingerprint(t: Optional[Tensor]):
    if t is None:
        return None
    return (t._version, t.data_ptr(), tuple(t.shape), tuple(t.stride()), t.dtype, t.device)


class _Entry(NamedTuple):
    owner: weakref.ref
    weight: Optional[weakref.ref]
    fingerprint: tuple
    graph: SparseGraph


class GraphCache:
    """Graphs by input identity, checked against the inputs' fingerprints;
    an entry goes when its input is garbage-collected or when evicted."""

    def __init__(self, capacity: int = 32):
        self.capacity = capacity
        self._entries: "OrderedDict[tuple, _Entry]" = OrderedDict()
        self.hits = self.misses = 0

    def lookup(self, owner, parts, edge_weight: Optional[Tensor], sizes: Sizes,
               build: Callable[[Optional[Tensor]], SparseGraph]) -> SparseGraph:
        if edge_weight is not None and edge_weight.requires_grad:
            # Only the structure is cached; the weights are gathered anew.
            structure = self.lookup(owner, parts, None, sizes, build)
            check_edge_weight(edge_weight, "edge_weight", structure.num_edges, structure.device)
            return structure.with_edge_weight(structure.to_csr_order(edge_weight))
        key = (id(owner), None if edge_weight is None else id(edge_weight), sizes)
        fingerprint = tuple(_fingerprint(p) for p in parts) + (_fingerprint(edge_weight),)
        entry = self._entries.get(key)
        if entry is not None and entry.owner() is owner and entry.fingerprint == fingerprint \
                and (edge_weight is None or entry.weight() is edge_weight):
            self.hits += 1
            self._touch(key)
            return entry.graph
        self.misses += 1
        graph = build(edge_weight)
        self._store(key, owner, edge_weight, fingerprint, graph)
        return graph

    def _store(self, key, owner, edge_weight, fingerprint, graph) -> None:
        forget = self._forgetter(key)
        weight_ref = None if edge_weight is None else weakref.ref(edge_weight, forget)
        self._entries[key] = _Entry(weakref.ref(owner, forget), weight_ref, fingerprint, graph)
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def _forgetter(self, key) -> Callable[[weakref.ref], None]:
        cache = weakref.ref(self)

        def forget(ref: weakref.ref) -> None:
            # Runs when the input dies; an entry stored later under the same
            # key (a reused id) holds other references and stays.
            table = cache()._entries if cache() is not None else {}
            entry = table.get(key)
            if entry is not None and (entry.owner is ref or entry.weight is ref):
                table.pop(key, None)
        return forget

    def _touch(self, key) -> None:
        try:
            self._entries.move_to_end(key)
        except KeyError:  # dropped meanwhile by a dying input's callback
            pass

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

