"""Training and evaluation of HeCo: full-batch training with early stopping on
the loss (restoring the best checkpoint), then the reference's evaluation
protocol on the meta-path embeddings."""
from __future__ import annotations

import copy
import random
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from graphcl.graph import SparseGraph
from graphcl.methods.heco.config import HeCoConfig
from graphcl.methods.heco.model import HeCo

LABEL_RATES = (20, 40, 60)

# Above this fill fraction the positives are passed to the loss as a dense
# mask: the loss then reads the mask tile by tile next to its GEMM, instead of
# gathering 2 x 64 floats per positive pair. DBLP's mask is 25% full (4.0M
# pairs) and its epoch takes half the time dense; ACM (0.12%) and AMiner
# (0.16%) stay sparse. The dense float32 mask costs 4 N^2 bytes (66 MB on DBLP).
DENSE_POSITIVES_MIN_FILL = 0.02


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch (the reference seeds all of them) and
    return a generator for graphcl's own sampling."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@dataclass
class HeCoInputs:
    """Tensors a HeCo model consumes, prepared once from the HeteroData."""
    features: List[Optional[Tensor]]
    num_nodes: List[int]
    metapaths: List[SparseGraph]
    neighbors: List[SparseGraph]
    positives: Tensor
    labels: Tensor
    splits: Dict[int, Dict[str, Tensor]]
    metapath_names: List[str]
    node_types: List[str]

    @property
    def in_channels(self) -> List[Optional[int]]:
        return [None if x is None else x.size(1) for x in self.features]


def _row_normalize(x: Tensor) -> Tensor:
    """Rows sum to 1; rows summing to 0 stay 0 (the reference's
    preprocess_features)."""
    total = x.sum(1, keepdim=True)
    return x / torch.where(total == 0, torch.ones_like(total), total)


def prepare_inputs(data) -> HeCoInputs:
    """Turn a HeCo HeteroData (graphcl.datasets.load_heco) into model inputs:
    row-normalised features, metapath and neighbour SparseGraphs, and the
    positives as an N x N mask (sparse, or dense when at least
    ``DENSE_POSITIVES_MIN_FILL`` of it is filled)."""
    target = data.target_type
    node_types = [target] + list(data.schema_types)
    features, num_nodes = [], []
    for t in node_types:
        store = data[t]
        num_nodes.append(int(store.num_nodes))
        x = getattr(store, "x", None)
        if x is not None and x.is_sparse:
            x = x.to_dense()
        features.append(None if x is None else _row_normalize(x.float()))
    n = num_nodes[0]
    metapaths = [SparseGraph.from_edge_index(data[target, name, target].edge_index, num_nodes=n)
                 for name in data.metapaths]
    neighbors = [SparseGraph.from_edge_index(data[t, "schema", target].edge_index,
                                             num_src_nodes=data[t].num_nodes, num_dst_nodes=n)
                 for t in data.schema_types]
    pi = data[target].positive_index
    positives = torch.sparse_coo_tensor(pi, torch.ones(pi.size(1)), (n, n),
                                        check_invariants=False).coalesce()
    if positives._nnz() >= DENSE_POSITIVES_MIN_FILL * n * n:
        positives = positives.to_dense()
    splits = {rate: {part: getattr(data[target], f"{part}_idx_{rate}")
                     for part in ("train", "val", "test")} for rate in LABEL_RATES}
    return HeCoInputs(features, num_nodes, metapaths, neighbors, positives, data[target].y.long(),
                      splits, list(data.metapaths), node_types)


@dataclass
class TrainResult:
    model: HeCo
    embeddings: Tensor
    losses: List[float]
    best_epoch: int
    epochs_run: int
    train_seconds: float
    seed: int


def train(inputs: HeCoInputs, config: HeCoConfig, *, seed: Optional[int] = None,
          max_epochs: Optional[int] = None, progress: bool = True) -> TrainResult:
    """Train HeCo as the reference does: each epoch computes the loss; a loss
    below the best so far saves the weights (before this epoch's step) and
    resets the wait counter; ``patience`` epochs without improvement stop
    training without applying that epoch's step. The best checkpoint is
    restored and its meta-path embeddings returned."""
    seed = config.seed if seed is None else seed
    generator = seed_everything(seed)
    model = HeCo.from_config(inputs.in_channels, inputs.num_nodes, len(inputs.metapaths), config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    max_epochs = config.max_epochs if max_epochs is None else max_epochs
    best_loss, best_state, best_epoch, wait = float("inf"), None, 0, 0
    losses: List[float] = []
    start = time.perf_counter()
    bar = tqdm(range(max_epochs), desc=f"HeCo {config.dataset} seed {seed}", disable=not progress,
               leave=False)
    epoch = -1
    for epoch in bar:
        model.train()
        optimizer.zero_grad()
        loss = model.loss(inputs.features, inputs.metapaths, inputs.neighbors, inputs.positives,
                          generator)
        value = loss.item()
        if not np.isfinite(value):
            raise FloatingPointError(f"HeCo loss became {value} at epoch {epoch}")
        losses.append(value)
        if value < best_loss:
            best_loss, best_epoch, wait = value, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            wait += 1
        bar.set_postfix(loss=f"{value:.4f}", best=f"{best_loss:.4f}", wait=wait)
        if wait == config.patience:
            break
        loss.backward()
        optimizer.step()
    bar.close()
    train_seconds = time.perf_counter() - start
    if best_state is not None:
        model.load_state_dict(best_state)
    embeddings = model.embed(inputs.features, inputs.metapaths)
    return TrainResult(model, embeddings, losses, best_epoch, epoch + 1, train_seconds, seed)


def evaluate(embeddings: Tensor, inputs: HeCoInputs, config: HeCoConfig, *, seed: int = 0,
             repeats: int = 50, iterations: int = 200, kmeans_seeds=range(10)) -> Dict:
    """The reference protocol: per label rate, 50 linear probes x 200 Adam
    iterations, test metric at the best validation iteration (Macro-F1,
    Micro-F1, one-vs-rest AUC); plus KMeans NMI/ARI averaged over 10 seeds."""
    from graphcl.eval import kmeans_nmi_ari, linear_probe
    metrics: Dict = {}
    for rate, split in inputs.splits.items():
        result = linear_probe(embeddings, inputs.labels, split["train"], split["val"], split["test"],
                              lr=config.probe_lr, weight_decay=config.probe_weight_decay,
                              repeats=repeats, iterations=iterations, seed=seed)
        metrics[str(rate)] = result.summary()
    n_clusters = int(inputs.labels.max()) + 1
    metrics["clustering"] = kmeans_nmi_ari(embeddings, inputs.labels, n_clusters,
                                           seeds=kmeans_seeds).summary()
    return metrics
