"""GPN on a class hierarchy of your own: a parent map, instance vectors per
class; train, then classify instances of new classes from K examples each.

    >>> model = HierarchicalFewShot(parents, instances, shots=1, episodes=2000).fit()
    >>> model.predict({"new_a": xa, "new_b": xb, ...}, queries)   # labels of the queries
"""
from __future__ import annotations

import random
from typing import Dict, Hashable, List, Mapping, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from graphcl.datasets.gpn import BypassIndex, ClassHierarchy, FewShotBenchmark
from graphcl.methods.gpn.config import GPNConfig, paper_config
from graphcl.methods.gpn.model import squared_euclidean_logits
from graphcl.methods.gpn.train import GPNData, TrainResult, prepare, propagated_prototypes, train


def _as_matrix(values, name: str, width: Optional[int] = None) -> Tensor:
    matrix = torch.as_tensor(np.asarray(values, dtype=np.float32))
    if matrix.dim() != 2 or matrix.size(0) == 0 or (width is not None and matrix.size(1) != width):
        expected = f"[n, {width}]" if width is not None else "[n, F]"
        raise ValueError(f"{name} must be a non-empty {expected} array, got shape "
                         f"{tuple(matrix.shape)}")
    if not bool(torch.isfinite(matrix).all()):
        raise ValueError(f"{name} contains NaN or Inf")
    return matrix


class HierarchicalFewShot:
    """Train GPN (or ProtoNet) on your hierarchy and classify new classes.

    Args:
        parents (mapping): ``{class: [its parent classes]}``; classes that only
            appear as parents are added. A cycle raises ``ValueError``.
        instances (mapping): ``{class: [n, F] array}`` for the training
            classes; each needs at least ``shots + queries`` rows.
        model (str): ``"gpn"`` (default) or ``"protonet"``.
        ways, shots, queries, episodes, seed: the episode stream (queries
            default to ``shots``; ``episodes`` = training iterations).
        **overrides: any other :class:`GPNConfig` field (``hidden_channels``,
            ``embedding_channels``, ``lr``, ...).
    """

    def __init__(self, parents: Mapping[Hashable, Sequence[Hashable]],
                 instances: Mapping[Hashable, object], *, model: str = "gpn", ways: int = 5,
                 shots: int = 1, queries: Optional[int] = None, episodes: int = 2000,
                 seed: int = 0, **overrides):
        if not isinstance(instances, Mapping) or not instances:
            raise TypeError("instances must be a non-empty mapping {class: [n, F] array}")
        self.hierarchy = ClassHierarchy.from_parent_map(parents)
        index = self.hierarchy.index()
        unknown = [c for c in instances if c not in index]
        if unknown:
            raise ValueError(f"instances: class {unknown[0]!r} is not in the hierarchy (parents)")
        first = _as_matrix(next(iter(instances.values())), f"instances[{next(iter(instances))!r}]")
        width = first.size(1)
        matrices = {c: _as_matrix(v, f"instances[{c!r}]", width) for c, v in instances.items()}
        self.config: GPNConfig = paper_config(
            model, ways=ways, shots=shots, queries=queries, episodes=episodes, seed=seed,
            in_channels=width, **overrides)
        need = self.config.shots + self.config.train_queries
        short = [(c, m.size(0)) for c, m in matrices.items() if m.size(0) < need]
        if short:
            raise ValueError(f"instances: class {short[0][0]!r} has {short[0][1]} instances, fewer "
                             f"than shots + queries = {need}")
        if len(matrices) < self.config.ways:
            raise ValueError(f"ways={self.config.ways} is larger than the {len(matrices)} classes "
                             "with instances")
        order = sorted(matrices, key=lambda c: index[c])
        sizes = [matrices[c].size(0) for c in order]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        class_instances: List[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(self.hierarchy)
        for i, c in enumerate(order):
            class_instances[index[c]] = np.arange(offsets[i], offsets[i + 1])
        roots = self.hierarchy.roots()
        self.benchmark = FewShotBenchmark(
            hierarchy=self.hierarchy, distances=self.hierarchy.distances(),
            features=torch.cat([matrices[c] for c in order]),
            instance_class=torch.repeat_interleave(torch.tensor([index[c] for c in order]),
                                                   torch.tensor(sizes)),
            class_instances=class_instances, splits={"train": [index[c] for c in order]},
            root=roots[0] if len(roots) == 1 else None)
        self.data: Optional[GPNData] = None
        self.result: Optional[TrainResult] = None

    def fit(self, progress: bool = False) -> "HierarchicalFewShot":
        """Train on the episode stream (GPN's schedule over ``episodes``)."""
        self.data = prepare(self.benchmark, self.config, test_splits=())
        self.result = train(self.data, self.config, seed=self.config.seed, progress=progress)
        self._bypass = BypassIndex(self.hierarchy, self.data.train_keep)
        return self

    @torch.no_grad()
    def prototypes(self, support: Mapping[Hashable, object]) -> Dict[Hashable, Tensor]:
        """The (propagated, for GPN) prototype of every class of ``support``
        (``{class: [K, F] examples}``; classes must be in the hierarchy)."""
        if self.result is None:
            raise RuntimeError("call fit() before prototypes() or predict()")
        if not isinstance(support, Mapping) or len(support) < 1:
            raise TypeError("support must be a non-empty mapping {class: [K, F] array}")
        index = self.hierarchy.index()
        missing = [c for c in support if c not in index]
        if missing:
            raise KeyError(f"support: class {missing[0]!r} is not in the hierarchy")
        model = self.result.model.eval()
        width = self.config.in_channels
        base = torch.stack([model(_as_matrix(v, f"support[{c!r}]", width)).mean(0)
                            for c, v in support.items()])
        if model.propagation is not None:
            classes = np.array([index[c] for c in support])
            base = propagated_prototypes(model, self.result.memory, base.unsqueeze(0), [classes],
                                         [self._bypass.view(classes)], self.config,
                                         random.Random(self.config.seed))[0]
        return dict(zip(support, base))

    @torch.no_grad()
    def predict(self, support: Mapping[Hashable, object], queries) -> List[Hashable]:
        """The class of every row of ``queries`` ``[Q, F]`` among the classes
        of ``support`` (nearest prototype in squared Euclidean distance)."""
        protos = self.prototypes(support)
        labels = list(protos)
        embedded = self.result.model(_as_matrix(queries, "queries", self.config.in_channels))
        logits = squared_euclidean_logits(embedded, torch.stack([protos[c] for c in labels]))
        return [labels[i] for i in logits.argmax(1).tolist()]


__all__ = ["HierarchicalFewShot"]
