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
            ``edges`` ``[2, E]`` local (child, parent) pairs among the nodes.
        """
        rng = rng if rng is not None else random.Random(0)
        task = [int(c) for c in task]
        reached, frontier = set(task), list(dict.fromkeys(task))
        for _ in range(rounds):
            nxt = set()
            for c in frontier:
                for links in (self.parents[c], self.children[c]):
                    links = list(links)
                    if len(links) > max_links:
                        links = rng.sample(links, round(keep_ratio * len(links)))
                    nxt.update(links)
            reached |= nxt
            frontier = sorted(nxt)
        others = sorted(reached - set(task))
        nodes = np.array(task + others, dtype=np.int64)
        local = {c: i for i, c in enumerate(nodes.tolist())}
        pairs = [(local[c], local[p]) for c in nodes.tolist() for p in self.parents[c] if p in local]
        return nodes, np.array(pairs, dtype=np.int64).reshape(-1, 2).T


__all__ = ["ClassHierarchy", "UNREACHABLE"]
