"""HierarchicalFewShot on a small synthetic hierarchy (root -> 4 groups -> 6
leaves): trained on 4 leaves per group, it classifies the 2 unseen leaves of
each group from one example per class; and its argument errors."""
import numpy as np
import pytest
import torch

from gpn_support import synthetic_hierarchy
from graphcl.methods.gpn import HierarchicalFewShot

SMALL = dict(hidden_channels=(32,), embedding_channels=32, attention_channels=16,
             iterations_per_epoch=20, many_shot_batch=32)


def split():
    parents, instances = synthetic_hierarchy(noise=1.2)
    seen = {c: v for c, v in instances.items() if int(c[-1]) < 4}
    unseen = {c: v for c, v in instances.items() if int(c[-1]) >= 4}
    return parents, seen, unseen


def accuracy(model, unseen, episodes=30, seed=0):
    rng = np.random.default_rng(seed)
    hits = []
    for _ in range(episodes):
        classes = rng.choice(sorted(unseen), 5, replace=False)
        support = {c: unseen[c][:1] for c in classes}
        queries = np.concatenate([unseen[c][1:] for c in classes])
        truth = np.repeat(classes, len(unseen[classes[0]]) - 1)
        hits.append(np.mean(np.array(model.predict(support, queries)) == truth))
    return float(np.mean(hits))


@pytest.mark.parametrize("kind", ["gpn", "protonet"])
def test_classifies_unseen_classes(kind):
    torch.set_num_threads(1)
    parents, seen, unseen = split()
    model = HierarchicalFewShot(parents, seen, model=kind, shots=1, episodes=120, **SMALL).fit()
    acc = accuracy(model, unseen)
    assert acc > 0.6  # chance 0.2; measured 0.8-1.0 with this noise
    protos = model.prototypes({"g0l4": unseen["g0l4"][:1]})
    assert protos["g0l4"].shape == (32,)


def test_argument_errors():
    parents, seen, unseen = split()
    with pytest.raises(ValueError, match="cycle"):
        HierarchicalFewShot({**parents, "root": ["g0l0"]}, seen)
    few = {**seen, "g0l0": seen["g0l0"][:1]}
    with pytest.raises(ValueError, match="'g0l0' has 1 instances, fewer than shots"):
        HierarchicalFewShot(parents, few, shots=1)
    with pytest.raises(ValueError, match="ways=20"):
        HierarchicalFewShot(parents, seen, ways=20)
    with pytest.raises(ValueError, match="not in the hierarchy"):
        HierarchicalFewShot(parents, {**seen, "zebra": seen["g0l0"]})
    with pytest.raises(ValueError, match=r"instances\['g0l1'\]"):
        HierarchicalFewShot(parents, {**seen, "g0l1": seen["g0l1"][:, :3]})
    model = HierarchicalFewShot(parents, seen, episodes=2, **SMALL)
    with pytest.raises(RuntimeError, match="fit"):
        model.predict({"g0l4": unseen["g0l4"][:1]}, unseen["g0l4"])
    model.fit()
    with pytest.raises(KeyError, match="support"):
        model.predict({"nowhere": unseen["g0l4"][:1]}, unseen["g0l4"])
    with pytest.raises(ValueError, match="queries"):
        model.predict({"g0l4": unseen["g0l4"][:1]}, unseen["g0l4"][:, :4])
