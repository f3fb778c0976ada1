"""HeCo as the experiment layer runs it: ``graphcl train heco``."""
from __future__ import annotations

from graphcl.experiment import Method, register_method
from graphcl.experiment.arguments import positive_int
from graphcl.methods.heco.config import PAPER_CONFIGS, PAPER_RESULTS, HeCoConfig, paper_config

PROTOCOL = ("HeCo reference protocol: embeddings = meta-path view in eval mode; per label rate "
            "50 linear probes x 200 Adam iterations, test metric at the best-validation iteration "
            "(Macro-F1, Micro-F1, one-vs-rest AUC); KMeans (n_init=10) over 10 seeds for NMI/ARI "
            "(group 'clustering'); mean/std across training seeds of each seed's probe mean")


def _add_arguments(parser) -> None:
    parser.add_argument("--max-epochs", type=positive_int, default=None,
                        help="cap on training epochs (default: the config's 10000; early "
                             "stopping on the loss usually ends sooner)")
    parser.add_argument("--hard-negatives", type=int, default=None,
                        help="HeCo_MU-style hard negatives per anchor (default 0 = off)")


def make_config(dataset: str, args=None) -> HeCoConfig:
    config = paper_config(dataset)
    overrides = {}
    if args is not None:
        if getattr(args, "max_epochs", None) is not None:
            overrides["max_epochs"] = args.max_epochs
        if getattr(args, "hard_negatives", None) is not None:
            overrides["hard_negatives"] = args.hard_negatives
    return config.with_overrides(**overrides)


def load_data(config: HeCoConfig, options):
    from graphcl.datasets import load_heco
    from graphcl.methods.heco.train import prepare_inputs
    return prepare_inputs(load_heco(config.dataset, root=options.get("root")))


def run_seed(inputs, config: HeCoConfig, seed: int, progress: bool):
    """Train with early stopping, restore the best checkpoint, evaluate."""
    import time

    from graphcl.methods.heco.train import evaluate, train
    result = train(inputs, config, seed=seed, progress=progress)
    tic = time.perf_counter()
    metrics = evaluate(result.embeddings, inputs, config, seed=seed)
    eval_seconds = time.perf_counter() - tic
    return {
        "metrics": {g: {m: v["mean"] for m, v in ms.items()} for g, ms in metrics.items()},
        "metric_std": {g: {m: v["std"] for m, v in ms.items()} for g, ms in metrics.items()},
        "epochs": result.epochs_run, "best_epoch": result.best_epoch,
        "timings": {"train_seconds": result.train_seconds, "eval_seconds": eval_seconds,
                    "seconds_per_epoch": result.train_seconds / max(result.epochs_run, 1)},
        "history": {"loss": result.losses},
        "artifacts": {"embeddings": result.embeddings, "labels": inputs.labels},
    }


def data_files(dataset: str):
    from graphcl.datasets.heco import HECO_FILES
    return list(HECO_FILES.get(f"heco_{dataset}", {}))


METHOD = register_method(Method(
    name="heco", title="HeCo",
    paper="Wang, Liu, Shi. Self-supervised Heterogeneous Graph Neural Network with "
          "Co-contrastive Learning. KDD 2021",
    url="https://arxiv.org/abs/2105.09111",
    datasets=tuple(PAPER_CONFIGS), protocol=PROTOCOL, make_config=make_config,
    config_type=HeCoConfig, load_data=load_data, run_seed=run_seed,
    add_arguments=_add_arguments, data_files=data_files,
    paper_results={d: {str(rate): metrics for rate, metrics in by_rate.items()}
                   for d, by_rate in PAPER_RESULTS.items()},
    first_seed=lambda config: config.seed,
))
