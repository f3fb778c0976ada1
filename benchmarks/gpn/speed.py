"""GPN training speed: graphcl's batched sparse propagation against the same
propagation written as the reference runs it (a dense uint8 adjacency per
task built in Python, a Python Kruskal with recursive find, dense N x N
attention per head), in one interleaved run on the same tasks.

    python benchmarks/gpn/speed.py --episodes 200 --threads 2 \
        --out benchmarks/gpn/results/speed.json

Both candidates share the backbone, the memory, the task stream and the
subgraph expansion; they differ only in how the subgraph is pruned and
propagated. Before timing, their propagated prototypes are checked equal on
a few tasks. Rounds alternate (ours, reference) on the same block of tasks, so
load from other processes hits both alike: the ratio is the figure to read.
"""
from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F


# ----------------------------------------------------------------- reference style
class KruskalGraph:
    """The reference's ``Graph``: edge list, sorted by weight, union-find with
    recursive find and union by rank."""

    def __init__(self, vertices):
        self.V, self.graph = vertices, []

    def add_edge(self, u, v, w):
        self.graph.append([u, v, w])

    def find(self, parent, i):
        return i if parent[i] == i else self.find(parent, parent[i])

    def union(self, parent, rank, x, y):
        xroot, yroot = self.find(parent, x), self.find(parent, y)
        if rank[xroot] < rank[yroot]:
            parent[xroot] = yroot
        elif rank[xroot] > rank[yroot]:
            parent[yroot] = xroot
        else:
            parent[yroot] = xroot
            rank[xroot] += 1

    def kruskal(self):
        result, parent, rank = [], list(range(self.V)), [0] * self.V
        for u, v, w in sorted(self.graph, key=lambda item: item[2]):
            x, y = self.find(parent, u), self.find(parent, v)
            if x != y:
                result.append([u, v, w])
                self.union(parent, rank, x, y)
        return result


def dense_adjacency(nodes, edges):
    """``get_adj``: forward[i, p] = 1 (i receives from parent p), backward = from children."""
    n = len(nodes)
    forward = torch.zeros(n, n, dtype=torch.uint8)
    backward = torch.zeros(n, n, dtype=torch.uint8)
    for child, parent in edges.T.tolist():
        forward[child][parent] = 1
        backward[parent][child] = 1
    return forward, backward


def kruskal_prune(adjacency, distance):
    """``get_max_spanning_tree_kruskal``."""
    g = KruskalGraph(distance.size(0))
    for i, j in torch.nonzero(adjacency).tolist():
        g.add_edge(i, j, distance[i, j])
    tree = torch.zeros_like(adjacency)
    for u, v, _ in g.kruskal():
        tree[u, v] = 1
        tree[v, u] = 1
    return adjacency * tree


def dense_propagate(block, features, adjacency):
    """``MultiheadCosinePropagationNetSimSoftmaxRatio`` with ``block``'s weights."""
    n, c = features.shape
    H, D = block.heads, block.attention_channels
    h, h0 = features, features.clone()
    for s in range(block.steps):
        outs = []
        for j in range(H):
            wq = block.query[s][:, j * D:(j + 1) * D]
            wk = block.key[s][:, j * D:(j + 1) * D]
            q = h.repeat(n, 1) @ wq
            k = h.repeat(1, n).view(n * n, c) @ wk
            raw = (q * k).sum(-1) / (q.norm(dim=-1).clamp_min(block.eps)
                                     * k.norm(dim=-1).clamp_min(block.eps))
            att = torch.where(adjacency > 0, raw.view(n, n), torch.full((n, n), -9e15))
            prop = torch.softmax(att * block.temperature, 1) @ h
            has_in = (adjacency.sum(1) > 0).float().view(n, 1)
            prop = has_in * prop + (1 - has_in) * h
            sims = torch.stack([F.cosine_similarity(h, h0, dim=-1),
                                F.cosine_similarity(prop, h0, dim=-1)], 1)
            gate = torch.softmax(block.temperature * sims, 1)
            outs.append(gate[:, 1:] * prop + gate[:, :1] * h)
        h = torch.stack(outs, 2).mean(2)
    return h


