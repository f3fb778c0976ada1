"""SCGC and SCGC* as the experiment layer runs them: ``graphcl train scgc``
and ``graphcl train scgc_star``."""
from __future__ import annotations

from functools import partial

from graphcl.experiment import Method, register_method
from graphcl.experiment.arguments import non_negative_int, positive_int
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
    parser.add_argument("--shared-ae", type=non_negative_int, default=None, metavar="SEED",
                        help="pretrain one AE with SEED and start every seed from it, as the "
                             "reference code does (default: one AE per seed)")


def make_config(dataset: str, args=None, *, star: bool) -> SCGCConfig:
    config = paper_config(dataset, star=star)
    overrides = {}
    if args is not None:
        if getattr(args, "epochs", None) is not None:
            overrides["epochs"] = args.epochs
        if getattr(args, "shared_ae", None) is not None:
            overrides["ae_seed"] = args.shared_ae
    return config.with_overrides(**overrides)


def load_data(config: SCGCConfig, options):
    from graphcl.datasets import data_root
    from graphcl.methods.scgc.run import load_scgc_dataset
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


def _table(results):
    from graphcl.methods.scgc.run import results_table
    return results_table(results)


for _star in (False, True):
    register_method(Method(
        name="scgc_star" if _star else "scgc", title="SCGC*" if _star else "SCGC",
        paper="Kulatilleke, Portmann, Chandra. SCGC: Self-Supervised Contrastive Graph "
              "Clustering. 2022",
        url="https://arxiv.org/abs/2204.12656",
        datasets=DATASETS, protocol=protocol, make_config=partial(make_config, star=_star),
        config_type=SCGCConfig, load_data=load_data, run_seed=run_seed,
        add_arguments=_add_arguments,
        data_options=lambda args: {"features": getattr(args, "features", None)},
        data_files=data_files, first_seed=lambda config: config.seed, table=_table,
    ))
