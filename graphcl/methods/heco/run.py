"""End-to-end HeCo runs over several seeds, with a results table against the
paper and a results.json."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from graphcl.datasets._files import atomic_writer
from graphcl.methods._results import (check_positive_int, check_seeds, config_as_json,
                                      write_json)
from graphcl.methods.heco.config import PAPER_RESULTS, HeCoConfig, paper_config
from graphcl.methods.heco.train import LABEL_RATES, evaluate, prepare_inputs, train

PROTOCOL = ("HeCo reference protocol: embeddings = meta-path view in eval mode; per label rate "
            "50 linear probes x 200 Adam iterations, test metric at the best-validation iteration "
            "(Macro-F1, Micro-F1, one-vs-rest AUC); KMeans (n_init=10) over 10 seeds for NMI/ARI; "
            "mean/std across training seeds of each seed's mean")
METRICS = ("macro_f1", "micro_f1", "auc", "nmi", "ari")


def run_heco(dataset: str, seeds: Sequence[int], *, config: Optional[HeCoConfig] = None,
             root=None, max_epochs: Optional[int] = None, progress: bool = True,
             embeddings_path: Optional[Path] = None,
             on_seed: Optional[Callable[[Dict], None]] = None,
             resume_from: Optional[Dict] = None) -> Dict:
    """Train and evaluate HeCo once per seed and aggregate.

    Returns the results dictionary written to results.json: ``method``,
    ``dataset``, ``protocol``, ``seeds``, ``metrics`` as ``{label_rate:
    {metric: {mean, std}}}`` (NMI/ARI do not depend on the label rate and are
    repeated under every rate), plus per-seed values and timings.
    ``on_seed`` is called after every seed with the results so far (e.g. to
    save partial results of a long reproduction). ``resume_from`` (an earlier
    results dictionary of the same dataset and config, with the same
    ``max_epochs``) keeps its seeds and trains only the missing ones; their
    embeddings are not kept, so it cannot be combined with ``embeddings_path``.

    ``seeds`` (distinct ints in ``[0, 2**32 - 1]``, at most 10,000) and
    ``max_epochs`` (>= 1) are checked before any data is loaded.
    """
    from graphcl.datasets import load_heco
    seeds = check_seeds(seeds)
    max_epochs = check_positive_int(max_epochs, "max_epochs")
    config = config or paper_config(dataset)
    per_seed: List[Dict] = []
    if resume_from is not None:
        if embeddings_path is not None:
            raise ValueError("resume_from cannot be combined with embeddings_path (the resumed "
                             "seeds' embeddings were not kept)")
        mine = _results(dataset, config, [], max_epochs)
        for key in ("dataset", "config", "max_epochs"):
            if resume_from.get(key) != mine[key]:
                raise ValueError(f"resume_from has a different {key}: {resume_from.get(key)!r} "
                                 f"instead of {mine[key]!r}")
        per_seed = [s for s in resume_from["per_seed"] if s["seed"] in set(seeds)]
    done = {s["seed"] for s in per_seed}
    missing = [seed for seed in seeds if seed not in done]
    if not missing and embeddings_path is None:
        return _results(dataset, config, per_seed, max_epochs)  # nothing to train: no data load
    inputs = prepare_inputs(load_heco(dataset, root=root))
    embeddings = {}
    for seed in missing:
        result = train(inputs, config, seed=seed, max_epochs=max_epochs, progress=progress)
        start = time.perf_counter()
        metrics = evaluate(result.embeddings, inputs, config, seed=seed)
        per_seed.append({"seed": seed, "metrics": metrics, "epochs": result.epochs_run,
                         "best_epoch": result.best_epoch, "train_seconds": result.train_seconds,
                         "eval_seconds": time.perf_counter() - start})
        embeddings[seed] = result.embeddings
        if on_seed is not None:
            on_seed(_results(dataset, config, per_seed, max_epochs))
    if embeddings_path is not None:
        embeddings_path = Path(embeddings_path)
        embeddings_path.parent.mkdir(parents=True, exist_ok=True)
        # Atomic: an interrupted save never replaces an earlier file with a partial one.
        with atomic_writer(embeddings_path) as f:
            torch.save({"dataset": dataset, "embeddings": embeddings, "labels": inputs.labels}, f)
    return _results(dataset, config, per_seed, max_epochs)


def merge_results(parts: Sequence[Dict]) -> Dict:
    """One results dictionary from runs of disjoint seeds (e.g. seeds split
    across processes) of the same dataset, config and ``max_epochs``."""
    if not parts:
        raise ValueError("merge_results needs at least one results dictionary")
    first = parts[0]
    per_seed: List[Dict] = []
    for part in parts:
        for key in ("dataset", "config", "max_epochs"):
            if part.get(key) != first.get(key):
                raise ValueError(f"cannot merge results with different {key}: "
                                 f"{first.get(key)!r} and {part.get(key)!r}")
        per_seed += part["per_seed"]
    seeds = [s["seed"] for s in per_seed]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"cannot merge results that share seeds: {sorted(seeds)}")
    config = HeCoConfig(**{k: (list(v) if isinstance(v, list) else v)
                           for k, v in first["config"].items()})
    return _results(first["dataset"], config, sorted(per_seed, key=lambda s: s["seed"]),
                    first.get("max_epochs"))


def _results(dataset: str, config: HeCoConfig, per_seed: List[Dict],
             max_epochs: Optional[int] = None) -> Dict:
    """The results.json dictionary for the seeds run so far."""
    aggregated = {}
    for rate in LABEL_RATES:
        aggregated[str(rate)] = {}
        for metric in METRICS:
            source = "clustering" if metric in ("nmi", "ari") else str(rate)
            values = np.array([s["metrics"][source][metric]["mean"] for s in per_seed])
            aggregated[str(rate)][metric] = ({"mean": float(values.mean()),
                                              "std": float(values.std())} if len(values)
                                             else {"mean": float("nan"), "std": float("nan")})
    return {"method": "heco", "dataset": dataset, "protocol": PROTOCOL,
            "seeds": [s["seed"] for s in per_seed],
            "config": config_as_json(config), "max_epochs": max_epochs, "metrics": aggregated,
            "per_seed": list(per_seed)}


def results_table(results: Dict) -> str:
    """Ours (mean±std over seeds, %) beside the paper's number per label rate."""
    paper = PAPER_RESULTS.get(results["dataset"], {})
    lines = [f"HeCo on {results['dataset']} ({len(results['seeds'])} seeds; {results['protocol']})",
             f"{'labels':>6} {'metric':<9} {'ours':>13} {'paper':>13}"]
    for rate, metrics in results["metrics"].items():
        for metric in ("macro_f1", "micro_f1", "auc"):
            m = metrics[metric]
            ref = paper.get(int(rate), {}).get(metric)
            ref_text = f"{ref[0]:.2f}±{ref[1]:.2f}" if ref else "n/a"
            lines.append(f"{rate:>6} {metric:<9} {100 * m['mean']:>7.2f}±{100 * m['std']:<5.2f} "
                         f"{ref_text:>13}")
    first = next(iter(results["metrics"].values()))
    lines.append(f"clustering: NMI {100 * first['nmi']['mean']:.2f}±{100 * first['nmi']['std']:.2f}  "
                 f"ARI {100 * first['ari']['mean']:.2f}±{100 * first['ari']['std']:.2f} "
                 "(paper: not published)")
    return "\n".join(lines)


def write_results(results: Dict, path: Path) -> None:
    """Write ``results`` to ``path`` as JSON, atomically (the previous file
    survives a full disk or a crash; see :func:`graphcl.methods._results.write_json`)."""
    write_json(results, path)
