"""A class hierarchy (a DAG of classes, parents above children) as GPN uses it:
shortest-path class distances, graphs that bypass removed classes, and the
propagation subgraph around a task's classes.

Classes are integers ``0 .. C-1`` (``names`` maps them to labels such as
wnids); ``parents[c]`` lists the classes directly above ``c``.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Dict, Hashable, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

#: Distance of two classes with no path between them (the reference's 1e9).
UNREACHABLE = 10**9


@dataclass(frozen=True)
class ClassHierarchy:
    """Classes and their parent links.

    Args:
        names (list): one label per class.
        parents (list of tuple of int): ``parents[c]`` = classes directly
            above ``c`` (sorted, no duplicates, no self-links).

    Build it with :meth:`from_parent_map`, which checks for cycles.
    """
    names: List[Hashable]
    parents: List[Tuple[int, ...]]
    children: List[Tuple[int, ...]] = field(init=False, repr=False)

    def __post_init__(self):
        kids: List[List[int]] = [[] for _ in self.names]
        for c, ps in enumerate(self.parents):
            for p in ps:
                kids[p].append(c)
        object.__setattr__(self, "children", [tuple(sorted(k)) for k in kids])

    # ------------------------------------------------------------ building
    @classmethod
    def from_parent_map(cls, parents: Mapping[Hashable, Sequence[Hashable]],
                        names: Optional[Sequence[Hashable]] = None) -> "ClassHierarchy":
        """From ``{class: [its parents]}``. Classes that only appear as parents
        are added; ``names`` fixes the order (default: sorted labels).

        Raises:
            TypeError: ``parents`` is not a mapping of sequences.
            ValueError: a class is its own ancestor (the message names a cycle).
        """
        if not isinstance(parents, Mapping):
            raise TypeError(f"parents must be a mapping {{class: [parent classes]}}, got "
                            f"{type(parents).__name__}")
        labels = set(parents)
        for child, ps in parents.items():
            if isinstance(ps, (str, bytes)) or not isinstance(ps, Sequence):
                raise TypeError(f"parents[{child!r}] must be a list of classes, got "
                                f"{type(ps).__name__}")
            labels.update(ps)
        if names is None:
            names = sorted(labels, key=repr) if not all(isinstance(n, str) for n in labels) \
                else sorted(labels)
        names = list(names)
        index = {n: i for i, n in enumerate(names)}
        missing = labels - set(index)
        if missing:
            raise ValueError(f"names: misses class {sorted(missing, key=repr)[0]!r} of parents")
        links = [set() for _ in names]
        for child, ps in parents.items():
            for p in ps:
                if p == child:
                    raise ValueError(f"parents: class {child!r} is its own parent (a cycle)")
                links[index[child]].add(index[p])
        hierarchy = cls(names, [tuple(sorted(s)) for s in links])
        hierarchy.check_acyclic()
        return hierarchy

    def check_acyclic(self) -> None:
        """Raise ``ValueError`` naming a cycle if some class is its own ancestor."""
        remaining = np.array([len(p) for p in self.parents])
        order = [c for c in range(len(self)) if remaining[c] == 0]
        for c in order:  # Kahn's algorithm from the roots down
            for k in self.children[c]:
                remaining[k] -= 1
                if remaining[k] == 0:
                    order.append(k)
        if len(order) == len(self):
            return
        start = int(np.flatnonzero(remaining > 0)[0])
        path, seen = [start], {start: 0}
        while True:  # walk up inside the unresolved part until a class repeats
            nxt = next(p for p in self.parents[path[-1]] if remaining[p] > 0)
            if nxt in seen:
                cycle = path[seen[nxt]:] + [nxt]
                break
            seen[nxt] = len(path)
            path.append(nxt)
        raise ValueError("parents: the hierarchy has a cycle: "
                         + " -> ".join(repr(self.names[c]) for c in cycle))

    def __len__(self) -> int:
        return len(self.names)

    def index(self) -> Dict[Hashable, int]:
        return {n: i for i, n in enumerate(self.names)}

    def edges(self) -> np.ndarray:
        """``[2, E]`` (child, parent) pairs."""
        pairs = [(c, p) for c, ps in enumerate(self.parents) for p in ps]
        return np.array(pairs, dtype=np.int64).reshape(-1, 2).T

    def roots(self) -> List[int]:
        return [c for c, ps in enumerate(self.parents) if not ps]

    # ------------------------------------------------------------ distances
    def distances(self) -> np.ndarray:
        """``[C, C]`` int64 shortest-path lengths over parent/child links
        (undirected, unit length); :data:`UNREACHABLE` between components."""
        child, parent = self.edges()
        n = len(self)
        adjacency = sp.coo_matrix((np.ones(child.size), (child, parent)), shape=(n, n)).tocsr()
        dist = csgraph.shortest_path(adjacency, directed=False, unweighted=True)
        out = np.full((n, n), UNREACHABLE, dtype=np.int64)
        finite = np.isfinite(dist)
        out[finite] = dist[finite].astype(np.int64)
        return out

    # ------------------------------------------------------------ bypassing
    def restrict(self, keep: np.ndarray) -> "ClassHierarchy":
        """The hierarchy on the classes with ``keep[c]`` true, where a removed
        class's parents are linked to its children (GPN's ``pruning``): a kept
        class's parents are the kept classes reachable upwards through removed
        classes only. Removed classes stay as isolated indices, so class
        numbers do not change."""
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (len(self),):
            raise ValueError(f"keep must be a boolean mask of {len(self)} classes, got shape "
                             f"{keep.shape}")
        memo: Dict[int, frozenset] = {}

        def kept_above(c: int) -> frozenset:  # kept classes reached upwards from removed c
            if c not in memo:
                memo[c] = frozenset().union(*[
                    {p} if keep[p] else kept_above(p) for p in self.parents[c]])
            return memo[c]

        parents = [tuple(sorted(frozenset().union(*[{p} if keep[p] else kept_above(p)
                                                    for p in self.parents[c]])))
                   if keep[c] else () for c in range(len(self))]
        return ClassHierarchy(self.names, parents)

    def restricted_view(self, keep: np.ndarray) -> "RestrictedView":
        """:meth:`restrict` computed lazily: links are bridged only for the
        classes asked about (a task's subgraph touches a few dozen)."""
        return RestrictedView(self, keep)

    # ------------------------------------------------------------ propagation subgraph
    def propagation_subgraph(self, task: Sequence[int], rounds: int = 2, max_links: int = 5,
                             keep_ratio: float = 0.5, rng: Optional[random.Random] = None
                             ) -> Tuple[np.ndarray, np.ndarray]:
        """GPN's ``get_real_propagation_graph``: from the task classes, add
        ``rounds`` times the parents and children of the classes reached last
        (a class with more than ``max_links`` parents, or children, keeps a
        random ``round(keep_ratio * n)`` of them).

        Returns:
            ``(nodes, edges)``: the task classes first then the others sorted;
            ``edges`` ``[2, E]`` local (child, parent) pairs among the nodes
            (every parent link among them, sampled or not, as GPN's ``get_adj``).
        """
        return propagation_subgraph(self.parents, self.children, task, rounds, max_links,
                                    keep_ratio, rng)


class _Through:
    """For a fixed kept set: per removed class, the kept classes beyond it and
    the removed classes on the way (itself included), computed once."""

    def __init__(self, links: List[Tuple[int, ...]], keep: np.ndarray):
        self.links, self.keep = links, keep
        self.beyond: Dict[int, frozenset] = {}
        self.reach: Dict[int, frozenset] = {}

    def visit(self, c: int) -> None:
        if c in self.beyond:
            return
        beyond, reach = set(), {c}
        for p in self.links[c]:
            if self.keep[p]:
                beyond.add(p)
            else:
                self.visit(p)
                beyond |= self.beyond[p]
                reach |= self.reach[p]
        self.beyond[c], self.reach[c] = frozenset(beyond), frozenset(reach)


class _BridgedLinks:
    """``links[c]`` of a kept class with removed classes bridged, on demand.
    With ``through`` (a cache for the smaller kept set ``keep & ~extra``), a
    removed class whose paths meet no class of ``extra`` reuses the cache."""

    def __init__(self, links: List[Tuple[int, ...]], keep: np.ndarray,
                 through: Optional[_Through] = None, extra: frozenset = frozenset()):
        self.links, self.keep, self.through, self.extra = links, keep, through, extra
        self._beyond_memo: Dict[int, frozenset] = {}
        self._done: Dict[int, Tuple[int, ...]] = {}

    def _beyond(self, c: int) -> frozenset:
        if self.through is not None:
            self.through.visit(c)
            if not (self.through.reach[c] & self.extra):
                return self.through.beyond[c]
        if c not in self._beyond_memo:
            self._beyond_memo[c] = frozenset().union(*[
                {p} if self.keep[p] else self._beyond(p) for p in self.links[c]])
        return self._beyond_memo[c]

    def __getitem__(self, c: int) -> Tuple[int, ...]:
        if c not in self._done:
            links = [{p} if self.keep[p] else self._beyond(p) for p in self.links[c]]
            self._done[c] = tuple(sorted(frozenset().union(*links))) if self.keep[c] else ()
        return self._done[c]

    def __len__(self) -> int:
        return len(self.links)


class RestrictedView:
    """A :class:`ClassHierarchy` restricted to ``keep`` (see
    :meth:`ClassHierarchy.restrict`) with parents and children bridged lazily."""

    def __init__(self, hierarchy: ClassHierarchy, keep: np.ndarray, caches=None,
                 extra: frozenset = frozenset()):
        keep = np.asarray(keep, dtype=bool)
        if keep.shape != (len(hierarchy),):
            raise ValueError(f"keep must be a boolean mask of {len(hierarchy)} classes, got "
                             f"shape {keep.shape}")
        self.names = hierarchy.names
        up, down = caches if caches is not None else (None, None)
        self.parents = _BridgedLinks(hierarchy.parents, keep, up, extra)
        self.children = _BridgedLinks(hierarchy.children, keep, down, extra)

    def __len__(self) -> int:
        return len(self.names)

    propagation_subgraph = ClassHierarchy.propagation_subgraph


class BypassIndex:
    """:meth:`ClassHierarchy.restrict` for many kept sets that each add a few
    classes to one base set (GPN's test mode: the training classes plus one
    task's classes). The bridging through the base set's removed classes is
    computed once and reused wherever no added class is on the way."""

    def __init__(self, hierarchy: ClassHierarchy, base_keep: np.ndarray):
        self.hierarchy = hierarchy
        self.base_keep = np.asarray(base_keep, dtype=bool)
        if self.base_keep.shape != (len(hierarchy),):
            raise ValueError(f"base_keep must be a boolean mask of {len(hierarchy)} classes, "
                             f"got shape {self.base_keep.shape}")
        self._caches = (_Through(hierarchy.parents, self.base_keep),
                        _Through(hierarchy.children, self.base_keep))

    def view(self, extra: Sequence[int]) -> RestrictedView:
        """The hierarchy restricted to the base classes plus ``extra``."""
        extra = frozenset(int(c) for c in extra)
        keep = self.base_keep.copy()
        keep[list(extra)] = True
        return RestrictedView(self.hierarchy, keep, self._caches, extra)


class AttachedView:
    """A hierarchy (a :class:`ClassHierarchy` or a view of one) with new
    classes attached above chosen classes: ``attach[c]`` become the children
    of ``c``, which has no parents (GPN's "no hierarchy" test,
    ``construct_propagation_graph``: a test class is made the parent of its
    nearest training prototypes). Its :meth:`propagation_subgraph` starts
    from the attached children and never expands from a new class, as GPN's.
    """

    def __init__(self, base, attach: Mapping[int, Sequence[int]]):
        self.names = base.names
        self.attach = {int(c): tuple(int(k) for k in kids) for c, kids in attach.items()}
        above: Dict[int, List[int]] = {}
        for c, kids in self.attach.items():
            for k in kids:
                above.setdefault(k, []).append(c)
        self.parents = _AttachedLinks(base.parents, above, {c: () for c in self.attach})
        self.children = _AttachedLinks(base.children, {}, self.attach)

    def __len__(self) -> int:
        return len(self.names)

    def propagation_subgraph(self, task: Sequence[int], rounds: int = 2, max_links: int = 5,
                             keep_ratio: float = 0.5, rng: Optional[random.Random] = None
                             ) -> Tuple[np.ndarray, np.ndarray]:
        """``rounds`` expansions from the children attached to the ``task``
        classes (every task class must be attached)."""
        missing = [int(c) for c in task if int(c) not in self.attach]
        if missing:
            raise ValueError(f"task: class {missing[0]} is not attached to the hierarchy")
        start = list(dict.fromkeys(k for c in task for k in self.attach[int(c)]))
        return propagation_subgraph(self.parents, self.children, task, rounds, max_links,
                                    keep_ratio, rng, start=start)


class _AttachedLinks:
    """``base[c]`` plus ``extra[c]``, or ``replace[c]`` for an attached class."""

    def __init__(self, base, extra: Dict[int, List[int]], replace: Dict[int, Tuple[int, ...]]):
        self.base, self.extra, self.replace = base, extra, replace

    def __getitem__(self, c: int) -> Tuple[int, ...]:
        if c in self.replace:
            return self.replace[c]
        return tuple(self.base[c]) + tuple(self.extra.get(c, ()))

    def __len__(self) -> int:
        return len(self.base)


def propagation_subgraph(parents, children, task: Sequence[int], rounds: int = 2,
                         max_links: int = 5, keep_ratio: float = 0.5,
                         rng: Optional[random.Random] = None,
                         start: Optional[Sequence[int]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """:meth:`ClassHierarchy.propagation_subgraph` over any indexable
    ``parents`` / ``children`` link lists. With ``start``, those classes are
    reached first and the rounds expand from them, never from a task class
    (GPN's ``construct_propagation_graph``)."""
    rng = rng if rng is not None else random.Random(0)
    task = [int(c) for c in task]
    if len(set(task)) != len(task):
        raise ValueError(f"task: classes must be distinct, got {task}")
    reached, frontier = set(task), list(task)
    if start is not None:
        frontier = [int(c) for c in start]
        reached |= set(frontier)
    for _ in range(rounds):
        nxt = set()
        for c in frontier:
            if start is not None and c in task:
                continue
            for links in (parents[c], children[c]):
                links = list(links)
                if len(links) > max_links:
                    links = rng.sample(links, round(keep_ratio * len(links)))
                nxt.update(links)
        reached |= nxt
        frontier = sorted(nxt)
    nodes = task + sorted(reached - set(task))
    local = {c: i for i, c in enumerate(nodes)}
    pairs = [(local[c], local[p]) for c in nodes for p in parents[c] if p in local]
    return np.array(nodes, dtype=np.int64), np.array(pairs, dtype=np.int64).reshape(-1, 2).T


__all__ = ["ClassHierarchy", "RestrictedView", "BypassIndex", "AttachedView",
           "propagation_subgraph", "UNREACHABLE"]
