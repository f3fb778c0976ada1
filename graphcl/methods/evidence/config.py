"""The evidence recommender's config: the model to run, the task's split seed,
the graphs' and the training's hyperparameters (graphcl's choices: the paper
publishes none)."""
from __future__ import annotations

import numbers
from dataclasses import dataclass

from graphcl.experiment.config import ExperimentConfig

#: ``--model`` choices: the multi-channel model, its ablations and the baselines.
GNN_MODELS = ("multichannel", "concat", "coref", "text")
LEARNED_MODELS = GNN_MODELS + ("lightgcn", "mf")
RETRIEVAL_MODELS = ("bm25", "tfidf", "popularity")
MODELS = LEARNED_MODELS + RETRIEVAL_MODELS
#: Which channels each GNN model encodes, and how it fuses them.
CHANNELS = {"multichannel": ("coref", "text"), "concat": ("coref", "text"),
            "coref": ("coref",), "text": ("text",)}
CONVS = ("fused", "pyg")


@dataclass(frozen=True)
class EvidenceConfig(ExperimentConfig):
    """Everything one run needs besides the data and the training seed.

    Attributes:
        model: one of :data:`MODELS`.
        split_seed: seed of the per-problem link split (0 = the reference's).
        feature_dim: rank of the TF-IDF SVD that gives every node its features.
        max_group: an element shared by more articles adds no co-reference edges.
        outcome_coref: also link two articles that share a training problem
            (off: those edges are built from the very links training scores).
        window, min_df, min_count, pmi_top_k: the text graph's PMI window, the
            articles a word must occur in, the windows a word pair must share,
            the PMI partners kept per word.
        lexical: the text channel's lexical path: ``'tfidf'`` (the TF-IDF inner
            product of two documents over the ETG's word nodes), ``'bm25'``
            (BM25 scores, each problem's row divided by its maximum) or ``'none'``.
        lexical_init: initial weight of the lexical path.
        hidden, layers, dropout: channel encoders (type projection + GCN layers).
        conv: ``'fused'`` (graphcl's FusedGCNConv) or ``'pyg'`` (PyG's GCNConv),
            the same model.
        lr, weight_decay, negatives: Adam and BPR (sampled negatives per link).
        supervised_fraction: each epoch this random part of the training
            links is scored and removed from the co-reference graph's
            messages; the rest carry messages.
        max_epochs, eval_every, patience: early stopping on validation
            Recall@20, checked every ``eval_every`` epochs; stop after
            ``patience`` checks without improvement; the best checkpoint is kept.
        lightgcn_layers: propagation layers of the LightGCN baseline.
        bm25_k1, bm25_b: BM25's term-frequency saturation and length normalisation.
    """
    model: str = "multichannel"
    split_seed: int = 0
    feature_dim: int = 128
    max_group: int = 50
    outcome_coref: bool = False
    window: int = 20
    min_df: int = 2
    min_count: int = 2
    pmi_top_k: int = 16
    lexical: str = "bm25"
    lexical_init: float = 10.0
    hidden: int = 64
    layers: int = 2
    dropout: float = 0.1
    conv: str = "fused"
    lr: float = 0.002
    weight_decay: float = 0.0
    negatives: int = 8
    supervised_fraction: float = 0.5
    max_epochs: int = 300
    eval_every: int = 5
    patience: int = 6
    lightgcn_layers: int = 3
    bm25_k1: float = 1.2
    bm25_b: float = 0.75

    def __post_init__(self):
        self._check_choice("model", MODELS)
        if self.lexical not in ("tfidf", "bm25", "none"):
            raise ValueError(f"lexical must be 'tfidf', 'bm25' or 'none', got {self.lexical!r}")
        self._check_choice("conv", CONVS)
        for name in ("feature_dim", "max_group", "window", "min_df", "min_count", "pmi_top_k", "hidden",
                     "layers", "negatives", "max_epochs", "eval_every", "patience",
                     "lightgcn_layers"):
            self._check_positive_int(name)
        if isinstance(self.split_seed, bool) or not isinstance(self.split_seed, numbers.Integral) \
                or not 0 <= self.split_seed < 2 ** 32:
            raise ValueError(f"split_seed must be an int in [0, 2**32 - 1], got {self.split_seed!r}")
        if not isinstance(self.supervised_fraction, numbers.Real) or \
                not 0 < self.supervised_fraction <= 1:
            raise ValueError(f"supervised_fraction must be in (0, 1], got "
                             f"{self.supervised_fraction!r}")
        for name, low, high in (("dropout", 0.0, 1.0), ("bm25_b", 0.0, 1.0 + 1e-12)):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not low <= value < high:
                raise ValueError(f"{name} must be in [{low}, {high:.0f}), got {value!r}")
        for name in ("lr", "bm25_k1"):
            if not isinstance(getattr(self, name), numbers.Real) or not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not isinstance(self.weight_decay, numbers.Real) or self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
