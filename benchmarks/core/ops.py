"""Speed, memory and bandwidth fraction of spmm (and the SDDMM of its weighted
backward): graphcl against torch.sparse.mm on CSR, torch_sparse's
SparseTensor matmul, PyG's gather/scatter MessagePassing and torch_scatter
(the last two skipped, or reported n/a, when not installed).

One worker process per (graph, F, case) builds the inputs once and times
every method in it, interleaved: round r runs each method once (forward +
backward, then forward alone under no_grad), in an order rotated every round,
and the medians over the rounds are reported. The same worker measures the
memory bandwidth (a large float32 tensor read, best of 5) before the timings;
every row then gives the bytes the op must touch (each gathered row once per
edge, every dense [N, F] tensor read or written once, indices and weights
once; see op_bytes), the time that takes at the measured bandwidth (the
bound) and the achieved fraction, bound / time. Peak memory is measured in a
separate worker per method (the rise of VmHWM over the RSS before one
forward + backward).

Cases: sum, sum_w (weighted, the weights require grad), mean, max, min, and
sddmm (graphcl.ops.sddmm alone, the weighted backward's edge gradient).

    python benchmarks/core/ops.py --threads 2 --out benchmarks/core/results/ops_cpu.json
    python benchmarks/core/ops.py --device cuda --out benchmarks/core/results/ops_cuda.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

METHODS = ["graphcl", "torch_sparse_mm", "torch_sparse", "pyg_gather_scatter", "torch_scatter"]
CASES = {"sum": ("sum", False), "sum_w": ("sum", True), "mean": ("mean", False),
         "max": ("max", False), "min": ("min", False), "sddmm": (None, False)}
DEFAULT_SIZES = "100000:1000000,1000000:10000000"


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


def op_bytes(case: str, n: int, e: int, f: int, value: int = 4, index: int = 8) -> dict:
    """The bytes the op must move at least: forward (no_grad) and forward +
    backward. A gather reads one x row per edge plus col and rowptr (and the
    weights); every dense [N, F] tensor it reads or writes counts once. max/min
    also write the int32 arg in a forward that may be differentiated, and the
    backward reads arg and grad_out and writes grad_x; sum/mean's backward is
    the same gather over the transpose; weighted sum adds the SDDMM (x rows per
    edge, grad_out rows, indices, one value per edge)."""
    reduce, weighted = CASES[case]
    dense = n * f * value
    gather = e * f * value + e * index + n * index + (e * value if weighted else 0)
    sddmm = e * f * value + dense + e * index + n * index + e * value
    if case == "sddmm":
        return {"fwd": sddmm, "fwd_bwd": None}
    fwd = gather + dense
    if reduce in ("max", "min"):
        arg = n * f * 4
        fwd_bwd = fwd + arg + (arg + 2 * dense)
    else:
        fwd_bwd = 2 * fwd + (sddmm if weighted else 0)
    return {"fwd": fwd, "fwd_bwd": fwd_bwd}


def read_bandwidth(torch, device: str) -> float:
    """Bytes per second of a large float32 read (sum of 512 MiB), best of 5."""
    big = torch.ones(128 * 2**20, device=device)
    best = float("inf")
    for _ in range(6):
        _sync(torch, device)
        t0 = time.perf_counter()
        big.sum()
        _sync(torch, device)
        best = min(best, time.perf_counter() - t0)
    return big.numel() * 4 / best


def _sync(torch, device):
    if device == "cuda":
        torch.cuda.synchronize()


def make_step(method: str, case: str, edge_index, x, w, num_nodes: int, device: str):
    """A callable running the method's forward, returning the output."""
    import torch
    reduce, weighted = CASES[case]
    num_edges = edge_index.size(1)
    src, dst = edge_index
    if case == "sddmm":
        if method != "graphcl":
            raise NotImplementedError("sddmm is timed for graphcl only")
        from graphcl import SparseGraph, ops
        graph = SparseGraph.from_edge_index(edge_index, num_nodes=num_nodes)
        graph.csc
        a = torch.randn_like(x)
        return lambda: ops.sddmm(graph, a, x)
    if method == "graphcl":
        from graphcl import SparseGraph, ops
        graph = SparseGraph.from_edge_index(edge_index, num_nodes=num_nodes)
        graph.csc  # built once, like the graph object a model keeps
        # The weights in edge_index order serve as CSR-order ones (timing only).
        return lambda: ops.spmm(graph, x, w if weighted else None, reduce=reduce)
    if method == "torch_sparse_mm":
        from graphcl import SparseGraph
        graph = SparseGraph.from_edge_index(edge_index, num_nodes=num_nodes)
        values = w if weighted else torch.ones(num_edges, device=device)
        adj = torch.sparse_csr_tensor(graph.rowptr, graph.col, values, (num_nodes, num_nodes))
        name = {"max": "amax", "min": "amin"}.get(reduce, reduce)
        return lambda: torch.sparse.mm(adj, x, name)
    if method == "torch_sparse":
        from torch_sparse import SparseTensor, matmul
        adj = SparseTensor(row=dst, col=src, sparse_sizes=(num_nodes, num_nodes))
        adj.storage.rowptr(), adj.storage.csr2csc()  # cached, like a model's adj_t
        if not weighted:
            return lambda: matmul(adj, x, reduce=reduce)
        # Set per call: weights given at construction would be permuted into
        # CSR order once, and every later backward would run through that
        # freed graph. As for graphcl, w serves as CSR-order weights.
        return lambda: matmul(adj.set_value(w, layout="coo"), x, reduce=reduce)
    if method == "pyg_gather_scatter":
        from torch_geometric.nn import MessagePassing

        class Layer(MessagePassing):
            def __init__(self):
                super().__init__(aggr={"sum": "add"}.get(reduce, reduce))

            def forward(self, x, edge_index, w):
                return self.propagate(edge_index, x=x, w=w)

            def message(self, x_j, w):
                return x_j if w is None else x_j * w.view(-1, 1)

        layer = Layer()
        return lambda: layer(x, edge_index, w if weighted else None)
    if method == "torch_scatter":
        import torch_scatter
        def step():
            msg = x.index_select(0, src)
            if weighted:
                msg = msg * w.view(-1, 1)
            out = torch_scatter.scatter(msg, dst, 0, dim_size=num_nodes, reduce=reduce)
            return out
        return step
    raise ValueError(f"unknown method {method}")


