"""SCGC / SCGC* reproduction: seeds x datasets under both protocols (the
paper's label-picked maximum over epochs, and the honest final epoch), with
seconds per epoch and peak memory on this machine.

    python benchmarks/scgc_reproduce.py --datasets usps acm dblp cite \
        --models scgc_star scgc --seeds 10 --out benchmarks/results/scgc

Each (model, dataset) runs in its own process so that its peak RSS is its own;
seeds are 0 .. seeds-1 (AE pretraining, K-means and training all seeded).
hhar and reut need --features-hhar / --features-reut (their features are not
distributed with the graphs).
"""
import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def one_run(model: str, dataset: str, seeds: int, out_dir: Path, features, threads,
            epochs=None, resume=False, ae_seed=None) -> None:
    import torch
    if threads:
        torch.set_num_threads(threads)
    from graphcl.methods.scgc import results_table, run_scgc, write_results
    start = time.perf_counter()
    path = out_dir / f"{model}_{dataset}.json"

    def save(results):  # after every seed: a stopped run keeps what it finished
        results["wall_seconds"] = time.perf_counter() - start
        results["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        results["torch_threads"] = torch.get_num_threads()
        write_results(results, path)

    previous = json.loads(path.read_text()) if resume and path.exists() else None
    results = run_scgc(dataset, list(range(seeds)), star=model == "scgc_star",
                       features=features, progress=False, on_seed=save, epochs=epochs,
                       resume_from=previous, ae_seed=ae_seed)
    save(results)
    print(results_table(results))
    per_seed = results["per_seed"]
    print(f"{model} {dataset}: {results['seconds_per_epoch']:.3f} s/epoch "
          f"({results['torch_threads']} threads), mean pretraining "
          f"{sum(s['pretrain_seconds'] for s in per_seed) / len(per_seed):.1f} s/seed, "
          f"wall {results['wall_seconds']:.0f} s, peak RSS {results['peak_rss_gb']:.2f} GB",
          flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["usps", "acm", "dblp", "cite"])
    parser.add_argument("--models", nargs="+", default=["scgc_star", "scgc"],
                        choices=["scgc", "scgc_star"])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="fewer epochs than the paper's 200 (speed measurements only)")
    parser.add_argument("--features-hhar", default=None)
    parser.add_argument("--features-reut", default=None)
    parser.add_argument("--out", default="benchmarks/results/scgc")
    parser.add_argument("--resume", action="store_true",
                        help="keep the seeds already in the output files; run only the missing ones")
    parser.add_argument("--shared-ae", type=int, default=None, metavar="SEED",
                        help="one AE pretrained with SEED for every seed (the reference code's "
                             "setting; the authors' global seed is 42)")
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "DATASET"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    features = {"hhar": args.features_hhar, "reut": args.features_reut}
    if args.worker:
        model, dataset = args.worker
        one_run(model, dataset, args.seeds, out_dir, features.get(dataset), args.threads,
                args.epochs, args.resume, args.shared_ae)
        return
    for model in args.models:
        for dataset in args.datasets:
            if dataset in features and features[dataset] is None:
                print(f"skipping {dataset}: pass --features-{dataset} (see datasets/sdcn_{dataset}.md)")
                continue
            cmd = [sys.executable, __file__, "--worker", model, dataset, "--seeds", str(args.seeds),
                   "--threads", str(args.threads), "--out", str(out_dir)]
            if args.epochs:
                cmd += ["--epochs", str(args.epochs)]
            if args.resume:
                cmd.append("--resume")
            if args.shared_ae is not None:
                cmd += ["--shared-ae", str(args.shared_ae)]
            for name, path in features.items():
                if path:
                    cmd += [f"--features-{name}", path]
            subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
