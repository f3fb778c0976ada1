"""HeCo reproduction: 10 seeds per dataset under the reference protocol, the
results table against the paper, and speed/memory per dataset.

    python benchmarks/heco_reproduce.py --datasets acm dblp aminer --seeds 10 \
        --out benchmarks/results/heco

Each dataset runs in its own process so its peak RSS is its own. Seeds are
the paper config's seed, seed + 1, ... (ACM 0-9, DBLP 53-62, AMiner 4-13).
To use more cores, split the seeds over processes with --first-seed and
separate --out folders, then combine them:

    python benchmarks/heco_reproduce.py --datasets aminer --first-seed 11 --seeds 3 \
        --out benchmarks/results/heco_part2 --resume
    python benchmarks/heco_reproduce.py --merge benchmarks/results/heco/aminer.json \
        benchmarks/results/heco_part2/aminer.json --out benchmarks/results/heco
"""
import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def seconds_per_epoch(per_seed) -> float:
    """Training seconds per epoch over all seeds (not a mean of per-seed rates)."""
    return sum(s["train_seconds"] for s in per_seed) / sum(s["epochs"] for s in per_seed)


def one_dataset(dataset: str, seeds: int, out_dir: Path, overrides: dict,
                max_epochs=None, resume=False, progress=False, first_seed=None) -> dict:
    import torch
    from graphcl.methods.heco import paper_config, results_table, run_heco, write_results
    cfg = paper_config(dataset).with_overrides(**overrides)
    first_seed = cfg.seed if first_seed is None else first_seed
    start = time.perf_counter()
    suffix = "".join(f"_{k}{v}" for k, v in sorted(overrides.items()))
    path = out_dir / f"{dataset}{suffix}.json"

    def save(results, report=True):  # after every seed: a stopped run keeps what it finished
        results["wall_seconds"] = time.perf_counter() - start
        results["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        results["torch_threads"] = torch.get_num_threads()
        per_seed = results["per_seed"]
        results["seconds_per_epoch"] = seconds_per_epoch(per_seed)
        write_results(results, path)
        if report:
            print(f"{dataset}: seed {per_seed[-1]['seed']} done ({per_seed[-1]['epochs']} epochs, "
              f"{per_seed[-1]['train_seconds']:.0f} s) -> {path}", flush=True)

    previous = json.loads(path.read_text()) if resume and path.exists() else None
    results = run_heco(dataset, list(range(first_seed, first_seed + seeds)), config=cfg,
                       progress=progress, on_seed=save, max_epochs=max_epochs,
                       resume_from=previous)
    save(results, report=False)
    per_seed = results["per_seed"]
    print(results_table(results))
    print(f"{dataset}: {results['seconds_per_epoch']:.3f} s/epoch, mean training "
          f"{sum(s['train_seconds'] for s in per_seed) / len(per_seed):.1f} s/seed, mean evaluation "
          f"{sum(s['eval_seconds'] for s in per_seed) / len(per_seed):.1f} s/seed, peak RSS "
          f"{results['peak_rss_gb']:.2f} GB", flush=True)
    return results


def merge_files(paths, out_dir: Path) -> None:
    """Per-seed results of several files -> one file; run-level figures
    (peak RSS, threads) are the maximum over the parts, wall time their sum."""
    from graphcl.methods.heco import merge_results, results_table, write_results
    parts = [json.loads(Path(p).read_text()) for p in paths]
    merged = merge_results(parts)
    per_seed = merged["per_seed"]
    merged["wall_seconds"] = sum(p.get("wall_seconds", 0.0) for p in parts)
    merged["peak_rss_gb"] = max(p.get("peak_rss_gb", 0.0) for p in parts)
    merged["torch_threads"] = max(p.get("torch_threads", 0) for p in parts)
    merged["seconds_per_epoch"] = seconds_per_epoch(per_seed)
    path = out_dir / f"{merged['dataset']}.json"
    write_results(merged, path)
    print(results_table(merged))
    print(f"merged {len(parts)} files, seeds {merged['seeds']} -> {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["acm", "dblp", "aminer"])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=None,
                        help="first seed (default: the paper config's seed)")
    parser.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                        help="combine results files of disjoint seeds into --out/<dataset>.json")
    parser.add_argument("--out", default="benchmarks/results/heco")
    parser.add_argument("--hard-negatives", type=int, default=0,
                        help="our HeCo_MU-style option: mix each anchor's k hardest negatives")
    parser.add_argument("--metapath-normalization", choices=["sym", "row"], default="sym",
                        help="'sym' is the reference; 'row' is a variant to compare")
    parser.add_argument("--attn-dropout-mode", choices=["parameter", "coefficients"],
                        default="parameter",
                        help="'parameter' is the reference's quirk (dropout on the attention "
                             "vector); 'coefficients' is the usual GAT dropout, a variant to compare")
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="cap on epochs (speed measurements only; default: early stopping)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the seeds already in the output file; run only the missing ones")
    parser.add_argument("--progress", action="store_true",
                        help="show each seed's training progress bar (epoch, loss, wait)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.merge:
        merge_files(args.merge, out_dir)
        return
    overrides = {}
    if args.hard_negatives:
        overrides["hard_negatives"] = args.hard_negatives
    if args.metapath_normalization != "sym":
        overrides["metapath_normalization"] = args.metapath_normalization
    if args.attn_dropout_mode != "parameter":
        overrides["attn_dropout_mode"] = args.attn_dropout_mode
    if args.worker:
        one_dataset(args.datasets[0], args.seeds, out_dir, overrides, args.max_epochs, args.resume,
                    args.progress, args.first_seed)
        return
    for dataset in args.datasets:
        subprocess.run([sys.executable, __file__, "--worker", "--datasets", dataset,
                        "--seeds", str(args.seeds), "--out", str(out_dir),
                        "--hard-negatives", str(args.hard_negatives),
                        "--metapath-normalization", args.metapath_normalization,
                        "--attn-dropout-mode", args.attn_dropout_mode]
                       + (["--max-epochs", str(args.max_epochs)] if args.max_epochs else [])
                       + (["--resume"] if args.resume else [])
                       + (["--progress"] if args.progress else [])
                       + ([f"--first-seed={args.first_seed}"] if args.first_seed is not None
                          else []),
                       check=True)


if __name__ == "__main__":
    main()