def _current_rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmHWM not found")


def _reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def worker(methods, case, n, e, f, device, repeats, seed, measure):
    """Time (interleaved) or measure the memory of `methods` on one input."""
    import torch
    edge_index = power_law_edges(n, e, seed).to(device)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(n, f, generator=g).to(device).requires_grad_()
    w = (torch.rand(e, generator=g) + 0.5).to(device).requires_grad_()
    grad = torch.ones(n, f, device=device)
    steps, errors = {}, {}
    for m in methods:
        try:
            step = make_step(m, case, edge_index, x, w, n, device)
            step().backward(grad if case != "sddmm" else torch.ones(e, device=device))
            steps[m] = step
        except Exception as exc:  # an optional baseline absent, or a case it lacks
            errors[m] = f"{type(exc).__name__}: {exc}".splitlines()[0][:120]
        x.grad = w.grad = None
    backward_grad = grad if case != "sddmm" else torch.ones(e, device=device)

    def fwd_bwd(step):
        out = step()
        out.backward(backward_grad)
        x.grad = w.grad = None

    if measure == "memory":
        (m, step), = steps.items()
        _sync(torch, device)
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        else:
            base = _current_rss()
            _reset_peak_rss()
        fwd_bwd(step)
        _sync(torch, device)
        peak = (torch.cuda.max_memory_allocated() if device == "cuda" else _peak_rss()) - base
        return {"method": m, "peak_extra_bytes": max(peak, 0)}

    bandwidth = read_bandwidth(torch, device)
    times = {m: {"fwd_bwd": [], "fwd": []} for m in steps}
    order = list(steps)
    for r in range(repeats):
        for m in order[r % len(order):] + order[:r % len(order)]:
            _sync(torch, device)
            t0 = time.perf_counter()
            fwd_bwd(steps[m])
            _sync(torch, device)
            times[m]["fwd_bwd"].append(time.perf_counter() - t0)
            with torch.no_grad():
                t0 = time.perf_counter()
                steps[m]()
                _sync(torch, device)
                times[m]["fwd"].append(time.perf_counter() - t0)
    rows = [{"method": m, "error": err} for m, err in errors.items()]
    for m in steps:
        rows.append({"method": m, "fwd_bwd_s": statistics.median(times[m]["fwd_bwd"]),
                     "fwd_s": statistics.median(times[m]["fwd"]), "bandwidth_Bps": bandwidth})
    return {"bandwidth_Bps": bandwidth, "rows": rows}


