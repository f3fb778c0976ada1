"""GPN and its ProtoNet baseline as the experiment layer runs them:
``graphcl train gpn --model gpn|protonet --shots 1|5 ...``."""
from __future__ import annotations

from graphcl.experiment import Method, register_method
from graphcl.experiment.arguments import positive_int, seed_int
from graphcl.methods.gpn.config import BACKBONES, MODELS, GPNConfig, paper_config

DATASETS = ("wordnet",)
GROUPS = ("close/local", "close/global", "far/local", "far/global")


def protocol(config: GPNConfig) -> str:
    return (f"WordNet-GloVe hierarchical few-shot (reference dgp_gpn.md section 5), GPN's split "
            f"sampler with seed {config.split_seed} (981 train / 484 Close / 105 Far classes at "
            f"seed 111); {config.ways}-way {config.shots}-shot, {config.eval_queries} queries per "
            f"class; {config.test_episodes} test episodes per group (Close/Far x local/global "
            f"sampler); 'acc' = mean query accuracy over the episodes, 'ci95' = 1.96 std / "
            f"sqrt(episodes) of one seed; {config.episodes} training iterations (tasks and "
            f"many-shot batches) against the paper's 350,000")


def _add_arguments(parser) -> None:
    parser.add_argument("--model", choices=MODELS, default="gpn",
                        help="gpn (propagation on) or protonet (the baseline)")
    parser.add_argument("--ways", type=positive_int, default=5, help="classes per task (5)")
    parser.add_argument("--shots", type=positive_int, default=1, help="support per class (1)")
    parser.add_argument("--queries", type=positive_int, default=None,
                        help="queries per class in training and test (default: = shots)")
    parser.add_argument("--test-queries", type=positive_int, default=None,
                        help="queries per class in test only (e.g. 15; default: --queries)")
    parser.add_argument("--episodes", type=positive_int, default=None,
                        help="training iterations T (default: the paper's 350000)")
    parser.add_argument("--test-episodes", type=positive_int, default=None,
                        help="test episodes per group (default 600)")
    parser.add_argument("--split-seed", type=seed_int, default=None,
                        help="seed of GPN's class-split sampler (default 111)")
    parser.add_argument("--backbone", choices=BACKBONES, default=None,
                        help="mlp for word vectors (default); resnet08 needs images")


def make_config(dataset: str, args=None) -> GPNConfig:
    if dataset not in DATASETS:
        raise ValueError(f"no GPN dataset {dataset!r}; known: {list(DATASETS)}")
    model = getattr(args, "model", None) or "gpn"
    overrides = {}
    for flag, field in (("ways", "ways"), ("shots", "shots"), ("queries", "queries"),
                        ("test_queries", "test_queries"), ("episodes", "episodes"),
                        ("test_episodes", "test_episodes"), ("split_seed", "split_seed"),
                        ("backbone", "backbone")):
        value = getattr(args, flag, None) if args is not None else None
        if value is not None:
            overrides[field] = value
    return paper_config(model, **overrides)


def _check_arguments(args) -> None:
    if getattr(args, "backbone", None) == "resnet08":
        raise ValueError("argument --backbone: resnet08 takes 3 x 112 x 112 images; the "
                         "WordNet benchmark's instances are 50-d word vectors (use mlp)")


def load_data(config: GPNConfig, options):
    from graphcl.datasets.gpn import load_wordnet_fewshot
    from graphcl.methods.gpn.train import prepare
    benchmark = load_wordnet_fewshot(options.get("root"), split_seed=config.split_seed)
    return prepare(benchmark, config)


def run_seed(data, config: GPNConfig, seed: int, progress: bool):
    import time

    from graphcl.methods.gpn.train import evaluate, train
    result = train(data, config, seed=seed, progress=progress)
    tic = time.perf_counter()
    metrics = evaluate(result, data, config)
    eval_seconds = time.perf_counter() - tic
    return {
        "metrics": {g: {"acc": m["acc"]} for g, m in metrics.items()},
        "ci95": {g: m["ci95"] for g, m in metrics.items()},
        "epochs": len(result.history["loss"]),
        "few_shot_episodes": result.few_shot_episodes,
        "many_shot_batches": result.many_shot_batches,
        "timings": {"train_seconds": result.train_seconds, "eval_seconds": eval_seconds,
                    "seconds_per_epoch": result.train_seconds / max(len(result.history["loss"]), 1),
                    "iterations_per_second": config.episodes / max(result.train_seconds, 1e-9)},
        "history": result.history,
    }


def results_table(results) -> str:
    """acc (mean ± std over seeds, %) and the mean per-seed 95% CI of every group."""
    import numpy as np
    config = results["config"]
    lines = [f"{config['model']} {config['ways']}-way {config['shots']}-shot on WordNet-GloVe "
             f"({len(results['seeds'])} seeds {results['seeds']}, {config['episodes']} iterations, "
             f"split seed {config['split_seed']})",
             f"{'group':<14} {'acc (%)':>16} {'ci95 (%)':>9}"]
    for group in GROUPS:
        if group not in results["metrics"]:
            continue
        acc = results["metrics"][group]["acc"]
        ci = np.mean([s["ci95"][group] for s in results["per_seed"]])
        lines.append(f"{group:<14} {100 * acc['mean']:>8.2f} ± {100 * acc['std']:<5.2f} "
                     f"{100 * ci:>9.2f}")
    return "\n".join(lines)


METHOD = register_method(Method(
    name="gpn", title="GPN",
    paper="Liu, Zhou, Long, Jiang, Zhang. Learning to Propagate for Graph Meta-Learning. "
          "NeurIPS 2019",
    url="https://arxiv.org/abs/1909.05024",
    datasets=DATASETS, protocol=protocol, make_config=make_config, config_type=GPNConfig,
    load_data=load_data, run_seed=run_seed, add_arguments=_add_arguments,
    check_arguments=_check_arguments,
    data_files=lambda dataset: ["wordnet/wordnet30_nouns.json.gz",
                                "wordnet/glove6b50d_wordnet_noun_vocab.npz"],
    first_seed=lambda config: config.seed, table=results_table,
))
