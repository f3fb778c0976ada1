"""LVM-Med and its baselines on PneumoniaMNIST: one config for every model.

Defaults follow the paper (../shared/reference/lvmmed_evidence.md 1.1) where it
applies at this scale: graphs of 16 nodes, k = 5, alpha = 0.8, lambda = 80,
Gumbel(0, 1) noise, 128-d projections, Adam lr 2e-3. One departure: no
message passing (``gcn_layers = 0``; the paper's 2 GCN layers of 128 are
``gcn_layers=2``), chosen on the training loss (see ``gcn_layers`` below).
What else differs (28 px X-rays, a small CNN, a CPU budget of epochs) is
listed in benchmarks/lvmmed/README.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from graphcl.experiment.config import ExperimentConfig
from graphcl.nn.matching.graph_matching_loss import CONVS

MODELS = ("lvmmed", "simclr", "vicreg", "first-order", "random")
ENCODERS = ("cnn", "resnet18")
#: Display names of the models in tables.
MODEL_TITLES = {"lvmmed": "LVM-Med (second order)", "first-order": "first order (LAP)",
                "simclr": "SimCLR", "vicreg": "VICReg", "random": "random encoder"}


@dataclass(frozen=True)
class LVMMedConfig(ExperimentConfig):
    """Everything one pretraining + linear-probe run needs besides the data and seed.

    ``model``: ``'lvmmed'`` (second-order graph matching), ``'first-order'``
    (linear assignment on the vertex affinities, same IMLE gradient),
    ``'simclr'`` (NT-Xent), ``'vicreg'`` or ``'random'`` (no pretraining).
    The probe is scikit-learn's logistic regression on standardised frozen
    encoder features (before the projector).
    """
    model: str = "lvmmed"
    encoder: str = "cnn"
    epochs: int = 10
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 0.0
    cnn_widths: Tuple[int, int, int] = (16, 32, 64)
    projector_hidden: int = 512
    projection_dim: int = 128
    nodes_per_graph: int = 16
    knn_k: int = 5
    gcn_hidden: int = 128
    # Message-passing layers of the matching loss. The paper's 2 GCN layers
    # average each node with its 5 kNN neighbours twice on 16-node graphs
    # (2 hops reach 66 % of a graph, a node keeps 12 % of its own features), so
    # the two views' nodes become alike and the training loss stays at chance
    # (29.4 -> 29.4 in 60 steps; 1 layer: clean loss 29.4 -> 27.1). With none
    # (the paper's "w/o message passing", Table 6) it falls: clean 26.3 -> 15.0
    # in 80 steps. Chosen on the training loss (benchmarks/lvmmed/diagnose.py,
    # log in benchmarks/lvmmed/README.md); 2 is the paper's value.
    gcn_layers: int = 0
    alpha: float = 0.8
    lam: float = 80.0
    noise_scale: float = 1.0
    solver_iterations: int = 30
    gnn: str = "gcn"                 # message passing of the matching loss: gcn | graphconv
    tau: float = 0.5                 # SimCLR temperature
    vicreg_weights: Tuple[float, float, float] = (25.0, 25.0, 1.0)
    probe_c: float = 1.0             # inverse L2 strength of the logistic regression
    probe_max_iter: int = 1000
    max_train_images: Optional[int] = None   # pretrain on a subset (fast tests / notebook)

    def __post_init__(self):
        self._check_choice("model", MODELS)
        self._check_choice("encoder", ENCODERS)
        self._check_choice("gnn", CONVS)
        self._check_choice("gcn_layers", (0, 1, 2))
        for name in ("epochs", "batch_size", "nodes_per_graph", "knn_k", "gcn_hidden",
                     "projection_dim", "projector_hidden", "solver_iterations", "probe_max_iter"):
            self._check_positive_int(name)
        if self.knn_k >= self.nodes_per_graph:
            raise ValueError(f"knn_k must be smaller than nodes_per_graph = "
                             f"{self.nodes_per_graph}, got {self.knn_k}")
        if self.model in ("lvmmed", "first-order") and self.batch_size < self.nodes_per_graph:
            raise ValueError(f"batch_size {self.batch_size} holds no graph of nodes_per_graph = "
                             f"{self.nodes_per_graph} nodes")
        if self.max_train_images is not None:
            self._check_positive_int("max_train_images")

    @property
    def title(self) -> str:
        return MODEL_TITLES[self.model]
