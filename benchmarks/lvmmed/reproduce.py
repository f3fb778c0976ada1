"""LVM-Med reproduction on PneumoniaMNIST: every model with the same encoder,
views, batch size, epochs and seeds, then the linear-probe table.

    python benchmarks/lvmmed/reproduce.py --epochs 10 --seeds 3 --resume \
        --out benchmarks/lvmmed/results

Seeds run seed-major (every model's seed 0, then every model's seed 1, ...),
so a stopped run has all models on the same seeds. Results go to
``<out>/<model>_<encoder>.json`` (the shared schema, groups ``val`` and
``test``, metrics ``acc`` and ``auc``), rewritten after every seed;
``--resume`` keeps what a stopped run wrote. Encoders are saved to
``--encoders`` (default ``benchmarks/lvmmed/encoders/``, not committed).
Afterwards: ``python benchmarks/make_readmes.py``.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

MODELS = ("lvmmed", "first-order", "simclr", "vicreg", "random")


def run(args) -> None:
    import torch
    torch.set_num_threads(args.threads)
    from graphcl.experiment import get_method, run_seeds, terminal_table
    method = get_method("lvmmed")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tic = time.perf_counter()
    results = {}
    for last in range(args.seeds):
        for model in args.models:
            overrides = {} if args.noise_scale is None else {"noise_scale": args.noise_scale}
            config = method.make_config("pneumoniamnist", None).with_overrides(
                model=model, encoder=args.encoder, epochs=args.epochs, **overrides)
            suffix = "".join(f"_{k}{v}" for k, v in overrides.items())
            path = out / f"{model.replace('-', '_')}_{args.encoder}{suffix}.json"
            template = str(Path(args.encoders) / f"{path.stem}.seed{{seed}}.encoder.pt")
            results[model] = run_seeds(method, "pneumoniamnist", list(range(last + 1)),
                                       config=config, out=path, resume=True, progress=False,
                                       seed_progress=args.progress,
                                       data_options={"encoder_template": template})
            seed = results[model]["per_seed"][-1]
            print(f"{model} seed {last}: test acc {seed['metrics']['test']['acc']:.4f} auc "
                  f"{seed['metrics']['test']['auc']:.4f} ({seed['timings']['train_seconds']:.0f} s "
                  f"training; {time.perf_counter() - tic:.0f} s so far)", flush=True)
    for model in args.models:
        print(terminal_table(results[model]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--encoder", default="cnn", choices=("cnn", "resnet18"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--noise-scale", type=float, default=None,
                        help="Gumbel scale of the matching models (default: the paper's 1.0); "
                             "names the output file")
    parser.add_argument("--out", default="benchmarks/lvmmed/results")
    parser.add_argument("--encoders", default="benchmarks/lvmmed/encoders")
    parser.add_argument("--resume", action="store_true",
                        help="accepted for symmetry: runs always keep finished seeds")
    parser.add_argument("--progress", action="store_true", help="per-epoch progress bars")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.seeds < 1 or args.threads < 1:
        parser.error("--epochs, --seeds and --threads must be positive")
    run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
