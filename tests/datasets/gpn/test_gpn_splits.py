"""GPN's split sampler against a line-by-line transcription of the
reference's loops (lists, random.choice over the pool in order), and the
distance guarantees of its output."""
import random

import numpy as np
import pytest

from graphcl.datasets.gpn import ClassHierarchy, sample_class_splits


def reference_splits(dist, seed=111, ratio=0.8, min_dis=4, bands=((1, 4), (5, 10))):
    """build_data_dag.py stage 1 and build_classes_dif_distance.py stage 2."""
    random.seed(seed)
    pool = list(range(len(dist)))
    train, test = [], []
    while True:
        add_to_train = len(train) / (ratio / (1 - ratio)) <= len(test)
        target = test if add_to_train else train
        ok = [x for x in pool if (min(dist[x][t] for t in target) if target else 1e9) >= min_dis]
        if not ok:
            break
        pick = random.choice(ok)
        pool.pop(pool.index(pick))
        (train if add_to_train else test).append(pick)
    out = {"train": train}
    for name, (lo, hi) in zip(("close", "far"), bands):
        random.seed(seed)
        pool, drawn = list(range(len(dist))), []
        while True:
            ok = [x for x in pool if lo <= min(dist[x][t] for t in train) <= hi]
            if not ok:
                break
            pick = random.choice(ok)
            pool.pop(pool.index(pick))
            drawn.append(pick)
        out[name] = drawn
    return out


def tree(n=120, seed=0):
    rng = np.random.default_rng(seed)
    return ClassHierarchy.from_parent_map({c: [int(rng.integers(0, c))] for c in range(1, n)},
                                          names=list(range(n)))


@pytest.mark.parametrize("seed", [111, 5])
def test_matches_the_reference_loops(seed):
    dist = tree().distances()
    ours = sample_class_splits(dist, root=0, seed=seed)
    assert ours == reference_splits(dist.tolist(), seed=seed)


def test_distance_guarantees():
    dist = tree(seed=1).distances()
    splits = sample_class_splits(dist, root=0)
    train = splits["train"]
    rest = [c for c in range(len(dist)) if c not in train]
    nearest = dist[:, train].min(1)
    assert set(splits["close"]) == {c for c in rest if 1 <= nearest[c] <= 4}
    assert set(splits["far"]) == {c for c in rest if 5 <= nearest[c] <= 10}
    assert len(set(train)) == len(train)
    with pytest.raises(IndexError, match="root"):
        sample_class_splits(dist, root=len(dist))
    with pytest.raises(ValueError, match="ratio"):
        sample_class_splits(dist, root=0, ratio=1.0)
