"""HeCo reproduction: seeds x datasets under the reference protocol, the
results table against the paper, and speed/memory per dataset.

    python benchmarks/heco/reproduce.py --datasets acm dblp aminer --seeds 10 --resume \
        --out benchmarks/heco/results

Each dataset runs in its own process, so its peak RSS is its own. Seeds are
the paper config's seed, seed + 1, ... (ACM 0-9, DBLP 53-62, AMiner 4-13).
Results go to ``<out>/<dataset>[_<override><value>...].json`` (schema 2, see
graphcl.experiment.results), rewritten after every seed; ``--resume`` keeps
the seeds a stopped run already wrote. To use more cores, split the seeds
over processes with --first-seed and separate --out folders, then combine:

    python benchmarks/heco/reproduce.py --datasets aminer --first-seed 11 --seeds 3 \
        --out /tmp/heco_part2 --resume
    python benchmarks/heco/reproduce.py --merge benchmarks/heco/results/aminer.json \
        /tmp/heco_part2/aminer.json --out benchmarks/heco/results

Variants of the reference (--hard-negatives, --metapath-normalization,
--attn-dropout-mode) are config overrides and name the output file; a cap on
epochs (--max-epochs) goes into the config but not the file name, so give it
its own --out folder. After a run, regenerate the README tables with
``python benchmarks/make_readmes.py``.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REFERENCE = {"hard_negatives": 0, "metapath_normalization": "sym",
             "attn_dropout_mode": "parameter"}


def overrides_of(args) -> dict:
    """The config fields the options change from the reference (paper) config."""
    chosen = {"hard_negatives": args.hard_negatives,
              "metapath_normalization": args.metapath_normalization,
              "attn_dropout_mode": args.attn_dropout_mode}
    return {k: v for k, v in chosen.items() if v != REFERENCE[k]}


def results_path(out_dir: Path, dataset: str, overrides: dict) -> Path:
    """``acm.json`` for the reference, ``acm_hard_negatives64.json`` for a variant."""
    suffix = "".join(f"_{k}{v}" for k, v in sorted(overrides.items()))
    return out_dir / f"{dataset}{suffix}.json"


def summary(results) -> str:
    from graphcl.experiment.results import seconds_per_epoch
    per_seed = results["per_seed"]
    n = len(per_seed)
    return (f"{results['dataset']}: {seconds_per_epoch(per_seed):.3f} s/epoch, mean training "
            f"{sum(s['timings']['train_seconds'] for s in per_seed) / n:.1f} s/seed, mean "
            f"evaluation {sum(s['timings']['eval_seconds'] for s in per_seed) / n:.1f} s/seed, "
            f"peak RSS {results['peak_memory_gb']:.2f} GB, {results['torch_threads']} threads")


def one_dataset(dataset: str, seeds: int, out_dir: Path, overrides: dict, max_epochs=None,
                resume=False, progress=False, first_seed=None, threads=0) -> dict:
    """Run one dataset's seeds in this process (the worker)."""
    import torch
    if threads:
        torch.set_num_threads(threads)
    from graphcl.experiment import get_method, run_seeds, terminal_table
    method = get_method("heco")
    config = method.make_config(dataset, None).with_overrides(
        **overrides, **({"max_epochs": max_epochs} if max_epochs else {}))
    first_seed = method.first_seed(config) if first_seed is None else first_seed
    path = results_path(out_dir, dataset, overrides)

    def report(results):
        last = results["per_seed"][-1]
        print(f"{dataset}: seed {last['seed']} done ({last['epochs']} epochs, "
              f"{last['timings']['train_seconds']:.0f} s) -> {path}", flush=True)

    results = run_seeds(method, dataset, list(range(first_seed, first_seed + seeds)),
                        config=config, out=path, resume=resume, progress=True,
                        seed_progress=progress, on_seed=report)
    print(terminal_table(results))
    print(summary(results), flush=True)
    return results


