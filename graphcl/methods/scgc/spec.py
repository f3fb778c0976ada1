"""SCGC and SCGC* as the experiment layer runs them: ``graphcl train scgc``
and ``graphcl train scgc_star``."""
from __future__ import annotations

from functools import partial

from graphcl.experiment import Method, register_method
from graphcl.experiment.arguments import positive_int, seed_int
from graphcl.methods.scgc.config import SCGCConfig, paper_config

DATASETS = ("usps", "hhar", "reut", "acm", "dblp", "cite")


def protocol(config: SCGCConfig) -> str:
    from graphcl.methods.scgc.train import HONEST_PROTOCOL, PAPER_PROTOCOL
    return (f"group 'paper': {PAPER_PROTOCOL}; group 'honest': {HONEST_PROTOCOL}; "
            + (f"one AE pretrained with seed {config.ae_seed}, shared by every seed"
               if config.ae_seed is not None else "one AE pretrained per seed"))


def _add_arguments(parser) -> None:
    parser.add_argument("--epochs", type=positive_int, default=None, help="epochs (default: 200)")
    parser.add_argument("--features", default=None,
                        help="feature file for hhar/reut (.npy or whitespace-separated .txt)")
    parser.add_argument("--shared-ae", type=seed_int, default=None, metavar="SEED",
                        help="pretrain one AE with SEED and start every seed from it, as the "
                             "reference code does (default: one AE per seed)")


def _check_arguments(args) -> None:
    from pathlib import Path
    if args.features is not None and not Path(args.features).is_file():
        raise ValueError(f"argument --features: {args.features} is not a file")


def make_config(dataset: str, args=None, *, star: bool) -> SCGCConfig:
    config = paper_config(dataset, star=star)
    overrides = {}
    if args is not None:
        if getattr(args, "epochs", None) is not None:
            overrides["epochs"] = args.epochs
        if getattr(args, "shared_ae", None) is not None:
            overrides["ae_seed"] = args.shared_ae
    return config.with_overrides(**overrides)


def load_scgc_dataset(config: SCGCConfig, root=None, features=None):
    """The SDCN dataset of ``config`` with its kNN graph (``config.knn_k``)."""
    from graphcl.datasets import load_sdcn
    kwargs = {"k": config.knn_k} if config.knn_k is not None else {}
    return load_sdcn(config.dataset, root=root, features=features, **kwargs)


def load_data(config: SCGCConfig, options):
    from graphcl.datasets import data_root
    root = options.get("root")
    data = load_scgc_dataset(config, root=root, features=options.get("features"))
    return data, data_root(root) / "cache" / "scgc"


def run_seed(loaded, config: SCGCConfig, seed: int, progress: bool):
    from graphcl.methods.scgc.train import train_scgc
    data, cache_dir = loaded
    run = train_scgc(data, config, seed=seed, cache_dir=cache_dir, progress=progress,
                     ae_seed=config.ae_seed)
    return {
        "metrics": {"paper": run.paper, "honest": run.honest},
        "kmeans_init": run.trace[0], "epochs": run.epochs,
        "timings": {"pretrain_seconds": run.pretrain_seconds,
                    "train_seconds": run.train_seconds,
                    "seconds_per_epoch": run.seconds_per_epoch},
        "history": {"acc": [t["acc"] for t in run.trace], "loss": run.loss_history},
        "artifacts": {"embeddings": run.embeddings, "labels": data.y},
    }


def data_files(dataset: str):
    from graphcl.datasets.sdcn import SDCN_FILES
    return list(SDCN_FILES.get(f"sdcn_{dataset}", {}))


def results_table(results) -> str:
    """Ours under both protocols (mean±std over seeds, %) beside SDCN's Table 2
    row and, for SCGC* on USPS, the published single run."""
    from graphcl.eval import CLUSTER_METRICS
    from graphcl.experiment.tables import cell, seed_ranges
    from graphcl.methods.scgc.config import PUBLISHED_SCGC_STAR_USPS, SDCN_RESULTS
    name = "SCGC*" if results["method"] == "scgc_star" else "SCGC"
    ae_seed = results["config"].get("ae_seed")
    lines = [f"{name} on {results['dataset']} ({len(results['seeds'])} seeds "
             f"{seed_ranges(results['seeds'])}; "
             + (f"one AE pretrained with seed {ae_seed}, shared by every seed"
                if ae_seed is not None else "one AE pretrained per seed")
             + f"; {results['timings'].get('seconds_per_epoch', float('nan')):.3f} s/epoch)",
             f"{'metric':<6} {'paper protocol':>15} {'honest':>15} {'SDCN':>7} {'published':>10}"]
    sdcn = SDCN_RESULTS.get(results["dataset"], {})
    published = PUBLISHED_SCGC_STAR_USPS if (results["method"] == "scgc_star"
                                             and results["dataset"] == "usps") else {}
    for m in CLUSTER_METRICS:
        ours = [cell(results["metrics"][protocol][m]) for protocol in ("paper", "honest")]
        ref = f"{sdcn[m]:.2f}" if m in sdcn else "n/a"
        pub = f"{published[m]:.2f}" if m in published else "n/a"
        lines.append(f"{m:<6} {ours[0]:>15} {ours[1]:>15} {ref:>7} {pub:>10}")
    lines.append("paper protocol = per-metric max over epochs (labels pick the epoch); "
                 "honest = final epoch")
    return "\n".join(lines)


for _star in (False, True):
    register_method(Method(
        name="scgc_star" if _star else "scgc", title="SCGC*" if _star else "SCGC",
        paper="Kulatilleke, Portmann, Chandra. SCGC: Self-Supervised Contrastive Graph "
              "Clustering. 2022",
        url="https://arxiv.org/abs/2204.12656",
        datasets=DATASETS, protocol=protocol, make_config=partial(make_config, star=_star),
        config_type=SCGCConfig, load_data=load_data, run_seed=run_seed,
        add_arguments=_add_arguments, check_arguments=_check_arguments,
        data_options=lambda args: {"features": getattr(args, "features", None)},
        data_files=data_files, first_seed=lambda config: config.seed, table=results_table,
    ))