def reference_prototypes(model, memory, base, task_classes, graph, config, rng):
    from graphcl.methods.gpn.train import task_subgraphs
    nodes, edges, positions = task_subgraphs([task_classes], [graph], config, rng)
    features = memory[nodes].clone()
    features[positions[0]] = base.detach()
    with torch.no_grad():
        forward, backward = dense_adjacency(nodes, edges.numpy())
        distance = torch.norm(features.view(1, -1, features.size(1))
                              - features.view(-1, 1, features.size(1)), p="fro", dim=2)
        forward, backward = kruskal_prune(forward, distance), kruskal_prune(backward, distance)
    return dense_propagate(model.propagation, features, forward + backward)[positions[0]]


# ----------------------------------------------------------------- one training episode
def episode(model, optimizer, data, memory, task, config, rng, reference: bool):
    from graphcl.methods.gpn.model import squared_euclidean_logits
    from graphcl.methods.gpn.train import propagated_prototypes
    n, k = task.support.shape
    index = torch.from_numpy(np.concatenate([task.support.ravel(), task.query.ravel()]))
    embeddings = model(data.features[index])
    base = embeddings[: n * k].view(n, k, -1).mean(1)
    if reference:
        propagated = reference_prototypes(model, memory, base, task.classes, data.train_graph,
                                          config, rng)
    else:
        propagated = propagated_prototypes(model, memory, base.unsqueeze(0), [task.classes],
                                           [data.train_graph], config, rng)[0]
    prototypes = 0.5 * base.detach() + 0.5 * propagated
    labels = torch.arange(n).repeat_interleave(task.query.shape[1])
    loss = F.cross_entropy(squared_euclidean_logits(embeddings[n * k:], prototypes), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=200, help="episodes per candidate")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--shots", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/gpn/results/speed.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from graphcl.datasets.gpn import EpisodeSampler, load_wordnet_fewshot
    from graphcl.io import write_json_atomic
    from graphcl.methods.gpn import paper_config
    from graphcl.methods.gpn.model import GPN
    from graphcl.methods.gpn.train import compute_memory, prepare, propagated_prototypes

    config = paper_config("gpn", shots=args.shots)
    data = prepare(load_wordnet_fewshot(), config, test_splits=())
    torch.manual_seed(0)
    model = GPN(config, data.num_head_classes)
    torch.nn.init.normal_(model.propagation.query, 0, 0.05)  # non-trivial attention
    torch.nn.init.normal_(model.propagation.key, 0, 0.05)
    memory = compute_memory(model, data, torch.rand(len(data.train_graph), model.channels))
    sampler = EpisodeSampler(data.benchmark.class_instances, data.train_classes, config.ways,
                             config.shots, config.train_queries, data.train_distances, 5, 0)
    tasks = [sampler.sample() for _ in range(args.episodes)]

    # the two propagations agree (same subgraph: same rng seed for the link sampling)
    worst = 0.0
    for task in tasks[:10]:
        base = torch.randn(config.ways, model.channels)
        ours = propagated_prototypes(model, memory, base.unsqueeze(0), [task.classes],
                                     [data.train_graph], config, random.Random(1))[0]
        ref = reference_prototypes(model, memory, base, task.classes, data.train_graph, config,
                                   random.Random(1))
        worst = max(worst, float(((ours - ref).abs().max() / ref.abs().max()).detach()))
    if worst > 1e-4:
        raise AssertionError(f"the propagations differ (relative {worst:.2e})")

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    seconds = {"graphcl": 0.0, "reference": 0.0}
    blocks = np.array_split(np.arange(args.episodes), args.rounds)
    episode(model, optimizer, data, memory, tasks[0], config, random.Random(0), False)  # warm-up
    for block in blocks:
        for name in ("graphcl", "reference"):
            rng = random.Random(int(block[0]))
            tic = time.perf_counter()
            for i in block:
                episode(model, optimizer, data, memory, tasks[i], config, rng, name == "reference")
            seconds[name] += time.perf_counter() - tic
    rate = {name: args.episodes / s for name, s in seconds.items()}
    result = {
        "what": "GPN training episodes per second (few-shot tasks only: backbone, subgraph, "
                "pruning, propagation, loss, backward, Adam step), 5-way "
                f"{args.shots}-shot on the WordNet-GloVe train graph",
        "episodes_per_candidate": args.episodes, "rounds": args.rounds,
        "threads": args.threads, "torch_version": torch.__version__,
        "episodes_per_second": rate, "speedup": rate["graphcl"] / rate["reference"],
        "max_relative_difference_of_prototypes": worst,
        "note": "interleaved rounds in one process on a shared, contended 2-core machine",
    }
    write_json_atomic(result, Path(args.out))
    print(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
