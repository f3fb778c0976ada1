"""One SCGC* training epoch at N = 100k: peak memory and time.

    python benchmarks/scgc/memory.py --n 100000 --out benchmarks/scgc/results/memory_100k.json

Synthetic data shaped like USPS (d = 256, 10 Gaussian clusters), a graph with
3 random same-cluster neighbours per node (symmetrised; --graph knn uses
graphcl's exact chunked kNN instead, which is O(N^2 d) and slow at 100k on
2 cores), then SCGC*'s structure target sum_{k<=r} Â^k (sparse products) and
one full-batch epoch:
encoder forward, Student-t assignment, KL, the blockwise neighbour contrast,
backward and the Adam step. Â^r fills in with r (on the random graph about
7^r entries per row; USPS's kNN graph has about 180 per row at r = 4), so the
default is r = 2. Peak RSS is the process's ru_maxrss; a dense
N x N float32 similarity alone would need 4 N^2 bytes (40 GB at N = 100k).
"""
import argparse
import json
import resource
import time

import torch

from graphcl.io import write_json_atomic


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=256)
    parser.add_argument("--order", type=int, default=2)
    parser.add_argument("--graph", choices=["random", "knn"], default="random")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    from graphcl.graph import SparseGraph
    from graphcl.knn import knn_graph, symmetrize
    from graphcl.methods.scgc import SCGC, SDCNAutoencoder, structure_target
    from graphcl.nn import target_distribution

    g = torch.Generator().manual_seed(0)
    centers = torch.rand(10, args.d, generator=g)
    y = torch.randint(0, 10, (args.n,), generator=g)
    x = (centers[y] + 0.15 * torch.randn(args.n, args.d, generator=g)).clamp_(0, 1)
    timings = {}
    tic = time.perf_counter()
    if args.graph == "knn":
        directed = knn_graph(x, 3, "heat", chunk_size=2048)
    else:
        per_class = [torch.nonzero(y == c).flatten() for c in range(10)]
        sizes = torch.tensor([len(v) for v in per_class])
        src = torch.arange(args.n).repeat_interleave(3)
        pick = (torch.rand(3 * args.n, generator=g) * sizes[y[src]]).long()
        dst = torch.cat(per_class)[torch.cumsum(sizes, 0)[y[src]] - sizes[y[src]] + pick]
        directed = torch.stack([src, dst])
    edge_index = symmetrize(directed, args.n)
    timings["graph_s"] = time.perf_counter() - tic
    tic = time.perf_counter()
    target = structure_target(SparseGraph.from_edge_index(edge_index, num_nodes=args.n),
                              args.order, cumulative=True)
    timings["structure_target_s"] = time.perf_counter() - tic
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    torch.manual_seed(0)
    model = SCGC(SDCNAutoencoder(args.d), 10, star=True, alpha=4.0, beta=0.1, tau=0.25)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    tic = time.perf_counter()
    z, q, x_hat = model(x)
    p = target_distribution(q.detach())
    terms = model.loss(x, z, q, p, x_hat, target)
    opt.zero_grad()
    terms["total"].backward()
    opt.step()
    timings["epoch_s"] = time.perf_counter() - tic
    result = {"n": args.n, "d": args.d, "order": args.order, "graph": args.graph, "target_nnz": int(target.num_edges),
              "edges": int(edge_index.size(1)), **timings,
              "peak_rss_gb_before_epoch": rss_before,
              "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
              "dense_similarity_gb": 4 * args.n ** 2 / 2**30,
              "torch_threads": torch.get_num_threads(), "loss": terms["total"].item()}
    print(json.dumps(result, indent=2))
    if args.out:
        write_json_atomic(result, args.out)


if __name__ == "__main__":
    main()
