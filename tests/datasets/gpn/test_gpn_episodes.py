"""EpisodeSampler: task shapes, distinct classes and instances, seeded
reproducibility, the local sampler's neighbourhoods, the many-shot
probability, and the argument errors."""
import numpy as np
import pytest

from graphcl.datasets.gpn import EpisodeSampler, many_shot_probability


def table(classes=12, per_class=8):
    return [np.arange(c * per_class, (c + 1) * per_class) for c in range(classes)]


def chain_distances(n=12):
    idx = np.arange(n)
    return np.abs(idx[:, None] - idx[None, :])


def test_tasks_have_distinct_classes_and_instances():
    s = EpisodeSampler(table(), np.arange(12), ways=5, shots=2, queries=3, seed=0)
    task = s.sample("global")
    assert task.support.shape == (5, 2) and task.query.shape == (5, 3)
    assert len(set(task.classes.tolist())) == 5
    for row, c in enumerate(task.classes):
        both = np.concatenate([task.support[row], task.query[row]])
        assert len(set(both.tolist())) == 5
        assert set(both.tolist()) <= set(range(c * 8, (c + 1) * 8))


def test_seeded_and_queries_default_to_shots():
    a = EpisodeSampler(table(), np.arange(12), 5, 1, seed=3, distances=chain_distances())
    b = EpisodeSampler(table(), np.arange(12), 5, 1, seed=3, distances=chain_distances())
    for _ in range(5):
        ta, tb = a.sample(), b.sample()
        assert ta.kind == tb.kind and np.array_equal(ta.classes, tb.classes)
        assert np.array_equal(ta.query, tb.query) and ta.query.shape == (5, 1)


def test_local_sampler_grows_through_neighbourhoods():
    """On a chain with hops=1 a local task is a run of consecutive classes."""
    s = EpisodeSampler(table(), np.arange(12), 4, 1, distances=chain_distances(), hops=1, seed=0)
    kinds = set()
    for _ in range(20):
        task = s.sample("local")
        c = np.sort(task.classes)
        assert np.all(np.diff(c) == 1)
        kinds.add(s.sample().kind)
    assert kinds == {"local", "global"}


def test_many_shot_probability():
    p = many_shot_probability(np.array([0, 50, 100]), 100)
    np.testing.assert_allclose(p, [1.0, 0.9 ** 10, 0.9 ** 20])


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="ways=13"):
        EpisodeSampler(table(), np.arange(12), ways=13, shots=1)
    with pytest.raises(ValueError, match="class 11 has 3 instances"):
        EpisodeSampler(table()[:11] + [np.arange(3)], np.arange(12), 5, 2)
    with pytest.raises(ValueError, match="shots"):
        EpisodeSampler(table(), np.arange(12), 5, 0)
    with pytest.raises(ValueError, match="distances"):
        EpisodeSampler(table(), np.arange(12), 5, 1).sample("local")
    with pytest.raises(ValueError, match="kind"):
        EpisodeSampler(table(), np.arange(12), 5, 1).sample("nearby")
    far = chain_distances() * 10
    with pytest.raises(ValueError, match="ways=3"):
        EpisodeSampler(table(), np.arange(12), 3, 1, distances=far, hops=1).local_rows(20)
