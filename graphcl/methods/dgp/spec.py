"""DGP and its baselines as the experiment layer runs them: ``graphcl train dgp --model M``."""
from __future__ import annotations

import time

from graphcl.experiment import Method, register_method
from graphcl.experiment.arguments import non_negative_int, positive_int
from graphcl.methods.dgp.config import MODELS, REFERENCE_MODELS, DGPConfig

DATASETS = ("imagenet",)
#: DGP's published 2-hops hit@1 (ResNet-50 features, finetuned; yinboc/DGP#20), in %.
PAPER_RESULTS = {"imagenet": {"2-hops/general": {"hit@1": (26.6, None)}}}


def protocol(config: DGPConfig) -> str:
    return ("offline WordNet-gloss protocol (reference dgp_gpn.md §4): DGP's induced ImageNet "
            "graph and class splits, GloVe-50d inputs, gloss-mean targets for the 1,000 train "
            "classes, every gloss token of a test class one sample; hit@k micro-averaged over "
            "samples with ties counted against; general = test-set candidates, plus1k = train "
            "classes added; awa2 = top-1 averaged over the 10 AwA2 test classes; metrics of the "
            f"final epoch ({config.epochs} epochs" + (")" if config.model not in REFERENCE_MODELS
                                                      else "; closed form, no training)"))


def _add_arguments(parser) -> None:
    parser.add_argument("--model", choices=MODELS, default="dgp",
                        help="dgp | dgpm | sgcn | gcnz | ridge (on X) | ridge_ax (on ÂX) | identity")
    parser.add_argument("--epochs", type=positive_int, default=None, help="epochs (default: 3000)")
    parser.add_argument("--hidden", type=positive_int, default=None,
                        help="hidden width (default: 2048; GCNZ: h, h, h/2, h/2, h/4)")
    parser.add_argument("--eval-every", type=non_negative_int, default=None,
                        help="record the 2-hops general hit@1 every N epochs (default: off)")


def make_config(dataset: str, args=None) -> DGPConfig:
    if dataset not in DATASETS:
        raise ValueError(f"dgp has no dataset {dataset!r}; known: {list(DATASETS)}")
    overrides = {}
    for name in ("model", "epochs", "hidden", "eval_every"):
        value = getattr(args, name, None) if args is not None else None
        if value is not None:
            overrides[name] = value
    return DGPConfig(**overrides)


def load_data(config: DGPConfig, options):
    from graphcl.datasets import load_glove_vocab, load_wordnet_nouns
    from graphcl.datasets.dgp import build_gloss_protocol, load_dgp, load_gcnz_graph
    from graphcl.methods.dgp.train import task_from_protocol
    root = options.get("root")
    data = load_dgp(root)
    gloss = build_gloss_protocol(data, load_wordnet_nouns(root), load_glove_vocab(root))
    gcnz = load_gcnz_graph(root) if config.model == "gcnz" else None
    return task_from_protocol(data, gloss, gcnz), gloss


def run_seed(loaded, config: DGPConfig, seed: int, progress: bool):
    from graphcl.methods.dgp.train import (evaluate_predictions, reference_predictions,
                                           train_zero_shot, two_hops_hit1)
    task, gloss = loaded
    record = {}
    if config.model in REFERENCE_MODELS:
        tic = time.perf_counter()
        predictions = reference_predictions(task, config.model, config.ridge_alpha)
        record.update(epochs=0, timings={"train_seconds": time.perf_counter() - tic})
    else:
        run = train_zero_shot(task, config, seed=seed, progress=progress,
                              monitor=two_hops_hit1(gloss) if config.eval_every else None)
        predictions = run.predictions
        record.update(epochs=run.epochs,
                      timings={"train_seconds": run.train_seconds,
                               "seconds_per_epoch": run.seconds_per_epoch},
                      history={"loss": run.losses,
                               "hit@1_2hops_epoch": [e for e, _ in run.history],
                               "hit@1_2hops": [h for _, h in run.history]},
                      distance_weights=run.distance_weights)
    tic = time.perf_counter()
    record["metrics"] = evaluate_predictions(predictions, gloss)
    record["timings"]["eval_seconds"] = time.perf_counter() - tic
    record["artifacts"] = {"embeddings": predictions}
    return record


def data_files(dataset: str):
    from graphcl.datasets.dgp import DGP_FILES
    from graphcl.datasets.wordnet import WORDNET_FILES
    return list(DGP_FILES["dgp"]) + list(WORDNET_FILES["wordnet"])


def results_table(results) -> str:
    """hit@1/2/5/10/20 (mean±std over seeds, %) of every set and setting."""
    from graphcl.experiment.tables import cell, seed_ranges
    config = results["config"]
    lines = [f"{config['model']} on DGP's ImageNet splits, gloss protocol ({len(results['seeds'])} "
             f"seed(s) {seed_ranges(results['seeds'])}; {config['epochs']} epochs, hidden "
             f"{config['hidden']})"]
    for group, metrics in results["metrics"].items():
        lines.append(f"{group:<16} " + "  ".join(f"{m} {cell(v)}" for m, v in metrics.items()))
    return "\n".join(lines)


register_method(Method(
    name="dgp", title="DGP",
    paper="Kampffmeyer, Chen, Liang, Wang, Zhang, Xing. Rethinking Knowledge Graph Propagation "
          "for Zero-Shot Learning. CVPR 2019",
    url="https://arxiv.org/abs/1805.11724",
    datasets=DATASETS, protocol=protocol, make_config=make_config, config_type=DGPConfig,
    load_data=load_data, run_seed=run_seed, add_arguments=_add_arguments,
    data_files=data_files, paper_results=PAPER_RESULTS,
    first_seed=lambda config: config.seed, table=results_table,
    # Measured (benchmarks/dgp/speed.py): a hidden-2048 epoch 14.0 s -> 8.0 s,
    # peak RSS 1.5 -> 2.9 GB.
    reuse_freed_memory=True,
))
