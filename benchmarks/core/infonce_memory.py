"""Time and peak memory of the blockwise multi-positive InfoNCE
(forward + backward) at large N, each measurement in a fresh process.

    python benchmarks/core/infonce_memory.py --out benchmarks/core/results/infonce_200k.json
    python benchmarks/core/infonce_memory.py --n 50000 --mask dense --block-size 2048 1024

A worker process builds the embeddings (anchor [N, d], sample [M, d], both
requiring grad) and the positive mask (by default sparse COO with
--positives-per-row entries per row, the anchor itself included as in HeCo),
then runs the loss forward and backward once and reports the wall time of
each and the process's peak RSS (getrusage ru_maxrss, which includes Python,
torch, the inputs, their gradients and the mask). A second worker builds the
same inputs (and gradient buffers) without running the loss: the difference
of the two peaks is what the loss itself needed. A dense N x M float32
similarity matrix alone would need 4·N·M bytes (149 GB at N = M = 200,000).
The worker also checks a few rows of the per-anchor loss against a direct
float64 evaluation over all M candidates, and records its CPU time: CPU time
well below threads x wall time means other processes competed for the cores
and the wall times are inflated.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _loadavg() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports kB


def build_inputs(args):
    import torch
    g = torch.Generator().manual_seed(args.seed)
    n, m = args.n, args.m or args.n
    anchor = torch.randn(n, args.dim, generator=g).requires_grad_()
    sample = torch.randn(m, args.dim, generator=g).requires_grad_()
    k = args.positives_per_row
    if args.density is not None:
        k = max(1, round(args.density * m))
    if args.mask == "dense":
        mask = torch.empty(n, m, dtype=torch.bool)
        step = max(1, 2**24 // m)  # in row chunks: no N x M float temporary
        for r0 in range(0, n, step):
            torch.lt(torch.rand(min(step, n - r0), m, generator=g), (k - 1) / m,
                     out=mask[r0:r0 + step])
        mask[torch.arange(n), torch.arange(n) % m] = True
    else:
        rows = torch.arange(n).repeat_interleave(k)
        cols = torch.randint(0, m, (n * k,), generator=g)
        cols[::k] = torch.arange(n) % m  # every anchor is its own positive, as in HeCo
        mask = torch.sparse_coo_tensor(torch.stack([rows, cols]), torch.ones(n * k), (n, m),
                                       check_invariants=False).coalesce()
        if args.mask == "csr":
            mask = mask.to_sparse_csr()
    return anchor, sample, mask, k


def spot_check(anchor, sample, mask, tau, per_row, rows):
    """|loss_i - direct float64 loss_i| for a few rows (all M candidates)."""
    import torch
    from torch.nn import functional as F
    with torch.no_grad():
        a = F.normalize(anchor[rows].double(), dim=1)
        b = F.normalize(sample.double(), dim=1)
        s = a @ b.t() / tau
        if mask.layout == torch.strided:
            p = mask[rows].double()
        else:
            p = torch.stack([mask.to_sparse_coo().index_select(0, r.view(1)).to_dense()[0]
                             for r in rows]).double()
        exact = torch.logsumexp(s, 1) - torch.logsumexp(s + p.log(), 1)
        return float((per_row[rows].double() - exact).abs().max())


def worker(args) -> dict:
    import torch
    torch.set_num_threads(args.threads)
    from graphcl.nn import multi_positive_infonce

    anchor, sample, mask, k = build_inputs(args)
    block = tuple(args.block_size) if len(args.block_size) == 2 else args.block_size[0]
    result = {"n": anchor.size(0), "m": sample.size(0), "dim": anchor.size(1), "mask": args.mask,
              "positives_per_row": k, "block_size": block, "tau": args.tau,
              "threads": torch.get_num_threads()}
    if args.baseline:
        anchor.grad, sample.grad = torch.zeros_like(anchor), torch.zeros_like(sample)
        result["peak_rss_bytes"] = _peak_rss_bytes()
        return result
    rss_before = _rss_bytes()
    load_before = _loadavg()
    c0, t0 = time.process_time(), time.perf_counter()
    per_row = multi_positive_infonce(anchor, sample, mask, args.tau, block_size=block,
                                     reduction="none")
    loss = per_row.mean()
    loss_value = loss.item()
    c1, t1 = time.process_time(), time.perf_counter()
    loss.backward()
    c2, t2 = time.process_time(), time.perf_counter()
    peak = _peak_rss_bytes()
    # cpu_s close to threads x wall means the run had the cores to itself
    result.update(cpu_forward_s=c1 - c0, cpu_backward_s=c2 - c1,
                  loadavg_1min_before=load_before, loadavg_1min_after=_loadavg())
    rows = torch.randperm(anchor.size(0), generator=torch.Generator().manual_seed(1))[:8]
    result.update(loss=loss_value, forward_s=t1 - t0, backward_s=t2 - t1, total_s=t2 - t0,
                  rss_before_loss_bytes=rss_before, peak_rss_bytes=peak,
                  grad_finite=bool(torch.isfinite(anchor.grad).all() and
                                   torch.isfinite(sample.grad).all()),
                  spot_check_max_abs_err=spot_check(anchor, sample, mask, args.tau,
                                                    per_row.detach(), rows))
    return result


def run_worker(args, baseline: bool) -> dict:
    cmd = [sys.executable, __file__, "--worker", "--n", str(args.n), "--dim", str(args.dim),
           "--positives-per-row", str(args.positives_per_row), "--mask", args.mask,
           "--tau", str(args.tau), "--threads", str(args.threads), "--seed", str(args.seed),
           "--block-size", *map(str, args.block_size)]
    if args.m:
        cmd += ["--m", str(args.m)]
    if args.density is not None:
        cmd += ["--density", str(args.density)]
    if baseline:
        cmd.append("--baseline")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"worker failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="anchors N")
    parser.add_argument("--m", type=int, default=None, help="candidates M (default: N)")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--block-size", type=int, nargs="+", default=[2048],
                        help="tile size: one int, or rows cols")
    parser.add_argument("--positives-per-row", type=int, default=10)
    parser.add_argument("--density", type=float, default=None,
                        help="mask density nnz/(N*M); overrides --positives-per-row")
    parser.add_argument("--mask", choices=["coo", "csr", "dense"], default="coo")
    parser.add_argument("--tau", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the worker without the loss")
    parser.add_argument("--out", default=None, help="write the result as JSON here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if len(args.block_size) not in (1, 2):
        parser.error("--block-size takes one int or two (rows cols)")

    if args.worker:
        print(json.dumps(worker(args)))
        return

    mib = 2**20
    m = args.m or args.n
    print(f"# multi-positive InfoNCE fwd+bwd: N={args.n} M={m} d={args.dim} mask={args.mask} "
          f"block={args.block_size} threads={args.threads} "
          f"({platform.processor() or platform.machine()})", flush=True)
    result = run_worker(args, baseline=False)
    if not args.no_baseline:
        base = run_worker(args, baseline=True)
        result["baseline_peak_rss_bytes"] = base["peak_rss_bytes"]
        result["loss_peak_rss_growth_bytes"] = result["peak_rss_bytes"] - base["peak_rss_bytes"]
    result["dense_similarity_bytes"] = 4 * args.n * m
    cpu = result["cpu_forward_s"] + result["cpu_backward_s"]
    print(f"forward {result['forward_s']:.1f} s, backward {result['backward_s']:.1f} s, "
          f"total {result['total_s']:.1f} s (CPU {cpu:.1f} s = {cpu / result['total_s']:.2f} cores "
          f"busy); loss {result['loss']:.6f} "
          f"(spot check |err| {result['spot_check_max_abs_err']:.2e})")
    line = f"peak RSS {result['peak_rss_bytes'] / mib:.0f} MiB"
    if "baseline_peak_rss_bytes" in result:
        line += (f" (inputs without the loss: {result['baseline_peak_rss_bytes'] / mib:.0f} MiB, "
                 f"loss adds {result['loss_peak_rss_growth_bytes'] / mib:.0f} MiB)")
    dense_mib = result["dense_similarity_bytes"] / mib
    print(line + f"; a dense N x M float32 matrix: {dense_mib:.0f} MiB")
    if args.out:
        result["command"] = " ".join(["python"] + [Path(sys.argv[0]).as_posix()] + sys.argv[1:])
        result["machine"] = platform.processor() or platform.machine()
        # Imported here: the parent process otherwise never imports torch.
        from graphcl.io import write_json_atomic
        write_json_atomic(result, args.out)


if __name__ == "__main__":
    main()
