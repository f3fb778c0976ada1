"""SCGC / SCGC* reproduction: seeds x datasets under both protocols (the
paper's label-picked maximum over epochs, and the honest final epoch), with
seconds per epoch and peak memory on this machine.

    python benchmarks/scgc/reproduce.py --datasets usps acm dblp cite \
        --models scgc_star scgc --seeds 10 --resume --out benchmarks/scgc/results

Each (model, dataset) runs in its own process, so its peak RSS is its own.
Seeds are 0 .. seeds-1 by default (AE pretraining, K-means and training all
seeded). Results go to ``<out>/<model>_<dataset>.json`` (schema 2, see
graphcl.experiment.results), rewritten after every seed. ``--shared-ae SEED``
pretrains one AE with SEED and starts every seed from it (the reference code's
setting); give it its own --out folder. hhar and reut need --features-hhar /
--features-reut (their features are not distributed with the graphs).
Seeds split over processes (--first-seed, separate --out folders) are
combined with --merge. After a run, regenerate the README tables with
``python benchmarks/make_readmes.py``.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

MODELS = ("scgc_star", "scgc")
DATASETS = ("usps", "hhar", "reut", "acm", "dblp", "cite")


def summary(results) -> str:
    from graphcl.experiment.results import seconds_per_epoch
    per_seed = results["per_seed"]
    n = len(per_seed)
    return (f"{results['method']} {results['dataset']}: {seconds_per_epoch(per_seed):.3f} s/epoch "
            f"({results['torch_threads']} threads), mean pretraining "
            f"{sum(s['timings']['pretrain_seconds'] for s in per_seed) / n:.1f} s/seed, wall "
            f"{results['timings'].get('wall_seconds', float('nan')):.0f} s, peak RSS "
            f"{results['peak_memory_gb']:.2f} GB")


def one_run(model: str, dataset: str, seeds: int, out_dir: Path, features=None, threads=0,
            epochs=None, resume=False, ae_seed=None, first_seed=None) -> dict:
    """Run one (model, dataset) in this process (the worker)."""
    import torch
    if threads:
        torch.set_num_threads(threads)
    from graphcl.experiment import get_method, run_seeds
    method = get_method(model)
    overrides = {"epochs": epochs} if epochs else {}
    if ae_seed is not None:
        overrides["ae_seed"] = ae_seed
    config = method.make_config(dataset, None).with_overrides(**overrides)
    first_seed = method.first_seed(config) if first_seed is None else first_seed
    path = out_dir / f"{model}_{dataset}.json"

    def report(results):
        last = results["per_seed"][-1]
        print(f"{model} {dataset}: seed {last['seed']} done "
              f"(ACC {100 * last['metrics']['paper']['acc']:.2f} paper / "
              f"{100 * last['metrics']['honest']['acc']:.2f} honest) -> {path}", flush=True)

    results = run_seeds(method, dataset, list(range(first_seed, first_seed + seeds)),
                        config=config, out=path, resume=resume, progress=True,
                        data_options={"features": features}, on_seed=report)
    print(method.table(results))
    print(summary(results), flush=True)
    return results


def merge_files(paths, out_dir: Path) -> Path:
    """Per-seed results of several files of one experiment -> one file."""
    from graphcl.experiment import get_method, merge_results, read_results, write_json_atomic
    parts = [read_results(p) for p in paths]
    merged = merge_results(parts)
    merged["timings"]["wall_seconds"] = sum(p["timings"].get("wall_seconds", 0.0) for p in parts)
    merged["torch_threads"] = max(p.get("torch_threads") or 0 for p in parts)
    path = out_dir / f"{merged['method']}_{merged['dataset']}.json"
    write_json_atomic(merged, path)
    print(get_method(merged["method"]).table(merged))
    print(summary(merged))
    print(f"merged {len(parts)} files, seeds {merged['seeds']} -> {path}")
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["usps", "acm", "dblp", "cite"],
                        choices=DATASETS)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--seeds", type=int, default=10, help="seeds per run (default 10)")
    parser.add_argument("--first-seed", type=int, default=None, help="first seed (default 0)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="fewer epochs than the paper's 200 (speed measurements only)")
    parser.add_argument("--features-hhar", default=None)
    parser.add_argument("--features-reut", default=None)
    parser.add_argument("--out", default="benchmarks/scgc/results", help="output folder")
    parser.add_argument("--resume", action="store_true",
                        help="keep the seeds already in the output files; run only the missing ones")
    parser.add_argument("--shared-ae", type=int, default=None, metavar="SEED",
                        help="one AE pretrained with SEED for every seed (the reference code's "
                             "setting; the authors' global seed is 42)")
    parser.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                        help="combine results files of disjoint seeds into "
                             "--out/<model>_<dataset>.json")
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "DATASET"), help=argparse.SUPPRESS)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("seeds", "epochs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"argument --{name}: must be at least 1, got {value}")
    features = {"hhar": args.features_hhar, "reut": args.features_reut}
    for name, path in features.items():
        if path is not None and not Path(path).is_file():
            parser.error(f"argument --features-{name}: {path} is not a file")
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        parser.error(f"argument --out: {out_dir} is a file; --out names a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.merge:
        merge_files(args.merge, out_dir)
        return 0
    if args.worker:
        model, dataset = args.worker
        one_run(model, dataset, args.seeds, out_dir, features.get(dataset), args.threads,
                args.epochs, args.resume, args.shared_ae, args.first_seed)
        return 0
    for model in args.models:
        for dataset in args.datasets:
            if dataset in features and features[dataset] is None:
                print(f"skipping {dataset}: pass --features-{dataset} "
                      f"(see datasets/sdcn_{dataset}.md)")
                continue
            # one process per (model, dataset): its peak RSS is its own
            cmd = [sys.executable, __file__, "--worker", model, dataset, "--seeds", str(args.seeds),
                   "--threads", str(args.threads), "--out", str(out_dir)]
            cmd += ["--epochs", str(args.epochs)] if args.epochs else []
            cmd += ["--resume"] if args.resume else []
            cmd += ["--shared-ae", str(args.shared_ae)] if args.shared_ae is not None else []
            cmd += [f"--first-seed={args.first_seed}"] if args.first_seed is not None else []
            for name, path in features.items():
                cmd += [f"--features-{name}", path] if path else []
            subprocess.run(cmd, check=True)
    print("done; regenerate the README with: python benchmarks/make_readmes.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
