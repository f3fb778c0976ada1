"""Pictures of results: training curves and a metrics chart from a results
file, and a 2-D projection of embeddings coloured by class."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


def plot_results(results: Dict[str, Any], path) -> Path:
    """One PNG: every per-epoch curve in ``per_seed[*].history`` (one line per
    seed), and a bar chart of every metric's mean±std over seeds beside the
    paper's number where the method publishes one.

    Args:
        results (dict): a results dictionary (:mod:`graphcl.experiment.results`).
        path (str or Path): the PNG to write.
    """
    plt = _pyplot()
    curves = sorted({name for s in results["per_seed"] for name in s.get("history", {})})
    groups = list(results["metrics"])
    fig, axes = plt.subplots(1, len(curves) + 1, figsize=(5 * (len(curves) + 1), 4), squeeze=False)
    for ax, name in zip(axes[0], curves):
        for seed in results["per_seed"]:
            values = seed.get("history", {}).get(name)
            if values:
                ax.plot(np.arange(len(values)), values, label=f"seed {seed['seed']}", lw=1)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(f"{name} per epoch")
        if len(results["per_seed"]) <= 10:
            ax.legend(fontsize=7)
    ax = axes[0][-1]
    from graphcl.experiment.tables import paper_results
    paper = paper_results(results)
    labels, means, stds, refs = [], [], [], []
    for group in groups:
        for metric, value in results["metrics"][group].items():
            labels.append(f"{group}\n{metric}")
            means.append(100 * value["mean"])
            stds.append(100 * value["std"])
            ref = paper.get(group, {}).get(metric)
            refs.append(np.nan if ref is None else ref[0])
    x = np.arange(len(labels))
    ax.bar(x - 0.2, means, 0.4, yerr=stds, label="ours (mean±std)", capsize=2)
    if not np.all(np.isnan(refs)):
        ax.bar(x + 0.2, refs, 0.4, label="paper")
    ax.set_xticks(x, labels, fontsize=7, rotation=90 if len(labels) > 8 else 0)
    ax.set_ylabel("%")
    ax.set_title(f"{results['method']} on {results['dataset']} ({len(results['seeds'])} seeds)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = _save(fig, path)
    plt.close(fig)
    return path


def plot_embedding_projection(embeddings, labels: Optional[Sequence[int]], path,
                              title: str = "", method: str = "pca", seed: int = 0) -> Path:
    """A 2-D projection of ``embeddings`` (PCA, or t-SNE with ``method='tsne'``)
    coloured by ``labels``.

    Shapes:
        - embeddings: ``[N, D]`` (tensor or array), labels: ``[N]``
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    plt = _pyplot()
    z = np.asarray(embeddings.detach().cpu() if hasattr(embeddings, "detach") else embeddings,
                   dtype=np.float64)
    if z.ndim != 2 or z.shape[0] < 2:
        raise ValueError(f"embeddings must be [N >= 2, D], got shape {z.shape}")
    if method == "pca":
        xy = PCA(n_components=2, random_state=seed).fit_transform(z)
    elif method == "tsne":
        xy = TSNE(n_components=2, random_state=seed, init="pca").fit_transform(z)
    else:
        raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}")
    fig, ax = plt.subplots(figsize=(5, 5))
    colours = None if labels is None else np.asarray(
        labels.cpu() if hasattr(labels, "cpu") else labels)
    scatter = ax.scatter(xy[:, 0], xy[:, 1], c=colours, s=3, cmap="tab10")
    if colours is not None:
        ax.legend(*scatter.legend_elements(), fontsize=7, title="class")
    ax.set_title(title or f"{method.upper()} of the embeddings")
    ax.set_xticks([])
    ax.set_yticks([])
    path = _save(fig, path)
    plt.close(fig)
    return path
