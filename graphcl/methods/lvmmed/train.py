"""One seeded run: self-supervised pretraining on the PneumoniaMNIST train
images, then a logistic-regression probe of the frozen features."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Union

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from graphcl.io import atomic_writer
from graphcl.methods.lvmmed.config import LVMMedConfig
from graphcl.methods.lvmmed.model import ImageEncoder, SelfSupervisedModel
from graphcl.nn.vision import RandomViews

PROTOCOL = ("pretrain on the 4,690 distinct PneumoniaMNIST train images (union of both files, no "
            "labels); freeze the encoder; features before the projector, standardised on train; "
            "scikit-learn LogisticRegression (lbfgs, L2, C=config.probe_c) fit on the train labels; "
            "accuracy and ROC-AUC on the Kaggle-derived val (524) and test (624) splits; no "
            "choice is made on val or test")


@dataclass
class LVMMedRun:
    """Result of :func:`train_lvmmed` (metrics as fractions)."""
    metrics: Dict[str, Dict[str, float]]
    encoder: ImageEncoder
    loss_history: List[float] = field(default_factory=list)
    epochs: int = 0
    train_seconds: float = 0.0
    eval_seconds: float = 0.0


def pretrain(model: SelfSupervisedModel, images: torch.Tensor, config: LVMMedConfig, seed: int,
             progress: bool = False) -> List[float]:
    """Train ``model`` for ``config.epochs`` epochs; returns the mean loss per epoch.

    One ``torch.Generator`` seeded with ``seed`` drives the shuffling, both
    views and the Gumbel noise. Batches are full (``drop_last``): every batch
    splits into whole graphs of ``nodes_per_graph`` when ``batch_size`` is a
    multiple of it (otherwise the graph loss drops the remainder rows of each
    batch, as the reference code does).
    """
    if len(images) < config.batch_size:
        raise ValueError(f"{len(images)} pretraining images are fewer than one batch of "
                         f"batch_size = {config.batch_size}")
    generator = torch.Generator().manual_seed(seed)
    views = RandomViews()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr,
                                 weight_decay=config.weight_decay)
    history = []
    steps = len(images) // config.batch_size
    bar = tqdm(range(config.epochs), desc=f"{config.model} pretraining", disable=not progress)
    model.train()
    for _ in bar:
        order = torch.randperm(len(images), generator=generator)
        total = 0.0
        for step in range(steps):
            batch = images[order[step * config.batch_size:(step + 1) * config.batch_size]]
            loss = model.loss(views(batch, generator), views(batch, generator), generator)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
        history.append(total / steps)
        bar.set_postfix(loss=f"{history[-1]:.4f}")
    return history


def probe(encoder: ImageEncoder, data, config: LVMMedConfig) -> Dict[str, Dict[str, float]]:
    """Logistic regression on frozen features: ``{'val': {acc, auc}, 'test': {acc, auc}}``."""
    features = {split: encoder.embed(data.split(split)[0]).double().numpy()
                for split in ("train", "val", "test")}
    scaler = StandardScaler().fit(features["train"])
    classifier = LogisticRegression(C=config.probe_c, max_iter=config.probe_max_iter)
    classifier.fit(scaler.transform(features["train"]), data.train_labels.numpy())
    metrics = {}
    for split in ("val", "test"):
        x = scaler.transform(features[split])
        y = data.split(split)[1].numpy()
        metrics[split] = {"acc": float(accuracy_score(y, classifier.predict(x))),
                          "auc": float(roc_auc_score(y, classifier.predict_proba(x)[:, 1]))}
    return metrics


def train_lvmmed(data, config: LVMMedConfig, *, seed: int, progress: bool = False,
                 encoder_path: Optional[Union[str, Path]] = None) -> LVMMedRun:
    """Pretrain ``config.model`` with ``seed`` on ``data.train_images`` (a
    :class:`~graphcl.datasets.PneumoniaMNIST`), probe, and optionally save the
    encoder to ``encoder_path`` (see :func:`~graphcl.methods.lvmmed.load_encoder`)."""
    torch.manual_seed(seed)   # the initial weights
    model = SelfSupervisedModel(config)
    images = data.train_images
    if config.max_train_images is not None:
        subset = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
        images = images[subset[:config.max_train_images]]
    tic = time.perf_counter()
    history = [] if config.model == "random" else pretrain(model, images, config, seed, progress)
    train_seconds = time.perf_counter() - tic
    tic = time.perf_counter()
    metrics = probe(model.encoder, data, config)
    eval_seconds = time.perf_counter() - tic
    if encoder_path is not None:
        save_encoder(model.encoder, encoder_path, config, seed)
    epochs = 0 if config.model == "random" else config.epochs
    return LVMMedRun(metrics, model.encoder, history, epochs, train_seconds, eval_seconds)


def save_encoder(encoder: ImageEncoder, path: Union[str, Path], config: LVMMedConfig,
                 seed: int) -> Path:
    """Write the encoder's weights and architecture atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path) as f:
        torch.save({"format": "graphcl.lvmmed.encoder/1", "encoder": encoder.name,
                    "cnn_widths": list(encoder.cnn_widths), "seed": int(seed),
                    "config": config.to_json(),
                    "state_dict": {k: v.cpu() for k, v in encoder.state_dict().items()}}, f)
    return path


def load_encoder(path: Union[str, Path], map_location: Union[str, torch.device] = "cpu") -> ImageEncoder:
    """The encoder saved by ``graphcl train lvmmed`` (``<out>.seed<k>.encoder.pt``),
    in eval mode: ``load_encoder(p)(images)`` embeds any ``[B, 28, 28]`` uint8 or
    ``[B, 1, 28, 28]`` float batch of grey images (``.embed`` for large sets)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"encoder file {path} does not exist")
    state = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(state, dict) or state.get("format") != "graphcl.lvmmed.encoder/1":
        raise ValueError(f"{path} is not an encoder saved by graphcl.methods.lvmmed")
    encoder = ImageEncoder(state["encoder"], tuple(state["cnn_widths"]))
    encoder.load_state_dict(state["state_dict"])
    return encoder.eval()
