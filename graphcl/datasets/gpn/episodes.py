"""N-way K-shot tasks on a class hierarchy, as GPN draws them
(``lib/datasets/graph_imagenet.py``), with numpy's seeded generator.

* global: ``ways`` distinct classes uniformly at random;
* local ("snowball"): one random class, then ``ways - 1`` times a class drawn
  uniformly from the union of the ``hops``-hop neighbourhoods of the classes
  drawn so far (not yet drawn);
* the many-shot auxiliary batches replace a task with probability
  :func:`many_shot_probability` ``= 0.9 ** (20 t / T)``.

Instances of every class are drawn without replacement, support first, by one
argsort of random keys over the padded ``[ways, max instances]`` table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

KINDS = ("global", "local")


def many_shot_probability(t, total: int) -> np.ndarray:
    """``0.9 ** (20 t / T)``: 1 at the start, 0.9**20 = 0.12 at ``t = T``."""
    if total < 1:
        raise ValueError(f"total must be at least 1, got {total}")
    return np.power(0.9, 20.0 * np.asarray(t, dtype=float) / total)


@dataclass(frozen=True)
class Task:
    """One episode: ``classes[n]`` is the label ``n``; ``support`` ``[N, K]``
    and ``query`` ``[N, Q]`` hold instance indices."""
    classes: np.ndarray
    support: np.ndarray
    query: np.ndarray
    kind: str


class EpisodeSampler:
    """Draws tasks from ``classes``.

    Args:
        class_instances (sequence of arrays): instance indices of every class
            of the hierarchy.
        classes (array of int): the classes tasks may use.
        ways (int): classes per task (N).
        shots (int): support instances per class (K).
        queries (int, optional): query instances per class (default ``shots``,
            as the reference).
        distances (array, optional): ``[C, C]`` class distances, needed by the
            local sampler.
        hops (int): the local sampler's neighbourhood radius (5).
        seed (int or numpy Generator): the sampling seed.

    Raises:
        ValueError: ``ways`` exceeds the classes available, or a class has
            fewer than ``shots + queries`` instances (the error names it).
    """

    def __init__(self, class_instances: Sequence[np.ndarray], classes, ways: int, shots: int,
                 queries: Optional[int] = None, distances: Optional[np.ndarray] = None,
                 hops: int = 5, seed=0):
        queries = shots if queries is None else queries
        for name, value in (("ways", ways), ("shots", shots), ("queries", queries),
                            ("hops", hops)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        classes = np.asarray(classes, dtype=np.int64)
        if ways > classes.size:
            raise ValueError(f"ways={ways} is larger than the {classes.size} classes available")
        counts = np.array([len(class_instances[c]) for c in classes], dtype=np.int64)
        short = np.flatnonzero(counts < shots + queries)
        if short.size:
            c = int(classes[short[0]])
            raise ValueError(f"class {c} has {counts[short[0]]} instances, fewer than shots + "
                             f"queries = {shots + queries}")
        self.ways, self.shots, self.queries = int(ways), int(shots), int(queries)
        self.classes = classes
        width = int(counts.max())
        self._table = np.full((classes.size, width), -1, dtype=np.int64)
        for row, c in enumerate(classes):
            self._table[row, : counts[row]] = class_instances[c]
        self._counts = counts
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self._near = None
        if distances is not None:
            sub = np.asarray(distances)[np.ix_(classes, classes)]
            self._near = (sub <= hops) & ~np.eye(classes.size, dtype=bool)

    # ---------------------------------------------------------------- classes
    def global_rows(self) -> np.ndarray:
        return self.rng.choice(self.classes.size, self.ways, replace=False)

    def local_rows(self, max_restarts: int = 1000) -> np.ndarray:
        if self._near is None:
            raise ValueError("the local sampler needs distances (EpisodeSampler(distances=...))")
        for _ in range(max_restarts):
            chosen = np.zeros(self.classes.size, dtype=bool)
            rows = [int(self.rng.integers(self.classes.size))]
            chosen[rows[0]] = True
            while len(rows) < self.ways:
                reachable = np.flatnonzero(self._near[rows].any(0) & ~chosen)
                if reachable.size == 0:
                    break  # a neighbourhood too small: start again elsewhere
                rows.append(int(reachable[self.rng.integers(reachable.size)]))
                chosen[rows[-1]] = True
            if len(rows) == self.ways:
                return np.array(rows)
        raise ValueError(f"ways={self.ways}: no {self.ways} classes lie within the local "
                         f"neighbourhoods after {max_restarts} restarts")

    # ---------------------------------------------------------------- tasks
    def sample(self, kind: Optional[str] = None) -> Task:
        """A task from ``kind`` (``'global'``, ``'local'``, or ``None``: each
        with probability 0.5)."""
        if kind is None:
            kind = KINDS[int(self.rng.random() < 0.5)]
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS} or None, got {kind!r}")
        rows = self.global_rows() if kind == "global" else self.local_rows()
        keys = self.rng.random((rows.size, self._table.shape[1]))
        keys[self._table[rows] < 0] = np.inf  # padding sorts last
        order = np.argsort(keys, axis=1)[:, : self.shots + self.queries]
        picked = np.take_along_axis(self._table[rows], order, axis=1)
        return Task(self.classes[rows], picked[:, : self.shots], picked[:, self.shots:], kind)

    def many_shot_batch(self, instances: np.ndarray, size: int) -> np.ndarray:
        """``size`` instances drawn without replacement (all if fewer)."""
        instances = np.asarray(instances)
        return self.rng.choice(instances, min(size, instances.size), replace=False)


__all__ = ["EpisodeSampler", "Task", "many_shot_probability", "KINDS"]
