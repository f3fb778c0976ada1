"""DGP's training configuration (cyvius96/DGP@b497ebb ``train_gcn_dense_att.py``)
and the models it is compared with."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from graphcl.experiment.config import ExperimentConfig

#: Graph models (trained) and reference rows (closed form).
GRAPH_MODELS = ("dgp", "dgpm", "sgcn", "gcnz")
REFERENCE_MODELS = ("ridge", "ridge_ax", "identity")
MODELS = GRAPH_MODELS + REFERENCE_MODELS


@dataclass(frozen=True)
class DGPConfig(ExperimentConfig):
    """Everything one zero-shot run needs besides the data and the seed.

    ``hidden`` is DGP's / SGCN's / DGPM's hidden width; GCNZ's five hidden
    layers are ``hidden, hidden, hidden/2, hidden/2, hidden/4`` (2048, 2048,
    1024, 1024, 512 at the paper size). ``eval_every > 0`` also records the
    2-hops general hit@1 every that many epochs (for curves; the reported
    metrics are always those of the final epoch, as nothing picks an epoch).
    """
    model: str = "dgp"
    epochs: int = 3000
    hidden: int = 2048
    lr: float = 1e-3
    weight_decay: float = 5e-4     # on every parameter, the attention logits included
    dropout: float = 0.5
    negative_slope: float = 0.2
    max_distance: int = 4          # DGP's lim: distances >= 4 share one group
    ridge_alpha: float = 1.0
    eval_every: int = 0
    seed: int = 0

    def __post_init__(self):
        self._check_choice("model", MODELS)
        for name in ("epochs", "hidden", "max_distance"):
            self._check_positive_int(name)
        if self.model == "gcnz" and self.hidden < 4:
            raise ValueError(f"hidden must be at least 4 for gcnz (its last layer is hidden/4), "
                             f"got {self.hidden}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.eval_every < 0:
            raise ValueError(f"eval_every must be >= 0, got {self.eval_every}")

    @property
    def method(self) -> str:
        return "dgp"

    @property
    def gcnz_hidden(self) -> Tuple[int, ...]:
        h = self.hidden
        return (h, h, h // 2, h // 2, h // 4)


def paper_config(model: str = "dgp") -> DGPConfig:
    """The paper's training setup for ``model`` (3,000 epochs, hidden 2048)."""
    return DGPConfig(model=model)
