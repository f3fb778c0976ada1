"""Training, reference rows and evaluation of DGP and its baselines on a
zero-shot task: predict a class vector for every node of a class graph from the
known vectors of some of its nodes.

The loss is DGP's: ``((pred[known] - target) ** 2).sum() / (2 * n_known)``,
Adam (lr 1e-3, weight decay 5e-4 on every parameter), full batch, a fixed
number of epochs, the final model's predictions kept (nothing picks an epoch).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from graphcl import ops
from graphcl.eval import hits_at_k, per_class_top1, ranks
from graphcl.graph import SparseGraph
from graphcl.graph.hierarchy import ancestor_distance_groups
from graphcl.methods.dgp.config import DGPConfig, GRAPH_MODELS
from graphcl.methods.dgp.model import DGP, GCNRegressor

#: Metric groups of the offline protocol: (test set, with the train classes as candidates).
EVAL_GROUPS = {"2-hops/general": ("2-hops", False), "2-hops/plus1k": ("2-hops", True),
               "3-hops/general": ("3-hops", False), "3-hops/plus1k": ("3-hops", True),
               "all/general": ("all", False)}


@dataclass
class ZeroShotTask:
    """A class graph, node inputs and the known class vectors.

    Attributes:
        x: ``[N, D]`` node inputs, rows L2-normalised (zero rows stay zero).
        hierarchy: ``[2, E]`` child → parent edges.
        known: ``[K]`` nodes whose class vector is known (the train classes).
        targets: ``[K, C]`` their class vectors.
        gcnz: optional GCNZ graph ``(edge_index, node)``: an undirected
            ``edge_index`` over its own nodes and, for each of them, its row in
            ``x`` (``-1`` for a node outside this graph, whose input is zero).
    """
    x: Tensor
    hierarchy: Tensor
    known: Tensor
    targets: Tensor
    gcnz: Optional[Tuple[Tensor, Tensor]] = None
    _graphs: Dict[str, object] = field(default_factory=dict, repr=False)

    @property
    def num_nodes(self) -> int:
        return self.x.size(0)

    def graph(self, name: str):
        """The graphs a model runs on, built once: ``dgp`` (stacked distance
        groups per phase), ``dgpm`` (merged), ``sym`` (the symmetric induced
        graph), ``gcnz``."""
        if name not in self._graphs:
            self._graphs[name] = self._build(name)
        return self._graphs[name]

    def _build(self, name: str):
        if name in ("dgp", "dgpm"):
            groups = self.graph("groups")
            if name == "dgp":
                return groups.stacked("descendants"), groups.stacked("ancestors")
            return (groups.merged("descendants"), None), (groups.merged("ancestors"), None)
        if name == "groups":
            return ancestor_distance_groups(self.hierarchy, self.num_nodes)
        if name == "sym":
            both = torch.cat([self.hierarchy, self.hierarchy.flip(0)], 1)
            return SparseGraph.from_edge_index(both, num_nodes=self.num_nodes)
        if name == "gcnz":
            if self.gcnz is None:
                raise ValueError("model 'gcnz' needs the task's GCNZ graph (task.gcnz)")
            edge_index, node = self.gcnz
            return SparseGraph.from_edge_index(edge_index, num_nodes=node.numel())
        raise ValueError(f"unknown graph {name!r}")


def task_from_protocol(data, protocol, gcnz_graph=None) -> ZeroShotTask:
    """The :class:`ZeroShotTask` of DGP's data and the gloss protocol.

    Args:
        data: :func:`graphcl.datasets.dgp.load_dgp`.
        protocol: :func:`graphcl.datasets.dgp.build_gloss_protocol`.
        gcnz_graph: optional :func:`graphcl.datasets.dgp.load_gcnz_graph`.
    """
    gcnz = None
    if gcnz_graph is not None:
        wnids, edge_index = gcnz_graph
        gcnz = (edge_index, torch.tensor([data.index.get(w, -1) for w in wnids]))
    return ZeroShotTask(x=F.normalize(data.x.float(), dim=1), hierarchy=data.edges.t().contiguous(),
                        known=protocol.train.clone(), targets=protocol.targets.float(), gcnz=gcnz)


def dgp_loss(pred: Tensor, target: Tensor) -> Tensor:
    """DGP's regression loss: ``((pred - target) ** 2).sum() / (2 * n)``."""
    return ((pred - target) ** 2).sum() / (2 * target.size(0))


