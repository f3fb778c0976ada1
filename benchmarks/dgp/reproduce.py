"""DGP reproduction on the offline gloss protocol: every model over seeds, one
results file per model (schema 2), rewritten after every seed.

    python benchmarks/dgp/reproduce.py --models ridge_ax dgp sgcn identity ridge dgpm gcnz \
        --seeds 1 --epochs 250 --hidden 256 --eval-every 50 --threads 2 --resume

The paper config is ``--epochs 3000 --hidden 2048`` (the defaults). Each model
runs in its own process (its own peak RSS). Predictions of every seed are saved
under ``$GRAPHCL_DATA/dgp_predictions/`` (not committed: 6.5 MB each). Seeds are
0 .. seeds-1; the reference rows (identity, ridge, ridge_ax) are closed form,
so their seeds agree. Then ``python benchmarks/make_readmes.py``.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODELS = ("ridge_ax", "dgp", "sgcn", "identity", "ridge", "dgpm", "gcnz")


def one_run(model: str, seeds: int, epochs: int, hidden: int, eval_every: int, out_dir: Path,
            threads: int, resume: bool) -> None:
    import torch
    if threads:
        torch.set_num_threads(threads)
    from graphcl.datasets import data_root
    from graphcl.experiment import get_method, run_seeds
    from graphcl.experiment.memory import reuse_freed_memory
    reuse_freed_memory()  # as `graphcl train`: reuse freed [N, hidden] blocks (no page faults)
    from graphcl.experiment.results import seconds_per_epoch
    method = get_method("dgp")
    config = method.make_config("imagenet", None).with_overrides(
        model=model, epochs=epochs, hidden=hidden, eval_every=eval_every)
    path = out_dir / f"{model}.json"
    saved = data_root() / "dgp_predictions"
    saved.mkdir(parents=True, exist_ok=True)

    def save(seed, artifacts):
        torch.save(artifacts["embeddings"], saved / f"{model}_e{epochs}_h{hidden}_seed{seed}.pt")

    def report(results):
        last = results["per_seed"][-1]
        print(f"{model}: seed {last['seed']} done, 2-hops hit@1 "
              f"{100 * last['metrics']['2-hops/general']['hit@1']:.2f} -> {path}", flush=True)

    results = run_seeds(method, "imagenet", list(range(seeds)), config=config, out=path,
                        resume=resume, progress=True, seed_progress=True, on_seed=report,
                        on_artifacts=save)
    print(method.table(results))
    if results["per_seed"][0]["epochs"]:
        print(f"{model}: {seconds_per_epoch(results['per_seed']):.2f} s/epoch on "
              f"{results['torch_threads']} threads, peak RSS {results['peak_memory_gb']:.2f} GB")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3000)
    parser.add_argument("--hidden", type=int, default=2048)
    parser.add_argument("--eval-every", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.worker:
        one_run(args.worker, args.seeds, args.epochs, args.hidden, args.eval_every, args.out,
                args.threads, args.resume)
        return 0
    for model in args.models:
        command = [sys.executable, __file__, "--worker", model, "--seeds", str(args.seeds),
                   "--epochs", str(args.epochs), "--hidden", str(args.hidden), "--eval-every",
                   str(args.eval_every), "--threads", str(args.threads), "--out", str(args.out)]
        subprocess.run(command + (["--resume"] if args.resume else []), check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
