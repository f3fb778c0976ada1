"""GPN's hierarchical few-shot data: class hierarchies, the class-split
sampler, the WordNet-GloVe benchmark and the episode sampler.

* :mod:`~graphcl.datasets.gpn.hierarchy`: :class:`ClassHierarchy` (distances,
  bypassing removed classes, the propagation subgraph of a task).
* :mod:`~graphcl.datasets.gpn.splits`: GPN's two-stage Close/Far split sampler.
* :mod:`~graphcl.datasets.gpn.wordnet_benchmark`: the WordNet-GloVe benchmark.
* :mod:`~graphcl.datasets.gpn.episodes`: N-way K-shot tasks (global and
  snowball-local) and the many-shot batch schedule.
"""
from graphcl.datasets.gpn.episodes import EpisodeSampler, Task, many_shot_probability
from graphcl.datasets.gpn.hierarchy import UNREACHABLE, ClassHierarchy
from graphcl.datasets.gpn.splits import (CLOSE_BAND, FAR_BAND, sample_band_classes,
                                         sample_class_splits, sample_train_classes)
from graphcl.datasets.gpn.wordnet_benchmark import (ROOT_WNID, SPLITS, FewShotBenchmark,
                                                    load_wordnet_fewshot)

__all__ = ["ClassHierarchy", "UNREACHABLE", "sample_class_splits", "sample_train_classes",
           "sample_band_classes", "CLOSE_BAND", "FAR_BAND", "FewShotBenchmark",
           "load_wordnet_fewshot", "ROOT_WNID", "SPLITS", "EpisodeSampler", "Task",
           "many_shot_probability"]
from graphcl.datasets.gpn.hierarchy import AttachedView, BypassIndex, RestrictedView  # noqa: E402

__all__ += ["BypassIndex", "RestrictedView", "AttachedView"]