def build_model(task: ZeroShotTask, config: DGPConfig) -> Tuple[torch.nn.Module, Callable[[], Tensor]]:
    """The model of ``config.model`` and a closure returning its ``[N, C]`` predictions."""
    d_in, d_out = task.x.size(1), task.targets.size(1)
    kwargs = dict(dropout=config.dropout, negative_slope=config.negative_slope)
    if config.model in ("dgp", "dgpm"):
        dgp = config.model == "dgp"
        model = DGP(d_in, config.hidden, d_out, num_groups=config.max_distance + 1,
                    distance_weights=dgp, **kwargs)
        descendants, ancestors = task.graph(config.model)
        return model, lambda: model(task.x, descendants, ancestors)
    if config.model == "sgcn":
        model = GCNRegressor([d_in, config.hidden, d_out], **kwargs)
        graph = task.graph("sym")
        return model, lambda: model(task.x, graph)
    if config.model == "gcnz":
        model = GCNRegressor([d_in, *config.gcnz_hidden, d_out], normalization="sym", **kwargs)
        graph = task.graph("gcnz")
        _, node = task.gcnz
        inside = node >= 0
        x = torch.zeros(node.numel(), d_in)
        x[inside] = task.x[node[inside]]

        def predict() -> Tensor:
            out = torch.zeros(task.num_nodes, d_out)  # no GCNZ node: zero vector, as DGP's eval
            return out.index_copy(0, node[inside], model(x, graph)[inside])
        return model, predict
    raise ValueError(f"{config.model!r} is not a trained model; known: {GRAPH_MODELS}")


@dataclass
class ZeroShotRun:
    """Result of :func:`train_zero_shot`.

    Attributes:
        predictions: ``[N, C]`` class vectors of the final model (eval mode).
        losses: training loss per epoch.
        train_seconds: wall time of the training steps.
        history: ``[(epoch, 2-hops general hit@1)]`` when ``config.eval_every``.
        distance_weights: DGP's learned softmax weights per phase.
    """
    predictions: Tensor
    losses: List[float]
    train_seconds: float
    epochs: int
    history: List[Tuple[int, float]] = field(default_factory=list)
    distance_weights: Dict[str, List[float]] = field(default_factory=dict)

    @property
    def seconds_per_epoch(self) -> float:
        return self.train_seconds / max(self.epochs, 1)


