"""Command line: ``graphcl train <method> --dataset NAME --seeds N --out results.json``.

Every argument is checked before any data is loaded or any model trained:
counts and epochs must be positive, seeds lie in ``[0, 2**32 - 1]`` (numpy's
range), at most :data:`MAX_SEEDS` seeds per run, and the output files must be
writable (not a folder, no regular file on the way to them).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from graphcl.experiment.arguments import check_output_path, positive_int, seed_int
from graphcl.experiment.seeding import MAX_SEED
from graphcl.methods._results import MAX_SEEDS


def _seed_count(text: str) -> int:
    """``--seeds``: an int in [1, MAX_SEEDS] (argparse type)."""
    value = positive_int(text)
    if value > MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SEEDS}, got {value}")
    return value


def _seeds(parser: argparse.ArgumentParser, args, default_first: int) -> List[int]:
    """The run's seeds, after checking that the last one is still a valid seed."""
    first = default_first if args.seed is None else args.seed
    last = first + args.seeds - 1
    if last > MAX_SEED:
        parser.error(f"argument --seeds: --seed {first} with --seeds {args.seeds} runs up to "
                     f"seed {last}, beyond the largest seed {MAX_SEED}")
    return list(range(first, last + 1))


def _output(parser: argparse.ArgumentParser, path, flag: str) -> Path:
    try:
        return check_output_path(path, flag)
    except ValueError as exc:
        parser.error(f"argument {flag}: {exc}")


def _check_heco(parser: argparse.ArgumentParser, args) -> None:
    from graphcl.methods.heco import paper_config
    args.config = paper_config(args.dataset)
    args.seed_list = _seeds(parser, args, args.config.seed)
    args.out = _output(parser, args.out, "--out")
    embeddings = Path(args.embeddings) if args.embeddings else args.out.with_suffix(".embeddings.pt")
    args.embeddings = _output(parser, embeddings, "--embeddings")
    if args.embeddings.absolute() == args.out.absolute():
        parser.error(f"argument --embeddings: {args.embeddings} is also the --out file")


def _check_scgc(parser: argparse.ArgumentParser, args) -> None:
    from graphcl.methods.scgc import paper_config
    args.config = paper_config(args.dataset, star=args.star)
    args.seed_list = _seeds(parser, args, args.config.seed)
    args.out = _output(parser, args.out, "--out")
    if args.features is not None and not Path(args.features).is_file():
        parser.error(f"argument --features: {args.features} is not a file")


def _train_heco(args) -> int:
    from graphcl.methods.heco import results_table, run_heco, write_results
    results = run_heco(args.dataset, args.seed_list, config=args.config,
                       max_epochs=args.max_epochs, embeddings_path=args.embeddings)
    write_results(results, args.out)
    print(results_table(results))
    print(f"wrote {args.out} and {args.embeddings}")
    return 0


def _train_scgc(args) -> int:
    from graphcl.methods.scgc import results_table, run_scgc, write_results
    results = run_scgc(args.dataset, args.seed_list, config=args.config,
                       features=args.features, epochs=args.epochs, ae_seed=args.shared_ae)
    write_results(results, args.out)
    print(results_table(results))
    print(f"wrote {args.out}")
    return 0


def _add_seed_arguments(parser: argparse.ArgumentParser, first: str) -> None:
    parser.add_argument("--seeds", type=_seed_count, default=1,
                        help=f"number of training seeds, 1..{MAX_SEEDS} (default 1)")
    parser.add_argument("--seed", type=seed_int, default=None,
                        help=f"first seed, 0..{MAX_SEED} (default: {first})")


def build_parser() -> argparse.ArgumentParser:
    """The ``graphcl`` argument parser (each method's options checked by type)."""
    parser = argparse.ArgumentParser(prog="graphcl", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train and evaluate a method")
    methods = train.add_subparsers(dest="method", required=True)

    heco = methods.add_parser("heco", help="HeCo on ACM, DBLP, AMiner or Freebase")
    heco.add_argument("--dataset", required=True, choices=["acm", "dblp", "aminer", "freebase"])
    _add_seed_arguments(heco, "the paper config's seed")
    heco.add_argument("--max-epochs", type=positive_int, default=None,
                      help="cap on epochs, >= 1 (default 10000)")
    heco.add_argument("--out", default="results.json")
    heco.add_argument("--embeddings", default=None,
                      help="where to save embeddings (.pt; default: next to --out)")
    heco.set_defaults(handler=_train_heco, check=_check_heco, parser=heco)

    scgc = methods.add_parser("scgc", help="SCGC / SCGC* clustering on the SDCN datasets")
    scgc.add_argument("--dataset", required=True,
                      choices=["usps", "hhar", "reut", "acm", "dblp", "cite"])
    scgc.add_argument("--star", action="store_true", help="SCGC* (encoder only, IAC loss)")
    _add_seed_arguments(scgc, "0")
    scgc.add_argument("--epochs", type=positive_int, default=None, help="epochs, >= 1 (default 200)")
    scgc.add_argument("--features", default=None,
                      help="feature file for hhar/reut (.npy or whitespace-separated .txt)")
    scgc.add_argument("--shared-ae", type=seed_int, default=None, metavar="SEED",
                      help="pretrain one AE with SEED and start every seed from it, as the "
                           "reference code does (default: one AE per seed)")
    scgc.add_argument("--out", default="results.json")
    # Each method's checks report through its own subparser (its usage line).
    scgc.set_defaults(handler=_train_scgc, check=_check_scgc, parser=scgc)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``graphcl`` with ``argv`` (default ``sys.argv[1:]``).

    Bad arguments exit with status 2 and a message naming the argument, before
    any data is loaded.

    Returns:
        The exit status (0 on success).
    """
    args = build_parser().parse_args(argv)
    args.check(args.parser, args)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
