"""Command line: ``graphcl train <method> --dataset NAME --seeds N --out results.json``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional


def _train_heco(args) -> int:
    from graphcl.methods.heco import paper_config, results_table, run_heco, write_results
    config = paper_config(args.dataset)
    seeds = list(range(config.seed, config.seed + args.seeds)) if args.seed is None else \
        list(range(args.seed, args.seed + args.seeds))
    out = Path(args.out)
    embeddings = Path(args.embeddings) if args.embeddings else out.with_suffix(".embeddings.pt")
    results = run_heco(args.dataset, seeds, config=config, max_epochs=args.max_epochs,
                       embeddings_path=embeddings)
    write_results(results, out)
    print(results_table(results))
    print(f"wrote {out} and {embeddings}")
    return 0


def _train_scgc(args) -> int:
    from graphcl.methods.scgc import paper_config, results_table, run_scgc, write_results
    config = paper_config(args.dataset, star=args.star)
    first = config.seed if args.seed is None else args.seed
    results = run_scgc(args.dataset, list(range(first, first + args.seeds)), config=config,
                       features=args.features, epochs=args.epochs, ae_seed=args.shared_ae)
    out = Path(args.out)
    write_results(results, out)
    print(results_table(results))
    print(f"wrote {out}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="graphcl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train and evaluate a method")
    methods = train.add_subparsers(dest="method", required=True)
    heco = methods.add_parser("heco", help="HeCo on ACM, DBLP, AMiner or Freebase")
    heco.add_argument("--dataset", required=True, choices=["acm", "dblp", "aminer", "freebase"])
    heco.add_argument("--seeds", type=int, default=1, help="number of training seeds")
    heco.add_argument("--seed", type=int, default=None,
                      help="first seed (default: the paper config's seed)")
    heco.add_argument("--max-epochs", type=int, default=None, help="cap on epochs (default 10000)")
    heco.add_argument("--out", default="results.json")
    heco.add_argument("--embeddings", default=None, help="where to save embeddings (.pt)")
    heco.set_defaults(handler=_train_heco)
    scgc = methods.add_parser("scgc", help="SCGC / SCGC* clustering on the SDCN datasets")
    scgc.add_argument("--dataset", required=True,
                      choices=["usps", "hhar", "reut", "acm", "dblp", "cite"])
    scgc.add_argument("--star", action="store_true", help="SCGC* (encoder only, IAC loss)")
    scgc.add_argument("--seeds", type=int, default=1, help="number of seeds (0, 1, ...)")
    scgc.add_argument("--seed", type=int, default=None, help="first seed (default 0)")
    scgc.add_argument("--epochs", type=int, default=None, help="epochs (default: 200)")
    scgc.add_argument("--features", default=None,
                      help="feature file for hhar/reut (.npy or whitespace-separated .txt)")
    scgc.add_argument("--shared-ae", type=int, default=None, metavar="SEED",
                      help="pretrain one AE with SEED and start every seed from it, as the "
                           "reference code does (default: one AE per seed)")
    scgc.add_argument("--out", default="results.json")
    scgc.set_defaults(handler=_train_scgc)
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
