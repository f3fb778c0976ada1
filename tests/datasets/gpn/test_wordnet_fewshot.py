"""The WordNet-GloVe few-shot benchmark built exactly: the counts of the
offline protocol (reference dgp_gpn.md section 5), disjoint instances,
split distances, determinism, and the split-seed argument."""
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from graphcl.datasets.gpn import load_wordnet_fewshot

MIRROR = Path(os.environ.get("GRAPHCL_MIRROR", ""))


def data_root() -> str:
    """One data root per session, so every module reuses the built benchmark."""
    return os.environ.get("GRAPHCL_DATA") or os.path.join(tempfile.gettempdir(),
                                                          "graphcl-test-wordnet")


@pytest.fixture(scope="module")
def bench():
    if not (MIRROR / "wordnet" / "wordnet30_nouns.json.gz").is_file():
        pytest.skip("no WordNet data in the mirror")
    return load_wordnet_fewshot(data_root())


def test_classes_and_instances(bench):
    assert bench.num_classes == 1570
    assert bench.is_leaf.sum() == 812 and (~bench.is_leaf).sum() == 758
    assert bench.hierarchy.names[bench.root] == "n00001740"
    assert bench.hierarchy.roots() == [bench.root]
    counts = bench.counts()
    assert counts.max() == 20
    # section 5 item 4 for the leaves (804 with >= 10 words, 555 with 20)
    assert (counts[bench.is_leaf] >= 10).sum() == 804
    assert (counts[bench.is_leaf] == 20).sum() == 555
    # the coarse pass: 201 with >= 10 words here (the reference text says 192; no
    # rule tried gives it, see datasets/wordnet.md and benchmarks/gpn/instance_rules.py)
    assert (counts[~bench.is_leaf] >= 10).sum() == 201
    words = bench.names_of_instances
    assert len(words) == len(set(words)) == bench.features.shape[0]  # a word in one class
    assert bench.features.shape[1] == 50


def test_split_counts(bench):
    counts = bench.counts()
    expected = {"train": (981, 575), "close": (484, 163), "far": (105, 74)}
    for split, (classes, leaves) in expected.items():
        mask = bench.split_mask(split)
        assert (mask.sum(), (mask & bench.is_leaf).sum()) == (classes, leaves)
    assert (bench.split_mask("close") & (counts >= 10)).sum() == 278
    assert (bench.split_mask("far") & (counts >= 10)).sum() == 80
    assert not (bench.split_mask("train") & bench.split_mask("close")).any()
    train = bench.splits["train"]
    nearest = bench.distances[:, train].min(1)
    assert set(np.flatnonzero((nearest >= 1) & (nearest <= 4))) == set(bench.splits["close"])
    assert nearest[bench.splits["far"]].min() >= 5
    # stage 1: train and the classes it put aside are >= 4 apart (checked on a sample)
    assert bench.distances[np.ix_(train[:50], bench.splits["far"])].min() >= 5


def test_task_classes_and_split_graphs(bench):
    close = bench.task_classes("close", 2)
    assert bench.root not in close and bench.split_mask("close")[close].all()
    assert (bench.counts()[close] >= 2).all()
    graph = bench.split_graph("train")
    assert all(not ps for c, ps in enumerate(graph.parents) if not bench.graph_classes("train")[c])
    assert graph.roots()[:1] == [bench.root]


def test_split_seed_is_an_argument(bench):
    other = load_wordnet_fewshot(data_root(), split_seed=7)
    assert other.splits["train"] != bench.splits["train"]
    assert load_wordnet_fewshot(data_root()) is bench  # built once per process
    with pytest.raises(TypeError, match="split_seed"):
        load_wordnet_fewshot(data_root(), split_seed="111")
