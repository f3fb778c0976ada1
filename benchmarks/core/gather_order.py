"""How much of the spmm forward's distance from the bandwidth bound is the
machine's random-access cost rather than the kernel: the same graphcl kernel,
the same row degrees (power-law, as in ops.py) and the same bytes, with the
column of every edge drawn two ways:

- ``random``: ops.py's power-law sources, so the rows of x are gathered in
  data-dependent order;
- ``streaming``: col[e] = e mod N, so consecutive edges read consecutive rows
  of x and the hardware prefetcher sees a sequential stream.

The fraction of the bound (bytes of ops.op_bytes at the read bandwidth
measured in the same process) of ``streaming`` is what the kernel reaches
when the access pattern is not the limit; the gap to ``random`` is the cost
of gathering rows at random on this machine.

    python benchmarks/core/gather_order.py --threads 2 --features 64,128,256
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from ops import op_bytes, power_law_edges, read_bandwidth


def time_forward(step, rounds: int) -> float:
    with torch.no_grad():
        step()  # warm-up
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> None:
    from graphcl import SparseGraph, ops
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--features", default="64,128,256", help="comma-separated F values")
    parser.add_argument("--cases", default="sum,max", help="comma-separated: sum, mean, max, min")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    n, e = args.nodes, args.edges
    random_edges = power_law_edges(n, e, seed=0)
    graphs = {"random": SparseGraph.from_edge_index(random_edges, num_nodes=n)}
    # The same destinations (row degrees), sources in streaming order.
    rowptr = graphs["random"].rowptr
    graphs["streaming"] = SparseGraph(rowptr, torch.arange(e, dtype=rowptr.dtype) % n,
                                      num_cols=n)
    bandwidth = read_bandwidth(torch, "cpu")
    print(f"# N={n} E={e} threads={args.threads} read bandwidth {bandwidth / 1e9:.1f} GB/s, "
          f"median of {args.rounds}")
    print(f"{'F':>4} {'case':<5} {'order':<10} {'fwd ms':>8} {'fwd bound':>9}")
    for f in (int(v) for v in args.features.split(",")):
        x = torch.randn(n, f)
        for case in args.cases.split(","):
            for order, graph in graphs.items():
                seconds = time_forward(lambda: ops.spmm(graph, x, reduce=case), args.rounds)
                fraction = op_bytes(case, n, e, f)["fwd"] / bandwidth / seconds
                print(f"{f:>4} {case:<5} {order:<10} {seconds * 1e3:8.1f} {fraction:9.0%}",
                      flush=True)


if __name__ == "__main__":
    main()
