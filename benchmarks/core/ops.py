"""Speed and peak memory of spmm forward+backward: graphcl against
torch.sparse.mm (CSR), PyG's gather/scatter MessagePassing path and, when
installed, torch_scatter.

Every (graph, method) runs in fresh worker processes: one times it, another
measures its own peak memory (it builds the graph, runs once to warm up, resets
the kernel's peak-RSS counter via /proc/self/clear_refs, runs forward+backward
once, and reports the rise of VmHWM over the RSS before the call). On CUDA it reports
torch.cuda.max_memory_allocated instead, plus the fraction of the measured
device-to-device copy bandwidth reached by graphcl's forward on the
gather-bound byte count (4*E*F + 4*N*F + 8*E + 8*N).

    python benchmarks/core/ops.py --threads 2 --out benchmarks/core/results/ops_cpu.json
    python benchmarks/core/ops.py --device cuda --out benchmarks/core/results/ops_cuda.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

METHODS = ["graphcl", "torch_sparse_mm", "pyg_gather_scatter", "torch_scatter"]
DEFAULT_SIZES = "100000:1000000,300000:3000000,1000000:10000000"


def power_law_edges(num_nodes: int, num_edges: int, seed: int):
    """Edges whose endpoints follow a Pareto (alpha 1.5) popularity: a few hub
    nodes receive and send a large share of the edges, as in real graphs."""
    import torch
    g = torch.Generator().manual_seed(seed)
    popularity = torch.rand(num_nodes, generator=g).pow(-1 / 1.5)  # Pareto(1.5) weights
    dst = torch.multinomial(popularity, num_edges, replacement=True, generator=g)
    src = torch.multinomial(popularity[torch.randperm(num_nodes, generator=g)], num_edges,
                            replacement=True, generator=g)
    return torch.stack([src, dst])


def _current_rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmHWM not found")


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def worker(method: str, num_nodes: int, num_edges: int, features: int, device: str,
           repeats: int, seed: int, measure: str) -> dict:
    import torch
    edge_index = power_law_edges(num_nodes, num_edges, seed).to(device)
    x = torch.randn(num_nodes, features, device=device, requires_grad=True)

    if method == "graphcl":
        from graphcl import SparseGraph, ops
        graph = SparseGraph.from_edge_index(edge_index, num_nodes=num_nodes)
        graph.csc  # built once, like the graph object a model keeps
        step = lambda: ops.spmm(graph, x)  # noqa: E731
        extra = {"backend": ops.backend()}
    elif method == "torch_sparse_mm":
        from graphcl import SparseGraph
        graph = SparseGraph.from_edge_index(edge_index, num_nodes=num_nodes)
        adj = torch.sparse_csr_tensor(graph.rowptr, graph.col, torch.ones(num_edges, device=device),
                                      (num_nodes, num_nodes))
        step = lambda: torch.sparse.mm(adj, x)  # noqa: E731
        extra = {}
    elif method == "pyg_gather_scatter":
        from torch_geometric.nn import MessagePassing

        class Sum(MessagePassing):
            def __init__(self):
                super().__init__(aggr="add")

            def forward(self, x, edge_index):
                return self.propagate(edge_index, x=x)

            def message(self, x_j):
                return x_j

        layer = Sum()
        step = lambda: layer(x, edge_index)  # noqa: E731
        extra = {}
    elif method == "torch_scatter":
        import torch_scatter
        src, dst = edge_index
        step = lambda: torch_scatter.scatter_add(x.index_select(0, src), dst, 0,  # noqa: E731
                                                 dim_size=num_nodes)
        extra = {}
    else:
        raise ValueError(f"unknown method {method}")

    def run():
        out = step()
        out.backward(torch.ones_like(out))
        x.grad = None

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    run()  # warm-up (allocations, lazy caches)
    sync()
    if measure == "memory":
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        else:
            base = _current_rss()
            _reset_peak_rss()
        run()
        sync()
        peak = (torch.cuda.max_memory_allocated() if device == "cuda" else _peak_rss()) - base
        return {"method": method, "peak_extra_bytes": max(peak, 0)}
    times, fwd_times = [], []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - t0)
    with torch.no_grad():
        for _ in range(repeats):
            sync()
            t0 = time.perf_counter()
            step()
            sync()
            fwd_times.append(time.perf_counter() - t0)
    result = {"method": method, "num_nodes": num_nodes, "num_edges": num_edges,
              "features": features, "device": device, "fwd_bwd_s": min(times),
              "fwd_s": min(fwd_times), **extra}
    if device == "cuda" and method == "graphcl":
        big = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")
        big.clone()
        sync()
        t0 = time.perf_counter()
        for _ in range(10):
            big.clone()
        sync()
        copy_bw = 2 * big.numel() * 10 / (time.perf_counter() - t0)
        gather_bytes = 4 * num_edges * features + 4 * num_nodes * features + 8 * num_edges + 8 * num_nodes
        result["copy_bandwidth_GBps"] = copy_bw / 1e9
        result["fwd_fraction_of_copy_bw"] = gather_bytes / min(fwd_times) / copy_bw
    return result


def run_worker(args, method, n, e, f, measure):
    cmd = [sys.executable, __file__, "--worker", method, "--measure", measure, "--sizes", f"{n}:{e}",
           "--features", str(f), "--device", args.device, "--repeats", str(args.repeats),
           "--seed", str(args.seed)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    if measure == "memory":
        # A fixed mmap threshold makes glibc return every large freed block to
        # the OS at once, so RSS follows live memory and VmHWM is the true peak
        # (the adaptive threshold keeps freed tensors resident). It also adds
        # page faults, which is why time is measured in a separate run.
        env["MALLOC_MMAP_THRESHOLD_"] = "131072"
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return {"method": method, "error": tail[0]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(args, method, n, e, f):
    result = run_worker(args, method, n, e, f, "time")
    if "error" not in result:
        memory = run_worker(args, method, n, e, f, "memory")
        result["peak_extra_bytes"] = memory.get("peak_extra_bytes", float("nan"))
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma list of N:E")
    parser.add_argument("--features", default="64,128,256")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=int, default=1200)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--measure", default="time", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [tuple(int(v) for v in s.split(":")) for s in args.sizes.split(",")]
    features = [int(f) for f in args.features.split(",")]

    if args.worker:
        import torch
        torch.set_num_threads(args.threads)
        (n, e), = sizes
        print(json.dumps(worker(args.worker, n, e, features[0], args.device, args.repeats,
                                args.seed, args.measure)))
        return

    methods = [m for m in args.methods.split(",") if m]
    rows = []
    header = (f"{'N':>9} {'E':>10} {'F':>4} {'method':<20} {'fwd+bwd ms':>11} {'speed-up':>9} "
              f"{'fwd ms':>8} {'peak MB':>9} {'mem ratio':>9}")
    print(f"# spmm fwd+bwd, device={args.device}, threads={args.threads}, repeats={args.repeats} "
          f"(min), seed={args.seed}, {platform.processor() or platform.machine()}")
    print("# speed-up = method time / graphcl time; mem ratio = graphcl peak / method peak")
    print(header)
    for n, e in sizes:
        for f in features:
            results = {m: measure(args, m, n, e, f) for m in methods}
            ours = results.get("graphcl", {})
            for m in methods:
                r = results[m]
                r.update(num_nodes=n, num_edges=e, features=f)
                rows.append(r)
                if "error" in r:
                    print(f"{n:>9} {e:>10} {f:>4} {m:<20} {'n/a: ' + r['error'][:60]}")
                    continue
                speed = r["fwd_bwd_s"] / ours["fwd_bwd_s"] if "fwd_bwd_s" in ours else float("nan")
                mem = (ours["peak_extra_bytes"] / r["peak_extra_bytes"]
                       if "peak_extra_bytes" in ours and r["peak_extra_bytes"] else float("nan"))
                r["speedup_of_graphcl"], r["graphcl_memory_ratio"] = speed, mem
                line = (f"{n:>9} {e:>10} {f:>4} {m:<20} {r['fwd_bwd_s'] * 1e3:>11.1f} {speed:>8.2f}x "
                        f"{r['fwd_s'] * 1e3:>8.1f} {r['peak_extra_bytes'] / 2**20:>9.0f} {mem:>9.2f}")
                if "fwd_fraction_of_copy_bw" in r:
                    line += f"  fwd at {100 * r['fwd_fraction_of_copy_bw']:.0f}% of copy bw"
                print(line, flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        meta = {"device": args.device, "threads": args.threads, "repeats": args.repeats,
                "seed": args.seed, "command": " ".join([Path(sys.executable).name] + sys.argv)}
        Path(args.out).write_text(json.dumps({"meta": meta, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
