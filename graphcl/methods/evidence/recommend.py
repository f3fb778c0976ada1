"""The clinician's entry point: rank the trials for a free-text problem.

``recommend("post operative nausea and vomiting", k=10)`` trains the
multi-channel model once (or loads one saved by :func:`save_recommender`) and
scores the problem through the text channel, so the problem need not be one
of the task's problems.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Union

import torch

from graphcl.methods.evidence.config import GNN_MODELS, EvidenceConfig


@dataclass(frozen=True)
class Recommendation:
    """One ranked trial."""
    rank: int
    pmcid: str
    title: str
    score: float


def _check_query(problem_text, k, num_articles: Optional[int] = None) -> str:
    if not isinstance(problem_text, str):
        raise TypeError(f"problem_text must be a str, got {type(problem_text).__name__}")
    if not problem_text.strip():
        raise ValueError("problem_text is empty: give the clinical problem to find evidence for")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    if num_articles is not None and k > num_articles:
        raise ValueError(f"k = {k} is larger than the catalogue ({num_articles} articles)")
    return problem_text


class Recommender:
    """A trained GNN model with its inputs, scoring new problem texts."""

    def __init__(self, inputs, config: EvidenceConfig, model: torch.nn.Module):
        if config.model not in GNN_MODELS or config.model == "coref":
            raise ValueError(f"a recommender for free text needs the text channel: model must "
                             f"be one of multichannel, concat, text, got {config.model!r}")
        self.inputs, self.config, self.model = inputs, config, model.eval()

    @classmethod
    def train(cls, config: Optional[EvidenceConfig] = None, root=None, seed: int = 0,
              progress: bool = False, inputs=None) -> "Recommender":
        from graphcl.methods.evidence.train import cached_inputs
        from graphcl.methods.evidence.train import train
        config = config or EvidenceConfig()
        if inputs is None:
            inputs = cached_inputs(config, root)
        return cls(inputs, config, train(inputs, config, seed=seed, progress=progress).model)

    def scores(self, problem_texts: Sequence[str]) -> torch.Tensor:
        """``[len(problem_texts), articles]`` scores."""
        from graphcl.datasets.evidence import normalize
        from graphcl.methods.evidence.train import embed, full_scores, with_query_problems
        texts = [normalize(_check_query(t, 1)) for t in problem_texts]
        channels = with_query_problems(self.inputs, texts)
        with torch.no_grad():
            zp, ze, _, lex = embed(self.model, self.inputs, self.config, channels)
        p = self.inputs.task.num_problems
        return full_scores(zp, ze, lex)[p:]

    def recommend(self, problem_text: str, k: int = 10) -> List[Recommendation]:
        """The top-``k`` articles for a free-text problem (ties by PMCID order)."""
        task = self.inputs.task
        _check_query(problem_text, k, task.num_articles)
        scores = self.scores([problem_text])[0]
        order = torch.sort(-scores, stable=True).indices[:k]
        return [Recommendation(r + 1, task.articles[i], task.titles[i], float(scores[i]))
                for r, i in enumerate(order.tolist())]

    def save(self, path: Union[str, Path]) -> Path:
        """The config and weights (the graphs are rebuilt from the data on load)."""
        from graphcl.io import atomic_writer
        path = Path(path)
        with atomic_writer(path) as f:
            torch.save({"config": self.config.to_json(), "state_dict": self.model.state_dict()},
                       f)
        return path

    @classmethod
    def load(cls, path: Union[str, Path], root=None) -> "Recommender":
        from graphcl.methods.evidence.train import cached_inputs
        from graphcl.methods.evidence.train import build_model
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"model_path {path} does not exist")
        saved = torch.load(path, map_location="cpu", weights_only=True)
        config = EvidenceConfig.from_json(saved["config"])
        inputs = cached_inputs(config, root)  # built once per process
        model = build_model(inputs, config)
        model.load_state_dict(saved["state_dict"])
        return cls(inputs, config, model)


def recommend(problem_text: str, k: int = 10, model_path: Union[str, Path, None] = None,
              root=None, seed: int = 0) -> List[Recommendation]:
    """Rank the trials for a free-text clinical problem.

    Args:
        problem_text (str): the problem, e.g. ``"systolic blood pressure"``.
        k (int): how many trials (1 to 1,163).
        model_path (path, optional): a model saved with :meth:`Recommender.save`;
            loaded if it exists, else a model is trained and saved there
            (without it: trained, not saved).
        root: data root (default ``$GRAPHCL_DATA``).
        seed (int): training seed when a model is trained.
    """
    from graphcl.datasets.evidence import load_evidence
    from graphcl.methods.evidence.train import cached_inputs
    _check_query(problem_text, k)
    if model_path is not None and Path(model_path).is_file():
        recommender = Recommender.load(model_path, root)
    else:
        config = EvidenceConfig()
        task = load_evidence(root, split_seed=config.split_seed)
        _check_query(problem_text, k, task.num_articles)  # before the minutes of training
        recommender = Recommender.train(config, seed=seed, inputs=cached_inputs(config, root))
        if model_path is not None:
            recommender.save(model_path)
    return recommender.recommend(problem_text, k)