def train_zero_shot(task: ZeroShotTask, config: DGPConfig, seed: int = 0, progress: bool = True,
                    monitor: Optional[Callable[[Tensor], float]] = None) -> ZeroShotRun:
    """Train ``config.model`` on ``task`` (seeded) and predict every node's class vector.

    Args:
        task: the graph, inputs and known class vectors.
        config: model and optimiser settings.
        seed: torch seed of the initialisation and dropout.
        progress: a tqdm bar over the epochs.
        monitor: ``predictions -> score`` called every ``config.eval_every``
            epochs (for learning curves).
    """
    torch.manual_seed(seed)
    model, predict = build_model(task, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    losses: List[float] = []
    history: List[Tuple[int, float]] = []
    train_seconds = 0.0
    bar = tqdm(range(1, config.epochs + 1), desc=config.model, disable=not progress)
    for epoch in bar:
        tic = time.perf_counter()
        model.train()
        loss = dgp_loss(predict()[task.known], task.targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_seconds += time.perf_counter() - tic
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.4f}")
        if monitor is not None and config.eval_every and epoch % config.eval_every == 0:
            history.append((epoch, monitor(_predict_eval(model, predict))))
    predictions = _predict_eval(model, predict)
    weights = {}
    if isinstance(model, DGP) and model.descendant.att is not None:
        weights = {phase: getattr(model, phase).group_weights().detach().tolist()
                   for phase in ("descendant", "ancestor")}
    return ZeroShotRun(predictions=predictions, losses=losses, train_seconds=train_seconds,
                       epochs=config.epochs, history=history, distance_weights=weights)


def _predict_eval(model: torch.nn.Module, predict: Callable[[], Tensor]) -> Tensor:
    model.eval()
    with torch.no_grad():
        return predict().detach()


def ridge_fit_predict(features: Tensor, known: Tensor, targets: Tensor, alpha: float = 1.0) -> Tensor:
    r"""Closed-form ridge map (no intercept) from ``features[known]`` to
    ``targets``, applied to every row, rows L2-normalised:
    :math:`W = (X_k^\top X_k + \alpha I)^{-1} X_k^\top Y`."""
    xk = features[known].double()
    gram = xk.t() @ xk + alpha * torch.eye(xk.size(1), dtype=torch.float64)
    weight = torch.linalg.solve(gram, xk.t() @ targets.double())
    return F.normalize((features.double() @ weight).float(), dim=1)


def reference_predictions(task: ZeroShotTask, model: str, alpha: float = 1.0) -> Tensor:
    """The reference rows: ``identity`` (prediction = input), ``ridge`` on X,
    ``ridge_ax`` on ÂX with Â = row-normalised (A + Aᵀ + I) of the hierarchy."""
    if model == "identity":
        if task.x.size(1) != task.targets.size(1):
            raise ValueError(f"identity needs inputs of the targets' width {task.targets.size(1)}, "
                             f"got {task.x.size(1)}")
        return F.normalize(task.x, dim=1)
    if model == "ridge":
        return ridge_fit_predict(task.x, task.known, task.targets, alpha)
    if model == "ridge_ax":
        smoothed = ops.spmm(task.graph("sym").normalized("row", add_self_loops=True), task.x)
        return ridge_fit_predict(smoothed, task.known, task.targets, alpha)
    raise ValueError(f"unknown reference model {model!r}; known: identity, ridge, ridge_ax")


def evaluate_predictions(predictions: Tensor, protocol, groups=EVAL_GROUPS,
                         awa2: bool = True) -> Dict[str, Dict[str, float]]:
    """hit@1/2/5/10/20 of every metric group and the AwA2 per-class top-1.

    Args:
        predictions: ``[N, C]`` class vectors (scored as given; DGP's are L2-normalised).
        protocol: :class:`~graphcl.datasets.dgp.GlossProtocol` (samples, train classes).
        groups: ``{name: (test set, plus train classes)}``.
        awa2: also score ``"awa2"`` (10 candidates, top-1 averaged per class).
    """
    out: Dict[str, Dict[str, float]] = {}
    for name, (test_set, plus_train) in groups.items():
        samples = protocol.samples[test_set]
        candidates = samples.classes
        if plus_train:
            candidates = torch.cat([protocol.train, candidates])
        out[name] = hits_at_k(ranks(samples.vectors, samples.labels, predictions, candidates))
    if awa2:
        s = protocol.samples["awa2"]
        out["awa2"] = {"top1": per_class_top1(ranks(s.vectors, s.labels, predictions, s.classes),
                                              s.labels)}
    return out


def two_hops_hit1(protocol) -> Callable[[Tensor], float]:
    """``predictions -> 2-hops general hit@1`` (the learning-curve monitor)."""
    groups = {"2-hops/general": EVAL_GROUPS["2-hops/general"]}
    return lambda p: evaluate_predictions(p, protocol, groups, awa2=False)["2-hops/general"]["hit@1"]
