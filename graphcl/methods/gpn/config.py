"""GPN's hyperparameters (liulu112601/Gated-Propagation-Net@e762b1f,
``scripts/train_aux.sh``) with the backbone scaled to word vectors."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from graphcl.experiment.config import ExperimentConfig

MODELS = ("gpn", "protonet")
BACKBONES = ("mlp", "resnet08")

#: the paper's episode count (3,500 epochs x 100 iterations)
PAPER_EPISODES = 350_000


@dataclass(frozen=True)
class GPNConfig(ExperimentConfig):
    """Everything a GPN or ProtoNet run needs besides the data and the seed.

    ``episodes`` counts every iteration (few-shot task or many-shot batch), as
    the reference's T. Schedules given in epochs of ``iterations_per_epoch``
    (the curriculum, the memory reset, the learning-rate steps) follow it, so
    a shorter run keeps their shape: the curriculum runs over all its epochs,
    and the learning-rate decay starts after ``lr_decay_start`` of the run and
    steps every ``lr_step`` of it (the paper: epoch 200 of 3,500 and every
    10,000 of 350,000 few-shot episodes).
    """
    dataset: str = "wordnet"
    model: str = "gpn"
    ways: int = 5
    shots: int = 1
    queries: Optional[int] = None       # None: = shots (the reference)
    test_queries: Optional[int] = None  # None: = queries
    episodes: int = PAPER_EPISODES
    iterations_per_epoch: int = 100
    split_seed: int = 111
    seed: int = 0
    # backbone
    backbone: str = "mlp"
    in_channels: int = 50
    hidden_channels: Tuple[int, ...] = (128,)
    embedding_channels: int = 128
    # propagation (GPN's defaults; W_q, W_k scaled from 576 -> 128 to 128 -> 64)
    heads: int = 5
    steps: int = 2
    attention_channels: int = 64
    temperature: float = 1.0
    rounds: int = 2
    max_links: int = 5
    keep_ratio: float = 0.5
    mst: bool = True
    reset_interval: int = 3
    support_gradient: bool = False     # GPN builds prototypes under no_grad
    # optimisation
    lr: float = 1e-3
    weight_decay: float = 1e-5
    many_shot: bool = True
    many_shot_batch: int = 128
    lr_gamma: float = 0.9
    lr_decay_start: float = 200 / 3500
    lr_step: float = 10_000 / PAPER_EPISODES
    # episodes and evaluation
    local_hops: int = 5
    test_episodes: int = 600
    eval_batch: int = 100

    def __post_init__(self):
        self._check_choice("model", MODELS)
        self._check_choice("backbone", BACKBONES)
        for name in ("ways", "shots", "episodes", "iterations_per_epoch", "heads", "steps",
                     "attention_channels", "embedding_channels", "rounds", "max_links",
                     "reset_interval", "many_shot_batch", "local_hops", "test_episodes",
                     "eval_batch", "in_channels"):
            self._check_positive_int(name)
        for name in ("queries", "test_queries"):
            if getattr(self, name) is not None:
                self._check_positive_int(name)
        if self.ways < 2:
            raise ValueError(f"ways must be at least 2, got {self.ways}")

    @property
    def train_queries(self) -> int:
        return self.shots if self.queries is None else self.queries

    @property
    def eval_queries(self) -> int:
        return self.train_queries if self.test_queries is None else self.test_queries

    @property
    def epochs(self) -> int:
        return max(1, -(-self.episodes // self.iterations_per_epoch))


def paper_config(model: str = "gpn", **overrides) -> GPNConfig:
    """GPN's defaults; ProtoNet is the same with the propagation off and the
    usual gradient through the support prototypes."""
    base = GPNConfig(model=model, support_gradient=(model == "protonet"))
    return base.with_overrides(**overrides) if overrides else base
