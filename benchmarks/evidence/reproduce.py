"""Evidence recommendation: every model and baseline, N seeds, val and test.

    python benchmarks/evidence/reproduce.py --seeds 5 --resume --out benchmarks/evidence/results
    python benchmarks/evidence/reproduce.py --models multichannel concat --seeds 5 --resume

One results file per model, ``<out>/<model>.json`` (schema 2, see
graphcl.experiment.results), rewritten after every seed by the runner;
``--resume`` keeps the seeds a stopped run already wrote. The task's inputs
(text features, both graphs) are built once per process and shared by its
models. Seeds 0..N-1; split seed ``--split-seed`` (0 = the reference's).
Regenerate the README table with ``python benchmarks/make_readmes.py``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ORDER = ("popularity", "tfidf", "bm25", "mf", "lightgcn", "coref", "text", "concat",
         "multichannel")


def main(argv=None) -> int:
    from graphcl.methods.evidence.config import MODELS
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(ORDER))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    import torch

    from graphcl.experiment import get_method, run_seeds
    torch.set_num_threads(args.threads)
    method = get_method("evidence")
    args.out.mkdir(parents=True, exist_ok=True)
    for model in args.models:
        config = method.make_config("evidence", argparse.Namespace(
            model=model, split_seed=args.split_seed, max_epochs=None, conv=None))
        tic = time.perf_counter()
        results = run_seeds(method, "evidence", list(range(args.seeds)), config=config,
                            out=args.out / f"{model}.json", resume=args.resume,
                            progress=not args.quiet)
        test = results["metrics"]["test"]
        print(f"{model:>12}: test recall@20 {test['recall@20']['mean']:.3f}"
              f"±{test['recall@20']['std']:.3f}, ndcg@10 {test['ndcg@10']['mean']:.3f} "
              f"({time.perf_counter() - tic:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
