"""Tests for graphcl.eval.f1: the vectorised F1 from confusion counts against sklearn."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

from eval_support import one_thread  # noqa: F401 (autouse fixture)
from graphcl.eval import batched_f1_scores
from graphcl.eval.f1 import class_counts, sklearn_macro_from_counts


# ---------------------------------------------------------------------------
# vectorised F1
# ---------------------------------------------------------------------------

def test_batched_f1_with_large_sparse_ids_matches_sklearn():
    rng = np.random.default_rng(0)
    ids = np.array([3, 10**6, 2 * 10**9])
    y_true = ids[rng.integers(0, 3, 50)]
    y_pred = ids[rng.integers(0, 3, (4, 50))]
    macro, micro = batched_f1_scores(y_true, y_pred)
    for i in range(4):
        assert abs(float(macro[i]) - f1_score(y_true, y_pred[i], average="macro")) <= 1e-12
        assert abs(float(micro[i]) - f1_score(y_true, y_pred[i], average="micro")) <= 1e-12


@settings(max_examples=150, deadline=None)
@given(data=st.data(), c=st.integers(1, 12), n=st.integers(1, 40), b=st.integers(1, 4))
def test_batched_f1_matches_sklearn(data, c, n, b):
    # labels drawn from a random subset of classes, so some classes are missing
    # from y_true, from y_pred or from both
    allowed_t = data.draw(st.lists(st.integers(0, c - 1), min_size=1, max_size=c, unique=True))
    allowed_p = data.draw(st.lists(st.integers(0, c - 1), min_size=1, max_size=c, unique=True))
    y_true = np.array(data.draw(st.lists(st.sampled_from(allowed_t), min_size=n, max_size=n)))
    y_pred = np.array([data.draw(st.lists(st.sampled_from(allowed_p), min_size=n, max_size=n))
                       for _ in range(b)])
    macro, micro = batched_f1_scores(y_true, y_pred, num_classes=c)
    tp, pc = class_counts(torch.as_tensor(y_pred), torch.as_tensor(y_true), c)
    true = np.bincount(y_true, minlength=c)
    for i in range(b):
        ref_ma = f1_score(y_true, y_pred[i], average="macro")
        ref_mi = f1_score(y_true, y_pred[i], average="micro")
        assert abs(float(macro[i]) - ref_ma) <= 1e-12
        assert abs(float(micro[i]) - ref_mi) <= 1e-12
        # the tie-breaking replica is bit-identical to sklearn
        assert sklearn_macro_from_counts(tp[i].numpy(), pc[i].numpy(), true) == ref_ma


def test_batched_f1_shapes_and_errors():
    ma, mi = batched_f1_scores([0, 1, 1], [0, 1, 0])
    assert ma.dim() == 0 and float(mi) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        batched_f1_scores([0, 1], [[0, 1, 1]])
    with pytest.raises(ValueError, match="num_classes"):
        batched_f1_scores([0, 3], [0, 1], num_classes=3)
