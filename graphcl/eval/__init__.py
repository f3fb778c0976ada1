"""Evaluation shared by all graphcl methods.

* :func:`linear_probe`: HeCo/DMGI linear-probe node classification (Macro-F1,
  Micro-F1, AUC over 50 probes), with the probes trained as one batched model.
* :func:`kmeans_nmi_ari`: K-means on embeddings scored by NMI/ARI (HeCo clustering).
* :func:`cluster_acc`, :func:`clustering_metrics`: Hungarian-matched ACC plus NMI,
  ARI, F1 of cluster assignments (SDCN/SCGC).
* :func:`batched_f1_scores`: Macro/Micro-F1 of many predictions at once
  (sklearn's definitions, from confusion counts).
* :func:`ranks`, :func:`hits_at_k`, :func:`per_class_top1`: zero-shot ranking by
  predicted class vectors (DGP's hit@k, ties counted against; ``zero_shot``).
* :func:`ranking_metrics`, :func:`target_ranks`: Recall/NDCG/MRR@K of a
  recommender, ties broken by candidate order (``ranking``).

All metrics are fractions (not percentages); ``summary()`` methods return
``{metric: {"mean": ..., "std": ...}}`` with the population std (ddof=0).
"""
from graphcl.eval.clustering import (CLUSTER_METRICS, KMeansResult, cluster_acc,
                                     clustering_metrics, kmeans_nmi_ari, summarize_runs)
from graphcl.eval.f1 import batched_f1_scores
from graphcl.eval.linear_probe import PROBE_METRICS, ProbeResult, linear_probe
from graphcl.eval.ranking import RANKING_METRICS, candidate_ranks, ranking_metrics, target_ranks
from graphcl.eval.zero_shot import HIT_KS, hits_at_k, per_class_top1, ranks

__all__ = [
    "linear_probe", "ProbeResult", "batched_f1_scores", "PROBE_METRICS",
    "kmeans_nmi_ari", "KMeansResult", "cluster_acc", "clustering_metrics",
    "summarize_runs", "CLUSTER_METRICS",
    "ranks", "hits_at_k", "per_class_top1", "HIT_KS",
    "ranking_metrics", "candidate_ranks", "target_ranks", "RANKING_METRICS",
]
