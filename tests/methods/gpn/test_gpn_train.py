"""GPN training pieces: the linear curriculum, the subgraph batch, the
receptive-field trim (exact), the propagated prototypes against the block run
by hand, and a short WordNet run in which GPN learns (threshold measured:
300 iterations give 0.52 / 0.57 on Close-global for seeds 0 / 1, untrained
0.44 / 0.53, chance 0.20)."""
import os
import random
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from graphcl.datasets.gpn import ClassHierarchy, load_wordnet_fewshot
from graphcl.methods.gpn import paper_config
from graphcl.methods.gpn.model import GPN
from graphcl.methods.gpn.train import (allaround_graph, curriculum_coefficient, evaluate,
                                       prepare, propagated_prototypes, receptive_field,
                                       task_subgraphs, train)

MIRROR = Path(os.environ.get("GRAPHCL_MIRROR", ""))


def test_curriculum_is_linear_in_the_epoch():
    values = [curriculum_coefficient(e, 3500) for e in (0, 700, 1750, 3500)]
    assert values == [0.0, 0.2, 0.5, 1.0]
    steps = np.diff([curriculum_coefficient(e, 40) for e in range(41)])
    np.testing.assert_allclose(steps, 1 / 40)
    with pytest.raises(ValueError, match="epoch"):
        curriculum_coefficient(41, 40)


def small_hierarchy():
    parents = {"a": ["r"], "b": ["r"], "a1": ["a"], "a2": ["a"], "b1": ["b"], "b2": ["b"]}
    return ClassHierarchy.from_parent_map(parents)


def test_task_subgraphs_batch_and_allaround():
    h = small_hierarchy()
    idx = h.index()
    config = paper_config("gpn")
    tasks = [np.array([idx["a1"], idx["b1"]]), np.array([idx["a2"], idx["b2"]])]
    nodes, edges, positions = task_subgraphs(tasks, [h, h], config, random.Random(0))
    # two rounds from {a1, b1} reach a, b, then r, a2, b2: the whole tree (7 classes)
    assert positions.tolist() == [[0, 1], [7, 8]]
    assert nodes[:2].tolist() == tasks[0].tolist() and nodes[7:9].tolist() == tasks[1].tolist()
    assert sorted(nodes[:7].tolist()) == list(range(7))
    assert nodes.numel() == 14 and edges.size(1) == 12  # 6 (child, parent) links per block
    assert ((edges < 7).all(0) | (edges >= 7).all(0)).all()  # no edge crosses blocks
    graph = allaround_graph(edges, 14)
    assert graph.num_edges == 24  # both directions


def test_receptive_field_and_trimmed_prototypes_are_exact():
    h = small_hierarchy()
    idx = h.index()
    config = paper_config("gpn", embedding_channels=8, hidden_channels=(8,), attention_channels=4)
    model = GPN(config, num_train_classes=3)
    torch.nn.init.normal_(model.propagation.query, 0, 0.5)
    torch.nn.init.normal_(model.propagation.key, 0, 0.5)
    memory = torch.randn(len(h), 8)
    base = torch.randn(1, 2, 8)
    task = [np.array([idx["a1"], idx["a2"]])]
    fast = propagated_prototypes(model, memory, base, task, [h], config, random.Random(0))
    full, parts = propagated_prototypes(model, memory, base, task, [h], config,
                                        random.Random(0), return_parts=True)
    torch.testing.assert_close(fast, full)
    # by hand: the block on the whole allaround graph, read at the task rows
    features = memory[parts["nodes"]].clone()
    features[:2] = base[0]
    out = model.propagation(features, parts["graph"])
    torch.testing.assert_close(full[0], out[:2])
    reach = receptive_field(parts["edges"], parts["nodes"].numel(), torch.tensor([0]), 1)
    assert reach.sum() == 2  # a1 and its parent a only


@pytest.mark.skipif(not (MIRROR / "wordnet" / "wordnet30_nouns.json.gz").is_file(),
                    reason="no WordNet data in the mirror")
def test_gpn_learns_on_wordnet():
    root = os.environ.get("GRAPHCL_DATA") or os.path.join(tempfile.gettempdir(),
                                                          "graphcl-test-wordnet")
    torch.set_num_threads(1)
    bench = load_wordnet_fewshot(root)
    config = paper_config("gpn", episodes=300, test_episodes=60)
    data = prepare(bench, config, test_splits=("close",))
    untrained = train(data, config.with_overrides(episodes=1), seed=0, progress=False)
    trained = train(data, config, seed=0, progress=False)
    assert trained.few_shot_episodes + trained.many_shot_batches == 300
    # p = 0.9^(20t/T) averages (1 - 0.9^20) / (20 ln(1/0.9)) = 0.417 over the run
    assert abs(trained.many_shot_batches / 300 - 0.417) < 0.08
    kw = dict(splits=("close",), samplers=("global",))
    before = evaluate(untrained, data, config, **kw)["close/global"]["acc"]
    after = evaluate(trained, data, config, **kw)["close/global"]
    assert after["acc"] >= 0.45 and after["acc"] > before  # chance is 0.2
    assert 0 < after["ci95"] < 0.1
