"""Tests for graphcl.eval.clustering: the clustering metrics against brute force and sklearn."""
import itertools

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score

from graphcl.eval import cluster_acc, clustering_metrics, kmeans_nmi_ari, summarize_runs


# ---------------------------------------------------------------------------
# clustering
# ---------------------------------------------------------------------------

def test_clustering_metrics_permuted_labels_are_perfect():
    y = np.array([0, 0, 1, 1, 2, 2, 2, 3])
    pred = np.array([5, 5, 9, 9, 1, 1, 1, 7])       # renamed clusters
    m = clustering_metrics(y, pred)
    assert m == {"acc": 1.0, "nmi": pytest.approx(1.0), "ari": pytest.approx(1.0), "f1": 1.0}
    assert cluster_acc(["a", "a", "b"], [1, 1, 0]) == 1.0


def _brute_acc(y, p):
    classes, clusters = np.unique(y), np.unique(p)
    cnt = np.array([[np.sum((p == a) & (y == b)) for b in classes] for a in clusters])
    kp, kt = cnt.shape
    best = 0
    if kp <= kt:
        for cols in itertools.permutations(range(kt), kp):
            best = max(best, sum(cnt[i, j] for i, j in enumerate(cols)))
    else:
        for rows in itertools.permutations(range(kp), kt):
            best = max(best, sum(cnt[i, j] for j, i in enumerate(rows)))
    return best / y.size


@pytest.mark.parametrize("kt,kp", [(3, 3), (4, 4), (3, 5), (5, 3), (2, 6), (5, 5)])
def test_cluster_acc_matches_brute_force(kt, kp):
    rng = np.random.default_rng(kt * 10 + kp)
    for _ in range(10):
        y = rng.integers(0, kt, 40)
        p = np.where(rng.random(40) < 0.5, y % kp, rng.integers(0, kp, 40)) + 100
        assert cluster_acc(y, p) == pytest.approx(_brute_acc(y, p))
        m = clustering_metrics(y, p)
        assert m["acc"] == pytest.approx(_brute_acc(y, p))
        assert m["nmi"] == pytest.approx(normalized_mutual_info_score(y, p))
        assert m["ari"] == pytest.approx(adjusted_rand_score(y, p))
        assert 0.0 <= m["f1"] <= 1.0


def test_clustering_f1_known_cases():
    y = np.array([0, 0, 0, 1, 1, 1])
    # clusters: {A: 0,0,1} -> class 0, {B: 0,1,1} -> class 1
    p = np.array([7, 7, 8, 7, 8, 8])
    m = clustering_metrics(y, p)
    assert m["acc"] == pytest.approx(4 / 6)
    assert m["f1"] == pytest.approx(f1_score(y, [0, 0, 1, 0, 1, 1], average="macro"))
    # one extra cluster: its nodes are misses of their class (never a fake class)
    p = np.array([7, 7, 9, 8, 8, 8])
    m = clustering_metrics(y, p)
    assert m["acc"] == pytest.approx(5 / 6)
    assert m["f1"] == pytest.approx(f1_score(y, [0, 0, -1, 1, 1, 1], labels=[0, 1],
                                             average="macro"))
    # fewer clusters than classes: the unmatched class has F1 0
    m = clustering_metrics([0, 0, 1, 1, 2, 2], [3, 3, 4, 4, 4, 4])
    assert m["acc"] == pytest.approx(4 / 6)
    assert m["f1"] == pytest.approx((1 + 2 * 2 / 6 + 0) / 3)


def test_clustering_errors():
    with pytest.raises(ValueError, match="y_pred"):
        cluster_acc([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="y_true"):
        clustering_metrics([0.0, np.nan], [0, 1])
    with pytest.raises(ValueError, match="y_true"):
        cluster_acc(np.zeros((2, 2)), [0, 1])
    with pytest.raises(ValueError, match="y_true"):
        cluster_acc([], [])
    with pytest.raises(ValueError):
        summarize_runs([])


def test_kmeans_nmi_ari():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 30)
    emb = rng.normal(size=(3, 5))[y] * 20 + rng.normal(size=(90, 5))
    res = kmeans_nmi_ari(torch.tensor(emb, dtype=torch.float32), y, 3, seeds=range(3))
    assert res.nmi.shape == (3,) and res.predictions.shape == (3, 90)
    np.testing.assert_allclose(res.nmi, 1.0)
    np.testing.assert_allclose(res.ari, 1.0)
    assert set(res.summary()) == {"nmi", "ari"}
    # a noisy case against sklearn directly (HeCo's snippet is seed 0)
    noisy = rng.normal(size=(90, 4))
    one = kmeans_nmi_ari(noisy, y, 3, seeds=[0])
    pred = KMeans(3, n_init=10, random_state=0).fit_predict(noisy)
    assert one.nmi[0] == pytest.approx(normalized_mutual_info_score(y, pred))
    assert one.ari[0] == pytest.approx(adjusted_rand_score(y, pred))
    s = kmeans_nmi_ari(noisy, y, 3, seeds=[0, 1]).summary()
    assert s["nmi"]["std"] >= 0


def test_kmeans_errors():
    emb = np.random.default_rng(0).normal(size=(10, 3))
    bad = emb.copy()
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match="embeddings"):
        kmeans_nmi_ari(bad, np.zeros(10), 2)
    with pytest.raises(ValueError, match="labels"):
        kmeans_nmi_ari(emb, np.zeros(9), 2)
    with pytest.raises(ValueError, match="n_clusters"):
        kmeans_nmi_ari(emb, np.zeros(10), 0)
    with pytest.raises(ValueError, match="seeds"):
        kmeans_nmi_ari(emb, np.zeros(10), 2, seeds=[])


def test_summarize_runs():
    s = summarize_runs([{"acc": 0.5, "nmi": 0.1}, {"acc": 0.7, "nmi": 0.3}])
    assert s["acc"]["mean"] == pytest.approx(0.6) and s["acc"]["std"] == pytest.approx(0.1)
