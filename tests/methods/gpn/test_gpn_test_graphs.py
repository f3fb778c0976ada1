"""GPN's test graphs on a small synthetic hierarchy (root -> 4 groups -> 6
leaves, leaves 4 and 5 of every group held out as the test split): the
nearest training prototypes against a brute-force search, the "no
hierarchy" graphs (each test class the parent of its 2 nearest training
prototypes), and "none" (support means) against a hand computation."""
import importlib
import random

import numpy as np
import pytest
import torch

from gpn_support import synthetic_hierarchy
from graphcl.datasets.gpn import ClassHierarchy, FewShotBenchmark
from graphcl.methods.gpn import paper_config
from graphcl.methods.gpn.train import (episode_accuracies, evaluate, nearest_graphs,
                                       nearest_training_classes, prepare, train)

loop = importlib.import_module("graphcl.methods.gpn.train")  # its test_tasks is no pytest test


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    parents, instances = synthetic_hierarchy(noise=0.8)
    h = ClassHierarchy.from_parent_map(parents)
    index = h.index()
    order = sorted(instances, key=index.get)
    sizes = [len(instances[c]) for c in order]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    class_instances = [np.zeros(0, dtype=np.int64)] * len(h)
    for i, c in enumerate(order):
        class_instances[index[c]] = np.arange(offsets[i], offsets[i + 1])
    held_out = [index[c] for c in order if int(c[-1]) >= 4]
    bench = FewShotBenchmark(
        hierarchy=h, distances=h.distances(),
        features=torch.tensor(np.concatenate([instances[c] for c in order]), dtype=torch.float32),
        instance_class=torch.repeat_interleave(torch.tensor([index[c] for c in order]),
                                               torch.tensor(sizes)),
        class_instances=class_instances,
        splits={"train": [c for c in range(len(h)) if c not in held_out], "close": held_out},
        root=index["root"])
    config = paper_config("gpn", in_channels=16, hidden_channels=(16,), embedding_channels=16,
                          attention_channels=8, episodes=40, iterations_per_epoch=10,
                          many_shot_batch=32, test_episodes=20)
    data = prepare(bench, config, test_splits=("close",))
    return data, config, train(data, config, seed=0, progress=False)


def test_nearest_training_classes_against_brute_force(setup):
    data, _, result = setup
    base = torch.randn(3, 5, result.memory.size(1))
    got = nearest_training_classes(data, result.memory, base, count=2)
    candidates = np.flatnonzero(data.train_keep & data.has_memory.numpy())
    memory = result.memory.numpy()
    for b in range(3):
        for n in range(5):
            distance = ((memory[candidates] - base[b, n].numpy()) ** 2).sum(1)
            assert set(got[b, n].tolist()) == set(candidates[np.argsort(distance)[:2]])
    assert data.train_keep[got.numpy()].all()


def test_no_hierarchy_graph_attaches_test_classes_to_their_nearest(setup):
    data, config, result = setup
    task = loop.test_tasks(data, config, "close", "global", seed=0, episodes=1)[0]
    base = torch.randn(1, len(task.classes), result.memory.size(1))
    nearest = nearest_training_classes(data, result.memory, base)[0].tolist()
    graph = nearest_graphs(data, result.memory, base, [task.classes])[0]
    for c, kids in zip(task.classes.tolist(), nearest):
        assert graph.parents[c] == () and graph.children[c] == tuple(kids)
        for k in kids:
            assert c in graph.parents[k]
    nodes, edges = graph.propagation_subgraph(task.classes, rounds=config.rounds)
    assert nodes[:len(task.classes)].tolist() == task.classes.tolist()
    assert not set(nodes.tolist()) & (set(data.benchmark.splits["close"]) - set(task.classes))


def test_graph_none_is_the_support_mean_classifier(setup):
    data, config, result = setup
    tasks = loop.test_tasks(data, config, "close", "local", seed=0, episodes=10)
    got = episode_accuracies(result.model, result.memory, data, tasks, config, random.Random(0),
                             graph="none")
    model = result.model.eval()
    with torch.no_grad():
        for accuracy, t in zip(got, tasks):
            support = model(data.features[torch.from_numpy(t.support.ravel())]).numpy()
            query = model(data.features[torch.from_numpy(t.query.ravel())]).numpy()
            means = support.reshape(*t.support.shape, -1).mean(1)
            guess = ((query[:, None] - means[None]) ** 2).sum(-1).argmin(1)
            truth = np.repeat(np.arange(len(t.classes)), t.query.shape[1])
            assert accuracy == pytest.approx((guess == truth).mean(), abs=1e-6)


def test_evaluate_runs_every_test_graph(setup):
    data, config, result = setup
    kw = dict(splits=("close",), samplers=("global",), episodes=20)
    accs = {g: evaluate(result, data, config, graph=g, **kw)["close/global"]["acc"]
            for g in ("hierarchy", "nearest", "none")}
    assert all(0.2 < a <= 1.0 for a in accs.values())  # chance 0.2
    with pytest.raises(ValueError, match="graph"):
        evaluate(result, data, config, graph="flat", **kw)
