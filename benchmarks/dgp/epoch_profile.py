"""Where one training epoch of SGCN and DGP goes, and the epoch before and after
the fix (glibc malloc reusing freed blocks; DGP's layer-1 bias folded into one
product), measured in ONE process with the candidates' epochs interleaved.

    python benchmarks/dgp/epoch_profile.py --hidden 2048 --threads 1 2 --rounds 2

Candidates per model: ``before`` = glibc's default malloc (every tensor above
32 MB mmapped, page-faulted and unmapped again each epoch) and, for DGP, the
previous layer path ``h[:, :-1] @ W + h[:, -1:] * b``; ``after`` = what
``graphcl train dgp`` runs now. Each candidate's epoch is also profiled once
(torch.profiler, self CPU time of the top ops). Results go to
``benchmarks/dgp/results/epoch_profile.json``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent


def previous_forward(self, x, graph, group=None):
    """DenseGraphPropagation.forward before the bias was folded into [W; b]."""
    from graphcl import ops
    weight = graph.edge_weight_as(x.dtype)
    if self.att is not None and group is not None:
        weight = weight * self.group_weights().to(x.dtype)[group]
    x = F.dropout(x, self.dropout, self.training)
    if x.size(1) + 1 < self.weight.size(1):
        h = ops.spmm(graph, torch.cat([x, torch.ones(x.size(0), 1, dtype=x.dtype)], 1), weight)
        return h[:, :-1] @ self.weight + h[:, -1:] * self.bias
    return ops.spmm(graph, x @ self.weight + self.bias, weight)


class Candidate:
    """One model trained with one malloc setting and layer path."""

    def __init__(self, task, model: str, hidden: int, after: bool):
        from graphcl.methods.dgp import DGPConfig
        from graphcl.methods.dgp.train import build_model
        self.after = after
        torch.manual_seed(0)
        self.model, self.predict = build_model(task, DGPConfig(model=model, hidden=hidden))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3, weight_decay=5e-4)
        self.task = task

    def epoch(self) -> float:
        from graphcl.experiment.memory import reuse_freed_memory
        from graphcl.methods.dgp.train import dgp_loss
        from graphcl.nn import DenseGraphPropagation
        reuse_freed_memory(self.after)
        current = DenseGraphPropagation.forward
        if not self.after:
            DenseGraphPropagation.forward = previous_forward
        try:
            tic = time.perf_counter()
            self.model.train()
            loss = dgp_loss(self.predict()[self.task.known], self.task.targets)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            return time.perf_counter() - tic
        finally:
            DenseGraphPropagation.forward = current
            reuse_freed_memory(True)


def top_ops(candidate: Candidate, count: int = 8) -> list:
    from torch.profiler import profile
    with profile() as prof:
        candidate.epoch()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    return [{"op": e.key, "calls": e.count, "self_ms": e.self_cpu_time_total / 1e3,
             "share": e.self_cpu_time_total / total} for e in events[:count]]


def measure(task, model: str, hidden: int, threads: int, rounds: int) -> dict:
    torch.set_num_threads(threads)
    candidates = {"before": Candidate(task, model, hidden, False),
                  "after": Candidate(task, model, hidden, True)}
    times = {name: [] for name in candidates}
    for round_ in range(rounds + 1):                      # round 0 is the warm-up
        for name, candidate in candidates.items():
            seconds = candidate.epoch()
            if round_:
                times[name].append(seconds)
            print(f"{model} h{hidden} t{threads} round {round_} {name}: {seconds:.2f} s",
                  flush=True)
    median = {n: sorted(t)[len(t) // 2] for n, t in times.items()}
    profiles = {name: top_ops(candidate) for name, candidate in candidates.items()}
    return {"model": model, "hidden": hidden, "threads": threads, "seconds_per_epoch": times,
            "median_seconds_per_epoch": median, "speedup": median["before"] / median["after"],
            "profile": profiles}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["sgcn", "dgp"])
    parser.add_argument("--hidden", type=int, nargs="+", default=[2048])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "epoch_profile.json")
    args = parser.parse_args(argv)
    from graphcl.io import write_json_atomic
    from graphcl.methods.dgp import DGPConfig
    from graphcl.methods.dgp.spec import load_data
    task, _ = load_data(DGPConfig(), {})
    runs = []
    for hidden in args.hidden:
        for threads in args.threads:
            for model in args.models:
                runs.append(measure(task, model, hidden, threads, args.rounds))
                write_json_atomic({"runs": runs, "torch_version": torch.__version__,
                                   "note": "2-core machine shared with other jobs (load average "
                                           "7-11): absolute times are contended; ratios are of "
                                           "interleaved epochs in one process"}, args.out)
    for run in runs:
        m = run["median_seconds_per_epoch"]
        print(f"{run['model']} hidden {run['hidden']} threads {run['threads']}: before "
              f"{m['before']:.2f} s, after {m['after']:.2f} s, {run['speedup']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
