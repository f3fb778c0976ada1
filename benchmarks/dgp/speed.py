"""DGP seconds per epoch and peak memory: graphcl's one-spmm layer against the
same model written as DGP's code runs it (five ``torch.sparse.mm`` products per
layer over COO tensors, support = XW + b computed first).

    python benchmarks/dgp/speed.py --hidden 2048 --rounds 3 --threads 2

Both models share the weights, graphs, inputs and targets; their outputs agree
(checked first, dropout off). Epochs alternate between the two (interleaved
rounds, one warm-up epoch each), so a change in machine load hits both alike.
Both run with glibc's malloc reusing freed blocks (``reuse_freed_memory``, as
``graphcl train`` does). Peak memory: each variant trains one epoch in a fresh subprocess; its peak RSS
(sampled during the epoch) and its growth over the RSS before the epoch are
reported (``--memory-only`` re-measures them into an existing results file). Results go to
``benchmarks/dgp/results/speed.json``.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent


class ReferenceLayer(torch.nn.Module):
    """DGP's ``GraphConv`` of ``gcn_dense_att.py``: Σ_k softmax(att)_k adj_k @ (XW + b)."""

    def __init__(self, ours):
        super().__init__()
        self.w = torch.nn.Parameter(ours.weight.detach().clone())
        self.b = torch.nn.Parameter(ours.bias.detach().clone())
        self.att = torch.nn.Parameter(ours.att.detach().clone())
        self.dropout = ours.dropout

    def forward(self, x, adjs):
        support = F.dropout(x, self.dropout, self.training) @ self.w + self.b
        alpha = torch.softmax(self.att, 0)
        out = 0
        for k, adj in enumerate(adjs):
            out = out + alpha[k] * torch.sparse.mm(adj, support)
        return out


class ReferenceDGP(torch.nn.Module):
    def __init__(self, ours):
        super().__init__()
        self.layers = torch.nn.ModuleList([ReferenceLayer(ours.descendant),
                                           ReferenceLayer(ours.ancestor)])

    def forward(self, x, down, up):
        h = F.leaky_relu(self.layers[0](x, down), 0.2)
        return F.normalize(self.layers[1](h, up), dim=1)


def setup(hidden: int):
    from graphcl.datasets.dgp import load_dgp
    from graphcl.graph.hierarchy import ancestor_distance_groups
    from graphcl.methods.dgp import DGP
    data = load_dgp()
    groups = ancestor_distance_groups(data.edges.t(), data.num_nodes)
    stacked = groups.stacked("descendants"), groups.stacked("ancestors")
    coo = [[g.to_torch_sparse().to_sparse_coo().coalesce() for g in groups.graphs(d)]
           for d in ("descendants", "ancestors")]
    x = F.normalize(data.x, dim=1)
    torch.manual_seed(0)
    ours = DGP(50, hidden, 50)
    reference = ReferenceDGP(ours)
    target = F.normalize(torch.randn(1000, 50), dim=1)
    runners = {"graphcl": (ours, lambda: ours(x, *stacked)),
               "reference": (reference, lambda: reference(x, *coo))}
    return runners, target


def epoch(model, forward, optimizer, target) -> float:
    tic = time.perf_counter()
    model.train()
    loss = ((forward()[:1000] - target) ** 2).sum() / (2 * target.size(0))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return time.perf_counter() - tic


def _rss_gb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**30


def memory_worker(name: str, hidden: int) -> None:
    """One training epoch of one variant; its RSS is sampled every 2 ms (the
    high-water mark of the process would be the data loading's, not the epoch's)."""
    import ctypes
    import gc
    import threading
    runners, target = setup(hidden)
    model, forward = runners[name]
    del runners
    optimizer = torch.optim.Adam(model.parameters(), 1e-3, weight_decay=5e-4)
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # give freed loading buffers back first
    before, peak, done = _rss_gb(), [0.0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_gb())
            time.sleep(0.002)
    sampler = threading.Thread(target=sample)
    sampler.start()
    epoch(model, forward, optimizer, target)
    done.set()
    sampler.join()
    print(json.dumps({"rss_before_gb": before, "peak_rss_gb": max(peak[0], _rss_gb()),
                      "epoch_growth_gb": max(peak[0], _rss_gb()) - before}))


def measure_memory(hidden: int, threads: int) -> dict:
    memory = {}
    for name in ("graphcl", "reference"):
        out = subprocess.run([sys.executable, __file__, "--memory-worker", name, "--hidden",
                              str(hidden), "--threads", str(threads)],
                             capture_output=True, text=True, check=True)
        memory[name] = json.loads(out.stdout.strip().splitlines()[-1])
    return memory


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "speed.json")
    parser.add_argument("--memory-only", action="store_true",
                        help="only re-measure memory, into the existing --out file")
    parser.add_argument("--memory-worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from graphcl.experiment.memory import reuse_freed_memory
    reuse_freed_memory()  # both variants, as `graphcl train` runs (no mmap per large tensor)
    if args.memory_worker:
        memory_worker(args.memory_worker, args.hidden)
        return 0
    from graphcl.io import write_json_atomic
    if args.memory_only:
        results = json.loads(args.out.read_text())
        results["memory"] = measure_memory(results["hidden"], results["threads"])
        write_json_atomic(results, args.out)
        print(json.dumps(results["memory"], indent=1))
        return 0
    runners, target = setup(args.hidden)
    for model, _ in runners.values():
        model.eval()
    with torch.no_grad():
        a, b = (forward() for _, forward in runners.values())
    max_diff = float((a - b).abs().max())
    assert max_diff < 1e-4, f"the two implementations disagree by {max_diff}"
    optimizers = {n: torch.optim.Adam(m.parameters(), 1e-3, weight_decay=5e-4)
                  for n, (m, _) in runners.items()}
    times = {n: [] for n in runners}
    for round_ in range(args.rounds + 1):           # round 0 is the warm-up
        for name, (model, forward) in runners.items():
            seconds = epoch(model, forward, optimizers[name], target)
            if round_:
                times[name].append(seconds)
            print(f"round {round_} {name}: {seconds:.2f} s", flush=True)
    memory = measure_memory(args.hidden, args.threads)
    median = {n: sorted(t)[len(t) // 2] for n, t in times.items()}
    results = {"hidden": args.hidden, "threads": args.threads, "rounds": args.rounds,
               "seconds_per_epoch": times, "median_seconds_per_epoch": median,
               "speedup": median["reference"] / median["graphcl"], "max_output_diff": max_diff,
               "memory": memory, "torch_version": torch.__version__,
               "note": "2-core machine shared with other jobs: absolute times are contended; "
                       "the ratio is of interleaved epochs in one run"}
    write_json_atomic(results, args.out)
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
