"""Command line, generated from the method registry.

    graphcl list                       methods, their datasets, and where the data is
    graphcl train METHOD --dataset D --seeds N --out results.json [--resume] [options]
    graphcl merge a.json b.json --out results.json
    graphcl table results.json [--markdown]
    graphcl plot results.json --out results.png
    graphcl recommend evidence "PROBLEM TEXT" [--k 10] [--model-path model.pt]

Every argument is checked before any data is loaded or any model trained:
counts and epochs must be positive, seeds lie in [0, 2**32 - 1] (numpy's
range), at most 10,000 seeds per run, and output files must be writable (not
a folder, no regular file on the way to them).
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from graphcl.experiment import (get_method, list_methods, markdown_table, merge_results,
                                read_results, run_seeds, terminal_table, write_json_atomic)
from graphcl.experiment.arguments import check_output_path, positive_int, seed_int
from graphcl.experiment.memory import reuse_freed_memory
from graphcl.experiment.seeding import MAX_SEED, MAX_SEEDS

_OUTPUT_FLAGS = ("out", "embeddings", "plot", "plot_embeddings")


def _seed_count(text: str) -> int:
    """``--seeds``: an int in [1, MAX_SEEDS] (argparse type)."""
    value = positive_int(text)
    if value > MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SEEDS}, got {value}")
    return value


def _add_train_parser(commands) -> None:
    train = commands.add_parser("train", help="train and evaluate a method over seeds")
    methods = train.add_subparsers(dest="method", required=True, metavar="METHOD")
    for method in list_methods():
        sub = methods.add_parser(method.name, help=f"{method.title} ({method.paper})",
                                 description=f"{method.title}: {method.paper}. {method.url}")
        single = method.datasets[0] if len(method.datasets) == 1 else None
        sub.add_argument("--dataset", required=single is None, default=single,
                         choices=list(method.datasets))
        sub.add_argument("--seeds", type=_seed_count, default=1,
                         help=f"number of training seeds (1 to {MAX_SEEDS}; default 1)")
        sub.add_argument("--seed", type=seed_int, default=None,
                         help="first seed (default: the paper config's seed)")
        sub.add_argument("--out", default="results.json", help="results file (JSON)")
        sub.add_argument("--resume", action="store_true",
                         help="keep the seeds --out already holds and run only the others")
        sub.add_argument("--root", default=None, help="data root (default: $GRAPHCL_DATA)")
        sub.add_argument("--embeddings", default=None,
                         help="save every seed's embeddings and the labels here (.pt)")
        sub.add_argument("--plot", default=None, help="save curves and metrics as a PNG")
        sub.add_argument("--plot-embeddings", default=None,
                         help="save a 2-D PCA projection of the first seed's embeddings (PNG)")
        sub.add_argument("--quiet", action="store_true", help="no progress bars")
        method.add_arguments(sub)
        sub.set_defaults(handler=_train, method_spec=method)


def _check_train(parser: argparse.ArgumentParser, args) -> None:
    """Everything that can be checked before the data is loaded."""
    method = args.method_spec
    try:
        args.config = method.make_config(args.dataset, args)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    first = method.first_seed(args.config) if args.seed is None else args.seed
    last = first + args.seeds - 1
    if last > MAX_SEED:
        parser.error(f"argument --seeds: --seed {first} with --seeds {args.seeds} runs up to "
                     f"seed {last}, beyond the largest seed {MAX_SEED}")
    args.seed_list = list(range(first, last + 1))
    seen = {}
    for name in _OUTPUT_FLAGS:
        value = getattr(args, name)
        flag = "--" + name.replace("_", "-")
        if value is None:
            continue
        try:
            path = check_output_path(value, flag)
        except ValueError as exc:
            parser.error(f"argument {flag}: {exc}")
        if path.absolute() in seen:
            parser.error(f"argument {flag}: {path} is also the {seen[path.absolute()]} file")
        seen[path.absolute()] = flag
        setattr(args, name, path)
    try:
        method.check_arguments(args)
    except ValueError as exc:
        parser.error(str(exc))


def _train(args) -> int:
    method = args.method_spec
    saved = {}
    if method.reuse_freed_memory:  # full-graph tensors of every epoch: no fresh page faults
        reuse_freed_memory()
    results = run_seeds(method, args.dataset, args.seed_list, config=args.config, out=args.out,
                        resume=args.resume, progress=not args.quiet, seed_progress=not args.quiet,
                        data_options={"root": args.root, **method.data_options(args)},
                        on_artifacts=lambda seed, artifacts: saved.update({seed: artifacts}))
    print((method.table or terminal_table)(results))
    print(f"wrote {args.out}")
    if saved and args.embeddings:
        import torch

        from graphcl.io import atomic_writer
        first = min(saved)
        with atomic_writer(args.embeddings) as f:
            torch.save({"method": method.name, "dataset": args.dataset,
                        "embeddings": {s: a["embeddings"] for s, a in saved.items()},
                        "labels": saved[first].get("labels")}, f)
        print(f"wrote {args.embeddings}")
    if args.plot:
        from graphcl.experiment.plots import plot_results
        print(f"wrote {plot_results(results, args.plot)}")
    if saved and args.plot_embeddings:
        from graphcl.experiment.plots import plot_embedding_projection
        seed = min(saved)
        path = plot_embedding_projection(saved[seed]["embeddings"], saved[seed].get("labels"),
                                         args.plot_embeddings,
                                         title=f"{method.title} on {args.dataset}, seed {seed}")
        print(f"wrote {path}")
    return 0


def _data_status(method, dataset: str) -> str:
    from graphcl.datasets import data_root, mirror_root
    files = list(method.data_files(dataset))
    if not files:
        return "no pinned file list (see its dataset card)"
    where = [name for name, root in (("in the data root", data_root()), ("in the mirror", mirror_root()))
             if root is not None and all((root / f).is_file() for f in files)]
    return " and ".join(where) if where else "missing (downloaded on first use)"


def _list(args) -> int:
    for method in list_methods():
        print(f"{method.name:<10} {method.title}: {method.paper} ({method.url})")
        for dataset in method.datasets:
            print(f"    {dataset:<10} data {_data_status(method, dataset)}")
    return 0


def _merge(args) -> int:
    merged = merge_results([read_results(p) for p in args.parts])
    write_json_atomic(merged, args.out)
    print((get_method(merged["method"]).table or terminal_table)(merged))
    print(f"wrote {args.out}")
    return 0


def _table(args) -> int:
    results = [read_results(p) for p in args.results]
    print(markdown_table(results) if args.markdown else
          "\n\n".join(terminal_table(r) for r in results))
    return 0


def _plot(args) -> int:
    from graphcl.experiment.plots import plot_results
    print(f"wrote {plot_results(read_results(args.results), args.out)}")
    return 0


def _recommend(args) -> int:
    from graphcl.methods.evidence import recommend  # the one recommender (issue 16)
    for r in recommend(args.problem, k=args.k, model_path=args.model_path, root=args.root):
        print(f"{r.rank:>3}  PMC{r.pmcid:<9} {r.score:9.4f}  {r.title}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graphcl", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    _add_train_parser(commands)
    commands.add_parser("list", help="methods, their datasets, and where the data is"
                        ).set_defaults(handler=_list)
    merge = commands.add_parser("merge", help="combine results files of disjoint seeds")
    merge.add_argument("parts", nargs="+", help="results files of one method, dataset and config")
    merge.add_argument("--out", required=True)
    merge.set_defaults(handler=_merge)
    table = commands.add_parser("table", help="print results files as tables")
    table.add_argument("results", nargs="+")
    table.add_argument("--markdown", action="store_true", help="one Markdown table")
    table.set_defaults(handler=_table)
    plot = commands.add_parser("plot", help="draw a results file's curves and metrics to PNG")
    plot.add_argument("results")
    plot.add_argument("--out", required=True, help="the PNG to write")
    plot.set_defaults(handler=_plot)
    recommend = commands.add_parser("recommend", help="rank the trials for a free-text problem")
    recommend.add_argument("task", choices=["evidence"])
    recommend.add_argument("problem", help="the clinical problem, free text")
    recommend.add_argument("--k", type=positive_int, default=10, help="how many (default 10)")
    recommend.add_argument("--model-path", default=None,
                           help="a saved model: loaded if it exists, else trained and saved")
    recommend.add_argument("--root", default=None, help="data root (default: $GRAPHCL_DATA)")
    recommend.set_defaults(handler=_recommend)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":
        _check_train(parser, args)
    elif args.command in ("merge", "plot"):
        try:
            args.out = check_output_path(args.out, "--out")
        except ValueError as exc:
            parser.error(f"argument --out: {exc}")
    try:
        return args.handler(args)
    except (FileNotFoundError, ValueError) as exc:
        if args.command == "train":
            raise  # a failure inside a run keeps its traceback
        parser.exit(2, f"graphcl {args.command}: error: {exc}\n")


if __name__ == "__main__":
    sys.exit(main())