def merge_files(paths, out_dir: Path) -> Path:
    """Per-seed results of several files of one experiment -> one file.
    Peak memory and threads are the maximum over the parts, wall time their sum."""
    from graphcl.experiment import merge_results, read_results, terminal_table, write_json_atomic
    parts = [read_results(p) for p in paths]
    merged = merge_results(parts)
    merged["timings"]["wall_seconds"] = sum(p["timings"].get("wall_seconds", 0.0) for p in parts)
    merged["torch_threads"] = max(p.get("torch_threads") or 0 for p in parts)
    overrides = {k: merged["config"][k] for k in REFERENCE
                 if merged["config"].get(k, REFERENCE[k]) != REFERENCE[k]}
    path = results_path(out_dir, merged["dataset"], overrides)
    write_json_atomic(merged, path)
    print(terminal_table(merged))
    print(summary(merged))
    print(f"merged {len(parts)} files, seeds {merged['seeds']} -> {path}")
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="See the module docstring for splitting seeds.")
    parser.add_argument("--datasets", nargs="+", default=["acm", "dblp", "aminer"],
                        choices=["acm", "dblp", "aminer", "freebase"])
    parser.add_argument("--seeds", type=int, default=10, help="seeds per dataset (default 10)")
    parser.add_argument("--first-seed", type=int, default=None,
                        help="first seed (default: the paper config's seed)")
    parser.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                        help="combine results files of disjoint seeds into --out/<dataset>.json")
    parser.add_argument("--out", default="benchmarks/heco/results", help="output folder")
    parser.add_argument("--hard-negatives", type=int, default=0,
                        help="our HeCo_MU-style option: mix each anchor's k hardest negatives")
    parser.add_argument("--metapath-normalization", choices=["sym", "row"], default="sym",
                        help="'sym' is the reference; 'row' is a variant to compare")
    parser.add_argument("--attn-dropout-mode", choices=["parameter", "coefficients"],
                        default="parameter",
                        help="'parameter' is the reference's quirk (dropout on the attention "
                             "vector); 'coefficients' is the usual GAT dropout, a variant")
    parser.add_argument("--max-epochs", type=int, default=None,
                        help="cap on epochs (default: early stopping within 10,000)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the seeds already in the output file; run only the missing ones")
    parser.add_argument("--progress", action="store_true",
                        help="show each seed's training progress bar (epoch, loss, wait)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("seeds", "max_epochs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"argument --{name.replace('_', '-')}: must be at least 1, got {value}")
    if args.hard_negatives < 0:
        parser.error(f"argument --hard-negatives: must be >= 0, got {args.hard_negatives}")
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        parser.error(f"argument --out: {out_dir} is a file; --out names a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.merge:
        merge_files(args.merge, out_dir)
        return 0
    overrides = overrides_of(args)
    if args.worker:
        one_dataset(args.datasets[0], args.seeds, out_dir, overrides, args.max_epochs,
                    args.resume, args.progress, args.first_seed, args.threads)
        return 0
    start = time.perf_counter()
    for dataset in args.datasets:
        # one process per dataset: its peak RSS is its own
        cmd = [sys.executable, __file__, "--worker", "--datasets", dataset,
               "--seeds", str(args.seeds), "--out", str(out_dir), "--threads", str(args.threads),
               "--hard-negatives", str(args.hard_negatives),
               "--metapath-normalization", args.metapath_normalization,
               "--attn-dropout-mode", args.attn_dropout_mode]
        cmd += ["--max-epochs", str(args.max_epochs)] if args.max_epochs else []
        cmd += ["--resume"] if args.resume else []
        cmd += ["--progress"] if args.progress else []
        cmd += [f"--first-seed={args.first_seed}"] if args.first_seed is not None else []
        subprocess.run(cmd, check=True)
    print(f"all datasets done in {time.perf_counter() - start:.0f} s; regenerate the README "
          "with: python benchmarks/make_readmes.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
