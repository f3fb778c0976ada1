"""Training and evaluation of GPN and ProtoNet on a class hierarchy.

One iteration is either a many-shot batch (probability ``0.9 ** (20 t / T)``:
cross-entropy of the training-class head) or an N-way K-shot task from the
local or global sampler (each half the time). For GPN a task's prototypes are
propagated over its subgraph: memory vectors of the training classes, support
means for the task classes, two rounds of parents and children, a spanning
forest of feature distances, both directions of every kept edge ("allaround").
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F
from tqdm.auto import tqdm

from graphcl import ops
from graphcl.datasets.gpn import ClassHierarchy, EpisodeSampler, FewShotBenchmark, Task
from graphcl.datasets.gpn.hierarchy import AttachedView, BypassIndex, RestrictedView
from graphcl.datasets.gpn.episodes import many_shot_probability
from graphcl.graph import SparseGraph, minimum_spanning_forest
from graphcl.methods.gpn.config import GPNConfig
from graphcl.methods.gpn.model import GPN, squared_euclidean_logits

TEST_SPLITS = ("close", "far")
SAMPLERS = ("local", "global")
#: what a test task's prototypes are propagated over: the hierarchy pruned to
#: the training classes and the task's (GPN's test); each test class attached
#: above its nearest training prototypes (GPN's "no hierarchy" test,
#: ``graph_nohier_test.py``); nothing (support means only, no propagation)
TEST_GRAPHS = ("hierarchy", "nearest", "none")


@dataclass
class GPNData:
    """What training and evaluation read, prepared once per benchmark."""
    benchmark: FewShotBenchmark
    features: Tensor
    train_keep: np.ndarray              # [C] training classes and the root
    train_graph: ClassHierarchy         # the hierarchy with the other classes bypassed
    train_classes: np.ndarray           # classes a training task may use
    train_distances: np.ndarray
    train_instances: np.ndarray         # instances of training classes
    head_labels: Tensor                 # [len(train_instances)] many-shot labels
    num_head_classes: int
    memory_graph: SparseGraph           # [C] x [len(train_instances)], row means
    has_memory: Tensor                  # [C] classes with instances at or below them
    test_distances: Dict[str, np.ndarray] = field(default_factory=dict)
    bypass: Optional[BypassIndex] = None   # test-mode pruning, built on first use


def _memory_members(graph: ClassHierarchy, keep: np.ndarray, class_instances) -> List[np.ndarray]:
    """Instances a class's memory averages: its own, else those of the kept
    classes below it (a coarse class can have no words of its own left)."""
    members: List[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(graph)
    for c in np.flatnonzero(keep):
        own = np.asarray(class_instances[c])
        if own.size:
            members[c] = own
            continue
        below, stack, seen = [], list(graph.children[c]), set()
        while stack:
            k = stack.pop()
            if k in seen:
                continue
            seen.add(k)
            below.append(np.asarray(class_instances[k]))
            stack.extend(graph.children[k])
        members[c] = np.concatenate(below) if below else np.zeros(0, dtype=np.int64)
    return members


def prepare(benchmark: FewShotBenchmark, config: GPNConfig,
            test_splits: Sequence[str] = TEST_SPLITS) -> GPNData:
    """Split graphs, samplers' class lists, the memory's averaging matrix."""
    keep = benchmark.graph_classes("train")
    graph = benchmark.hierarchy.restrict(keep)
    need = config.shots + config.train_queries
    train_classes = benchmark.task_classes("train", need)
    if train_classes.size < config.ways:
        raise ValueError(f"ways={config.ways}: only {train_classes.size} training classes have "
                         f"at least shots + queries = {need} instances")
    train_instances = np.concatenate([np.asarray(benchmark.class_instances[c], dtype=np.int64)
                                      for c in np.flatnonzero(keep)])
    position = np.full(benchmark.features.size(0), -1, dtype=np.int64)
    position[train_instances] = np.arange(train_instances.size)
    head_of_class = {c: i for i, c in enumerate(np.flatnonzero(keep & (benchmark.counts() > 0)))}
    labels = torch.tensor([head_of_class[int(c)] for c in
                           benchmark.instance_class[torch.from_numpy(train_instances)]],
                          dtype=torch.long)
    members = _memory_members(graph, keep, benchmark.class_instances)
    rows = np.concatenate([np.full(m.size, c) for c, m in enumerate(members)]).astype(np.int64)
    cols = position[np.concatenate(members).astype(np.int64)]
    sizes = np.array([m.size for m in members])
    weight = torch.from_numpy(1.0 / sizes[rows]).float()
    memory_graph = SparseGraph.from_edge_index(torch.from_numpy(np.stack([cols, rows])), weight,
                                               num_src_nodes=train_instances.size,
                                               num_dst_nodes=len(graph))
    data = GPNData(benchmark, benchmark.features.float(), keep, graph, train_classes,
                   graph.distances(), train_instances, labels, len(head_of_class), memory_graph,
                   torch.from_numpy(sizes > 0))
    for split in test_splits:
        data.test_distances[split] = benchmark.split_graph(split).distances()
    return data


# ------------------------------------------------------------------ propagation
def task_subgraphs(task_classes: Sequence[np.ndarray], graphs: Sequence[ClassHierarchy],
                   config: GPNConfig, rng: random.Random) -> Tuple[Tensor, Tensor, Tensor]:
    """The batch of task subgraphs as one edge list.

    Returns:
        ``(nodes, edges, task_positions)``: class of every node ``[M]``,
        ``[2, E]`` (child, parent) node positions, and ``[B, N]`` the positions
        of every task's classes (each block lists its task classes first).
    """
    nodes, edges, positions, offset = [], [], [], 0
    for classes, graph in zip(task_classes, graphs):
        block, pairs = graph.propagation_subgraph(classes, config.rounds, config.max_links,
                                                  config.keep_ratio, rng)
        nodes.append(block)
        edges.append(pairs + offset)
        positions.append(np.arange(offset, offset + len(classes)))
        offset += block.size
    return (torch.from_numpy(np.concatenate(nodes)), torch.from_numpy(np.concatenate(edges, 1)),
            torch.from_numpy(np.stack(positions)))


def spanning_edges(edges: Tensor, features: Tensor, num_nodes: int, mst: bool) -> Tensor:
    """The (child, parent) edges a minimum spanning forest of feature
    distances keeps (all edges without ``mst``)."""
    if not mst or edges.size(1) == 0:
        return edges
    with torch.no_grad():
        distance = (features[edges[0]] - features[edges[1]]).norm(dim=1)
    return edges[:, minimum_spanning_forest(edges, distance, num_nodes)]


def receptive_field(edges: Tensor, num_nodes: int, targets: Tensor, hops: int) -> Tensor:
    """Mask of the nodes within ``hops`` undirected hops of ``targets``: the
    only nodes a ``hops``-step propagation reads for the targets' outputs, so
    dropping the rest changes no task prototype (it saves the dense work on
    the subgraph's outer shell)."""
    reach = torch.zeros(num_nodes, dtype=torch.bool)
    reach[targets] = True
    for _ in range(hops):
        grown = reach.clone()
        grown[edges[0][reach[edges[1]]]] = True
        grown[edges[1][reach[edges[0]]]] = True
        reach = grown
    return reach


def allaround_graph(edges: Tensor, num_nodes: int) -> SparseGraph:
    """Both directions of every (child, parent) edge: forward (the child
    receives from its parent) + backward (the parent from its child)."""
    src = torch.cat([edges[1], edges[0]])
    dst = torch.cat([edges[0], edges[1]])
    return SparseGraph.from_edge_index(torch.stack([src, dst]), num_nodes=num_nodes)


def propagated_prototypes(model: GPN, memory: Tensor, base: Tensor, task_classes, graphs,
                          config: GPNConfig, rng: random.Random, return_parts: bool = False):
    """``[B, N, F]`` propagated prototypes of a batch of tasks whose support
    means are ``base`` ``[B, N, F]``."""
    nodes, edges, positions = task_subgraphs(task_classes, graphs, config, rng)
    features = memory[nodes].clone()
    features[positions.reshape(-1)] = base.reshape(-1, base.size(-1)) if config.support_gradient \
        else base.detach().reshape(-1, base.size(-1))
    subgraph_edges = edges
    edges = spanning_edges(edges, features, nodes.numel(), config.mst)
    if not return_parts:  # keep only what the task prototypes depend on
        inside = receptive_field(edges, nodes.numel(), positions.reshape(-1), config.steps)
        renumber = torch.cumsum(inside.long(), 0) - 1
        kept_edges = inside[edges[0]] & inside[edges[1]]
        nodes, features = nodes[inside], features[inside]
        edges, positions = renumber[edges[:, kept_edges]], renumber[positions]
    graph = allaround_graph(edges, nodes.numel())
    if not return_parts:
        flat = positions.reshape(-1)
        return model.propagation(features, graph, targets=flat).view(*positions.shape, -1)
    out, gates = model.propagation(features, graph, return_gates=True)
    prototypes = out[positions]
    if return_parts:
        return prototypes, {"nodes": nodes, "edges": edges, "subgraph_edges": subgraph_edges,
                            "graph": graph, "gates": gates,
                            "positions": positions, "features": features}
    return prototypes


@torch.no_grad()
def compute_memory(model: GPN, data: GPNData, memory: Tensor) -> Tensor:
    """Every training class's mean embedding (classes without instances keep
    their value)."""
    embeddings = model(data.features[torch.from_numpy(data.train_instances)])
    fresh = ops.spmm(data.memory_graph, embeddings)
    return torch.where(data.has_memory.unsqueeze(1), fresh, memory)


# ------------------------------------------------------------------ training
@dataclass
class TrainResult:
    model: GPN
    memory: Tensor
    history: Dict[str, List[float]]
    train_seconds: float
    few_shot_episodes: int
    many_shot_batches: int
    seed: int


def curriculum_coefficient(epoch: int, epochs: int) -> float:
    """Weight of the propagated prototype in training, ``epoch / epochs``
    (GPN: prototype = base (1 - c) + propagated c; propagated only at test)."""
    if epochs < 1 or not 0 <= epoch <= epochs:
        raise ValueError(f"epoch must lie in [0, epochs={epochs}], got {epoch}")
    return epoch / epochs


def seed_everything(seed: int) -> Tuple[np.random.Generator, random.Random]:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return np.random.default_rng(seed), random.Random(seed)


def _task_loss(model: GPN, data: GPNData, memory: Tensor, task: Task, config: GPNConfig,
               coefficient: float, rng: random.Random) -> Tuple[Tensor, float]:
    n, k = task.support.shape
    index = torch.from_numpy(np.concatenate([task.support.ravel(), task.query.ravel()]))
    embeddings = model(data.features[index])
    base = embeddings[: n * k].view(n, k, -1).mean(1)
    queries = embeddings[n * k:]
    labels = torch.arange(n).repeat_interleave(task.query.shape[1])
    if model.propagation is None:
        prototypes = base
    else:
        propagated = propagated_prototypes(model, memory, base.unsqueeze(0), [task.classes],
                                           [data.train_graph], config, rng)[0]
        start = base if config.support_gradient else base.detach()
        prototypes = start * (1 - coefficient) + propagated * coefficient
    logits = squared_euclidean_logits(queries, prototypes)
    loss = F.cross_entropy(logits, labels)
    return loss, float((logits.argmax(1) == labels).float().mean())


def train(data: GPNData, config: GPNConfig, *, seed: int = 0, progress: bool = True,
          episodes: Optional[int] = None) -> TrainResult:
    """Train on the episode stream of ``config`` (``episodes`` overrides T)."""
    total = config.episodes if episodes is None else episodes
    epochs = max(1, math.ceil(total / config.iterations_per_epoch))
    np_rng, py_rng = seed_everything(seed)
    model = GPN(config, data.num_head_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr,
                                 weight_decay=config.weight_decay)
    sampler = EpisodeSampler(data.benchmark.class_instances, data.train_classes, config.ways,
                             config.shots, config.train_queries, data.train_distances,
                             config.local_hops, np_rng)
    memory = torch.rand(len(data.train_graph), model.channels)
    decay_start = int(config.lr_decay_start * total)
    decay_every = max(1, round(config.lr_step * total))
    history: Dict[str, List[float]] = {"loss": [], "train_acc": [], "many_shot_loss": []}
    sums = np.zeros(5)  # task loss, task acc, task count, many-shot loss, many-shot count
    few, many, decayed = 0, 0, 0
    many_p = many_shot_probability(np.arange(total), total)
    coins = np_rng.random(total)
    start = time.perf_counter()
    bar = tqdm(range(total), desc=f"{config.model} {config.ways}w{config.shots}s seed {seed}",
               disable=not progress, leave=False, mininterval=2.0)
    model.train()
    for t in bar:
        epoch = t // config.iterations_per_epoch
        if t % (config.iterations_per_epoch * config.reset_interval) == 0:
            memory = compute_memory(model, data, memory)
        if config.many_shot and coins[t] < many_p[t]:
            batch = sampler.many_shot_batch(np.arange(data.train_instances.size),
                                            config.many_shot_batch)
            index = torch.from_numpy(data.train_instances[batch])
            loss = F.cross_entropy(model.head(model(data.features[index])),
                                   data.head_labels[torch.from_numpy(batch)])
            many += 1
            sums[3:] += (loss.item(), 1)
        else:
            task = sampler.sample()
            loss, acc = _task_loss(model, data, memory, task, config,
                                   curriculum_coefficient(epoch, epochs), py_rng)
            few += 1
            if t >= decay_start:
                decayed += 1
                for group in optimizer.param_groups:
                    group["lr"] = config.lr * config.lr_gamma ** (decayed // decay_every)
            sums[:3] += (loss.item(), acc, 1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (t + 1) % config.iterations_per_epoch == 0 or t + 1 == total:
            n_tasks = max(sums[2], 1)
            history["loss"].append(sums[0] / n_tasks)
            history["train_acc"].append(sums[1] / n_tasks)
            history["many_shot_loss"].append(sums[3] / max(sums[4], 1))
            bar.set_postfix(loss=f"{history['loss'][-1]:.3f}",
                            acc=f"{history['train_acc'][-1]:.3f}")
            sums[:] = 0
    bar.close()
    memory = compute_memory(model, data, memory)
    return TrainResult(model, memory, history, time.perf_counter() - start, few, many, seed)


# ------------------------------------------------------------------ evaluation
def test_graph(data: GPNData, classes: np.ndarray) -> RestrictedView:
    """The hierarchy pruned to the training classes plus a test task's classes
    (GPN's test-mode ``pruning``; removed classes bridged)."""
    if data.bypass is None:
        data.bypass = BypassIndex(data.benchmark.hierarchy, data.train_keep)
    return data.bypass.view(classes)


def nearest_training_classes(data: GPNData, memory: Tensor, base: Tensor,
                             count: int = 2) -> Tensor:
    """``[B, N, count]`` the training classes whose memory vectors are nearest
    (squared Euclidean, as GPN's ``construct_propagation_graph``) to the
    support means ``base`` ``[B, N, F]``."""
    candidates = torch.from_numpy(np.flatnonzero(data.train_keep)).long()
    candidates = candidates[data.has_memory[candidates]]
    distance = (base.unsqueeze(-2) - memory[candidates]).pow(2).sum(-1)
    return candidates[distance.topk(count, dim=-1, largest=False).indices]


def nearest_graphs(data: GPNData, memory: Tensor, base: Tensor, task_classes,
                   count: int = 2) -> List[AttachedView]:
    """GPN's "no hierarchy" test graphs: the training graph with every task
    class made the parent of its ``count`` nearest training prototypes."""
    nearest = nearest_training_classes(data, memory, base, count).tolist()
    return [AttachedView(data.train_graph, dict(zip(np.asarray(classes).tolist(), kids)))
            for classes, kids in zip(task_classes, nearest)]


@torch.no_grad()
def episode_accuracies(model: GPN, memory: Tensor, data: GPNData, tasks: Sequence[Task],
                       config: GPNConfig, rng: random.Random,
                       graph: str = "hierarchy") -> np.ndarray:
    """Query accuracy of every task; prototypes are propagated only (GPN) or
    support means (ProtoNet, or ``graph="none"``); ``graph`` is one of
    :data:`TEST_GRAPHS`. Tasks are processed ``config.eval_batch`` at a
    time: one backbone pass and one propagation over the batch's subgraphs."""
    if graph not in TEST_GRAPHS:
        raise ValueError(f"graph must be one of {list(TEST_GRAPHS)}, got {graph!r}")
    model.eval()
    out = []
    for lo in range(0, len(tasks), config.eval_batch):
        batch = tasks[lo: lo + config.eval_batch]
        support = np.stack([t.support for t in batch])  # [B, N, K]
        query = np.stack([t.query for t in batch])      # [B, N, Q]
        b, n, k = support.shape
        q = query.shape[2]
        index = torch.from_numpy(np.concatenate([support.ravel(), query.ravel()]))
        embeddings = model(data.features[index])
        base = embeddings[: b * n * k].view(b, n, k, -1).mean(2)
        queries = embeddings[b * n * k:].view(b, n * q, -1)
        classes = [t.classes for t in batch]
        if model.propagation is None or graph == "none":
            prototypes = base
        else:
            graphs = nearest_graphs(data, memory, base, classes) if graph == "nearest" \
                else [test_graph(data, c) for c in classes]
            prototypes = propagated_prototypes(model, memory, base, classes, graphs, config, rng)
        labels = torch.arange(n).repeat_interleave(q)
        hits = (squared_euclidean_logits(queries, prototypes).argmax(-1) == labels)
        out.append(hits.float().mean(1).numpy())
    model.train()
    return np.concatenate(out)


def test_tasks(data: GPNData, config: GPNConfig, split: str, kind: str, seed: int,
               episodes: Optional[int] = None) -> List[Task]:
    """The test episodes of one setting; they depend on the seed, split and
    sampler only, so GPN and ProtoNet of a seed see the same tasks."""
    need = config.shots + config.eval_queries
    classes = data.benchmark.task_classes(split, need)
    rng = np.random.default_rng([seed, TEST_SPLITS.index(split) if split in TEST_SPLITS else 9,
                                 SAMPLERS.index(kind), 14])
    sampler = EpisodeSampler(data.benchmark.class_instances, classes, config.ways, config.shots,
                             config.eval_queries, data.test_distances.get(split),
                             config.local_hops, rng)
    return [sampler.sample(kind) for _ in range(episodes or config.test_episodes)]


def evaluate(result: TrainResult, data: GPNData, config: GPNConfig, *,
             splits: Sequence[str] = TEST_SPLITS, samplers: Sequence[str] = SAMPLERS,
             episodes: Optional[int] = None, graph: str = "hierarchy"
             ) -> Dict[str, Dict[str, float]]:
    """``{"close/local": {"acc", "ci95"}, ...}``: mean query accuracy over the
    test episodes and 1.96 std / sqrt(episodes) (population std, as GPN).
    ``graph`` chooses what GPN propagates over (:data:`TEST_GRAPHS`)."""
    if graph not in TEST_GRAPHS:
        raise ValueError(f"graph must be one of {list(TEST_GRAPHS)}, got {graph!r}")
    metrics = {}
    rng = random.Random(result.seed + 1)
    for split in splits:
        for kind in samplers:
            tasks = test_tasks(data, config, split, kind, result.seed, episodes)
            accs = episode_accuracies(result.model, result.memory, data, tasks, config, rng,
                                      graph)
            metrics[f"{split}/{kind}"] = {"acc": float(accs.mean()),
                                          "ci95": float(1.96 * accs.std() / np.sqrt(accs.size))}
    return metrics
