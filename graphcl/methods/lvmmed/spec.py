"""LVM-Med and its baselines as the experiment layer runs them:
``graphcl train lvmmed --dataset pneumoniamnist --model lvmmed|simclr|vicreg|first-order|random``."""
from __future__ import annotations

from pathlib import Path

from graphcl.experiment import Method, register_method
from graphcl.experiment.arguments import positive_int
from graphcl.methods.lvmmed.config import ENCODERS, MODELS, LVMMedConfig

DATASETS = ("pneumoniamnist",)


def protocol(config: LVMMedConfig) -> str:
    from graphcl.methods.lvmmed.train import PROTOCOL
    return f"model {config.model}, encoder {config.encoder}, {config.epochs} epochs; {PROTOCOL}"


def _add_arguments(parser) -> None:
    parser.add_argument("--model", choices=MODELS, default="lvmmed",
                        help="objective (default: lvmmed, the second-order graph matching)")
    parser.add_argument("--encoder", choices=ENCODERS, default="cnn", help="backbone (default: cnn)")
    parser.add_argument("--epochs", type=positive_int, default=None, help="pretraining epochs")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help="images per batch (default: 256 = 16 graphs of 16)")
    parser.add_argument("--max-train-images", type=positive_int, default=None,
                        help="pretrain on a random subset of this many images (quick runs)")


def make_config(dataset: str, args=None) -> LVMMedConfig:
    if dataset not in DATASETS:
        raise ValueError(f"lvmmed has no dataset {dataset!r}; known: {list(DATASETS)}")
    overrides = {}
    for name in ("model", "encoder", "epochs", "batch_size", "max_train_images"):
        value = getattr(args, name, None) if args is not None else None
        if value is not None:
            overrides[name] = value
    return LVMMedConfig().with_overrides(**overrides)


def encoder_template(out) -> str:
    """Where the encoder of each seed goes: next to ``out``, ``<stem>.seed{seed}.encoder.pt``."""
    out = Path(out)
    return str(out.with_name(out.stem + ".seed{seed}.encoder.pt"))


def _data_options(args):
    out = getattr(args, "out", None)
    return {"encoder_template": encoder_template(out)} if out is not None else {}


_LOADED = {}   # data root -> dataset: one verified load per process, whatever the model


def load_data(config: LVMMedConfig, options):
    from graphcl.datasets import data_root, load_pneumoniamnist
    root = options.get("root")
    key = str(data_root(root))
    if key not in _LOADED:
        _LOADED[key] = load_pneumoniamnist(root)
    return _LOADED[key], options.get("encoder_template")


def run_seed(loaded, config: LVMMedConfig, seed: int, progress: bool):
    from graphcl.methods.lvmmed.train import train_lvmmed
    data, template = loaded
    path = template.format(seed=seed) if template else None
    run = train_lvmmed(data, config, seed=seed, progress=progress, encoder_path=path)
    return {
        "metrics": run.metrics, "epochs": run.epochs,
        "timings": {"train_seconds": run.train_seconds, "eval_seconds": run.eval_seconds,
                    "seconds_per_epoch": run.train_seconds / max(run.epochs, 1)},
        "history": {"loss": run.loss_history},
        **({"encoder_file": Path(path).name} if path else {}),
    }


def data_files(dataset: str):
    from graphcl.datasets.pneumoniamnist import PNEUMONIAMNIST_FILES
    return list(PNEUMONIAMNIST_FILES.get(dataset, {}))


register_method(Method(
    name="lvmmed", title="LVM-Med",
    paper="Nguyen, Nguyen, Diep, Pham, Cao, Nguyen, Swoboda, Ho, Albarqouni, Xie, Sonntag, "
          "Niepert. LVM-Med: Learning Large-Scale Self-Supervised Vision Models for Medical "
          "Imaging via Second-order Graph Matching. NeurIPS 2023",
    url="https://arxiv.org/abs/2306.11925",
    datasets=DATASETS, protocol=protocol, make_config=make_config, config_type=LVMMedConfig,
    load_data=load_data, run_seed=run_seed, add_arguments=_add_arguments,
    data_options=_data_options, data_files=data_files,
))
