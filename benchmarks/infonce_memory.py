"""Peak memory and time of the blockwise multi-positive InfoNCE
(forward + backward) at large N, in a fresh process.

    python benchmarks/infonce_memory.py --n 200000 --dim 64 --out benchmarks/results/infonce_200k.json

Peak memory is the process's peak RSS (VmHWM) at the end; the embeddings,
their gradients and the positive pairs are included. A dense N x N float32
similarity matrix alone would need 4·N² bytes (149 GB at N = 200,000).
"""
import argparse
import json
import resource
import time
from pathlib import Path

import torch

from graphcl.nn import multi_positive_infonce


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--positives", type=int, default=5, help="positives per anchor (sparse)")
    parser.add_argument("--block-size", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    n, k = args.n, args.positives
    anchor = torch.randn(n, args.dim, requires_grad=True)
    sample = torch.randn(n, args.dim, requires_grad=True)
    rows = torch.arange(n).repeat_interleave(k)
    cols = torch.randint(0, n, (n * k,))
    cols[::k] = torch.arange(n)  # every anchor is its own positive, as in HeCo
    mask = torch.sparse_coo_tensor(torch.stack([rows, cols]), torch.ones(n * k), (n, n),
                                   check_invariants=False)
    t0 = time.perf_counter()
    loss = multi_positive_infonce(anchor, sample, mask, 0.5, block_size=args.block_size)
    loss_value = loss.item()
    t1 = time.perf_counter()
    loss.backward()
    t2 = time.perf_counter()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    result = {"n": n, "dim": args.dim, "positives_per_anchor": k, "block_size": args.block_size,
              "threads": args.threads, "loss": loss_value, "forward_s": t1 - t0,
              "backward_s": t2 - t1, "peak_rss_gb": peak_gb,
              "dense_similarity_gb": 4 * n * n / 2**30}
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
