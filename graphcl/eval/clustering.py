"""Clustering evaluation: K-means NMI/ARI on embeddings (HeCo) and Hungarian-matched
accuracy / NMI / ARI / F1 of cluster assignments (SDCN/SCGC)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score

from graphcl.eval._checks import check_assignment, check_embeddings, mean_std

CLUSTER_METRICS = ("acc", "nmi", "ari", "f1")


@dataclass(frozen=True)
class KMeansResult:
    """Per-seed K-means scores from :func:`kmeans_nmi_ari`.

    Attributes:
        seeds: [S] the K-means ``random_state`` values.
        nmi: [S] normalized mutual information (arithmetic mean normalisation).
        ari: [S] adjusted Rand index.
        predictions: [S, N] cluster assignments per seed.
    """

    seeds: np.ndarray
    nmi: np.ndarray
    ari: np.ndarray
    predictions: np.ndarray

    def summary(self) -> Dict[str, Dict[str, float]]:
        """Mean and population std (ddof=0) over the seeds.

        Returns:
            ``{"nmi": {"mean", "std"}, "ari": {"mean", "std"}}``.
        """
        return mean_std({"nmi": self.nmi, "ari": self.ari})


def kmeans_nmi_ari(embeddings, labels, n_clusters: int,
                   seeds: Iterable[int] = range(10), n_init: int = 10) -> KMeansResult:
    """K-means on embeddings, scored by NMI and ARI against the labels.

    For each seed: ``sklearn.cluster.KMeans(n_clusters, n_init=n_init,
    random_state=seed)``. HeCo's snippet is the single seed 0 (``seeds=[0]``) with
    n_init=10 (the old sklearn default; sklearn >= 1.4 defaults to 1 run, so it is
    passed explicitly). Embeddings keep float32/float64 precision.

    Args:
        embeddings: [N, d] array or tensor, finite.
        labels: [N] ground-truth classes.
        n_clusters: number of clusters (usually the number of classes).
        seeds: K-means random states, one run each.
        n_init: K-means restarts per run (best inertia kept).

    Returns:
        :class:`KMeansResult` with per-seed ``nmi``, ``ari`` and ``.summary()``.
    """
    emb = check_embeddings(embeddings)
    if not np.issubdtype(emb.dtype, np.floating):
        emb = emb.astype(np.float64)
    y = check_assignment(labels, "labels", emb.shape[0])
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)) \
            or not 1 <= n_clusters <= emb.shape[0]:
        raise ValueError(f"n_clusters must be an int in [1, {emb.shape[0]}], got {n_clusters!r}")
    seeds = np.asarray(list(seeds), dtype=np.int64)
    if seeds.ndim != 1 or seeds.size == 0:
        raise ValueError("seeds must be a non-empty sequence of ints")
    preds, nmi, ari = [], [], []
    for s in seeds:
        pred = KMeans(n_clusters=int(n_clusters), n_init=n_init, random_state=int(s)).fit_predict(emb)
        preds.append(pred)
        nmi.append(normalized_mutual_info_score(y, pred))
        ari.append(adjusted_rand_score(y, pred))
    return KMeansResult(seeds=seeds, nmi=np.asarray(nmi), ari=np.asarray(ari),
                        predictions=np.stack(preds))


def _hungarian_map(y_true: np.ndarray, y_pred: np.ndarray):
    """Best one-to-one matching of predicted clusters to classes.

    Returns (true_codes, mapped_pred, n_classes): labels re-encoded as 0..K-1 and
    each prediction replaced by its matched class code, or -1 for clusters left
    unmatched (possible when there are more clusters than classes).
    """
    classes, t = np.unique(y_true, return_inverse=True)
    clusters, p = np.unique(y_pred, return_inverse=True)
    t, p = t.reshape(-1), p.reshape(-1)
    counts = np.zeros((clusters.size, classes.size), dtype=np.int64)
    np.add.at(counts, (p, t), 1)
    # rectangular problems are fine: min(#clusters, #classes) pairs get matched
    rows, cols = linear_sum_assignment(counts, maximize=True)
    mapping = np.full(clusters.size, -1, dtype=np.int64)
    mapping[rows] = cols
    return t, mapping[p], classes.size


def cluster_acc(y_true, y_pred) -> float:
    """Clustering accuracy under the best one-to-one cluster→class matching.

    acc = max over injective matchings of (#nodes whose cluster is matched to their
    class) / N, solved with ``scipy.optimize.linear_sum_assignment``. With more
    clusters than classes the extra clusters count as errors; with fewer, the
    unmatched classes are simply never predicted. (SDCN's ``cluster_acc`` instead
    overwrites the first predictions with missing labels when clusters < classes,
    and fails when clusters > classes; that quirk is not reproduced.)

    Args:
        y_true: [N] class labels (any hashable values).
        y_pred: [N] cluster ids.

    Returns:
        accuracy in [0, 1].
    """
    yt = check_assignment(y_true, "y_true")
    yp = check_assignment(y_pred, "y_pred", yt.shape[0])
    t, mapped, _ = _hungarian_map(yt, yp)
    return float(np.mean(mapped == t))


def clustering_metrics(y_true, y_pred) -> Dict[str, float]:
    """ACC, NMI, ARI and F1 of a clustering, as in SDCN/SCGC ``evaluation.py``.

    Args:
        y_true: [N] class labels.
        y_pred: [N] cluster ids.

    Returns:
        ``{"acc", "nmi", "ari", "f1"}`` as floats in [0, 1] (ARI may be negative).
        acc: Hungarian-matched accuracy (:func:`cluster_acc`); nmi: sklearn NMI,
        arithmetic normalisation; ari: sklearn ARI; f1: macro-F1 over the true
        classes after mapping clusters to classes with the same matching (nodes in
        unmatched clusters count as misses of their class).
    """
    yt = check_assignment(y_true, "y_true")
    yp = check_assignment(y_pred, "y_pred", yt.shape[0])
    t, mapped, k = _hungarian_map(yt, yp)
    return {
        "acc": float(np.mean(mapped == t)),
        "nmi": float(normalized_mutual_info_score(yt, yp, average_method="arithmetic")),
        "ari": float(adjusted_rand_score(yt, yp)),
        # labels= restricts the average to the true classes, so the -1 used for
        # unmatched clusters is not scored as a class of its own
        "f1": float(f1_score(t, mapped, labels=np.arange(k), average="macro", zero_division=0)),
    }


def summarize_runs(runs: Sequence[Dict[str, float]]) -> Dict[str, Dict[str, float]]:
    """Mean and population std of each metric over several runs' metric dicts
    (e.g. 10 seeded runs of :func:`clustering_metrics`).

    Args:
        runs: non-empty list of ``{metric: value}`` dicts with the same keys.

    Returns:
        ``{metric: {"mean", "std"}}``.
    """
    if not runs:
        raise ValueError("runs is empty")
    keys = list(runs[0])
    for r in runs:
        if list(r) != keys:
            raise ValueError(f"all runs must have the same metrics, got {list(r)} vs {keys}")
    return mean_std({k: np.asarray([r[k] for r in runs], dtype=np.float64) for k in keys})


__all__ = ["CLUSTER_METRICS", "KMeansResult", "kmeans_nmi_ari", "cluster_acc",
           "clustering_metrics", "summarize_runs"]