def run_worker(args, methods, case, n, e, f, measure):
    cmd = [sys.executable, __file__, "--worker", ",".join(methods), "--cases", case,
           "--measure", measure, "--sizes", f"{n}:{e}", "--features", str(f), "--device",
           args.device, "--repeats", str(args.repeats), "--seed", str(args.seed),
           "--threads", str(args.threads)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    if measure == "memory":
        # A fixed mmap threshold makes glibc return every large freed block to
        # the OS at once, so RSS follows live memory and VmHWM is the true peak.
        env["MALLOC_MMAP_THRESHOLD_"] = "131072"
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout} s"}
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return {"error": tail[0]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_case(args, methods, case, n, e, f):
    """Rows of every method for one (graph, F, case), with the byte counts."""
    if case == "sddmm":
        methods = [m for m in methods if m == "graphcl"]
    timed = run_worker(args, methods, case, n, e, f, "time")
    if "error" in timed:
        return [{"method": m, "error": timed["error"]} for m in methods]
    nbytes = op_bytes(case, n, e, f, value=4)
    rows = []
    for r in timed["rows"]:
        r.update(case=case, num_nodes=n, num_edges=e, features=f)
        if "error" not in r:
            bw = r["bandwidth_Bps"]
            r["fwd_bytes"], r["fwd_bwd_bytes"] = nbytes["fwd"], nbytes["fwd_bwd"]
            r["fwd_fraction_of_bound"] = nbytes["fwd"] / bw / r["fwd_s"]
            if nbytes["fwd_bwd"] is not None:
                r["fwd_bwd_fraction_of_bound"] = nbytes["fwd_bwd"] / bw / r["fwd_bwd_s"]
            if args.memory:
                mem = run_worker(args, [r["method"]], case, n, e, f, "memory")
                r["peak_extra_bytes"] = mem.get("peak_extra_bytes")
        rows.append(r)
    ours = next((r for r in rows if r["method"] == "graphcl" and "error" not in r), None)
    for r in rows:
        if ours and "error" not in r:
            r["speedup_of_graphcl"] = r["fwd_bwd_s"] / ours["fwd_bwd_s"]
            r["fwd_speedup_of_graphcl"] = r["fwd_s"] / ours["fwd_s"]
            if r.get("peak_extra_bytes") and ours.get("peak_extra_bytes"):
                r["graphcl_memory_ratio"] = ours["peak_extra_bytes"] / r["peak_extra_bytes"]
    return rows


HEADER = (f"{'N':>8} {'E':>9} {'F':>4} {'case':<6} {'method':<19} {'fwd+bwd ms':>10} "
          f"{'speed-up':>8} {'fwd ms':>8} {'fwd sp-up':>9} {'fwd MB':>7} {'fwd bound':>9} "
          f"{'fb bound':>8} {'peak MB':>8}")


def format_row(r: dict) -> str:
    head = f"{r['num_nodes']:>8} {r['num_edges']:>9} {r['features']:>4} {r['case']:<6} {r['method']:<19}"
    if "error" in r:
        return f"{head} n/a: {r['error'][:70]}"
    fb = r.get("fwd_bwd_fraction_of_bound")
    peak = r.get("peak_extra_bytes")
    return (f"{head} {r['fwd_bwd_s'] * 1e3:>10.1f} {r.get('speedup_of_graphcl', float('nan')):>7.2f}x "
            f"{r['fwd_s'] * 1e3:>8.1f} {r.get('fwd_speedup_of_graphcl', float('nan')):>8.2f}x "
            f"{r['fwd_bytes'] / 1e6:>7.0f} {100 * r['fwd_fraction_of_bound']:>8.0f}% "
            f"{'' if fb is None else f'{100 * fb:.0f}%':>8} "
            f"{'' if peak is None else f'{peak / 2**20:.0f}':>8}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma list of N:E")
    parser.add_argument("--features", default="64,128,256")
    parser.add_argument("--cases", default="sum,sum_w,mean,max,min,sddmm",
                        help=f"comma list of {', '.join(CASES)}")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=int, default=1200)
    parser.add_argument("--no-memory", dest="memory", action="store_false",
                        help="skip the peak-memory workers")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--measure", default="time", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [tuple(int(v) for v in s.split(":")) for s in args.sizes.split(",")]
    features = [int(f) for f in args.features.split(",")]
    cases = [c for c in args.cases.split(",") if c]
    for c in cases:
        if c not in CASES:
            parser.error(f"unknown case {c!r}; choose from {', '.join(CASES)}")

    if args.worker:
        import torch
        torch.set_num_threads(args.threads)
        (n, e), = sizes
        print(json.dumps(worker(args.worker.split(","), cases[0], n, e, features[0], args.device,
                                args.repeats, args.seed, args.measure)))
        return

    methods = [m for m in args.methods.split(",") if m]
    load = os.getloadavg()
    print(f"# spmm, device={args.device}, threads={args.threads}, {args.repeats} interleaved rounds "
          f"(median), seed={args.seed}, {platform.processor() or platform.machine()}, "
          f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("# speed-up = method time / graphcl time (fwd+bwd and forward); fwd MB = bytes the forward "
          "must move; bound = that at the read bandwidth measured in the same worker / time")
    print(HEADER, flush=True)
    rows = []
    for n, e in sizes:
        for f in features:
            for case in cases:
                for r in measure_case(args, methods, case, n, e, f):
                    r.update(case=case, num_nodes=n, num_edges=e, features=f)
                    rows.append(r)
                    print(format_row(r), flush=True)
                bws = {r["bandwidth_Bps"] for r in rows[-len(methods):] if "bandwidth_Bps" in r}
                if bws:
                    print(f"#   read bandwidth in that worker: {max(bws) / 1e9:.1f} GB/s", flush=True)
    end_load = os.getloadavg()
    if args.out:
        # Imported here: the parent process otherwise never imports torch.
        from graphcl.io import write_json_atomic
        meta = {"device": args.device, "threads": args.threads, "repeats": args.repeats,
                "seed": args.seed, "load_average_start": load, "load_average_end": end_load,
                "command": " ".join(["python", "benchmarks/core/ops.py"] + sys.argv[1:])}
        write_json_atomic({"meta": meta, "results": rows}, args.out)


if __name__ == "__main__":
    main()
