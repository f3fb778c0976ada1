"""Multi-seed SCGC / SCGC* runs, results table and results.json."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from graphcl.eval import CLUSTER_METRICS
from graphcl.experiment.seeding import check_seed
from graphcl.methods._results import (check_positive_int, check_seeds, config_as_json,
                                      write_json)
from graphcl.methods.scgc.config import (PUBLISHED_SCGC_STAR_USPS, SDCN_RESULTS, SCGCConfig,
                                         paper_config)
from graphcl.methods.scgc.train import HONEST_PROTOCOL, PAPER_PROTOCOL, train_scgc


def load_scgc_dataset(config: SCGCConfig, root=None, features=None):
    from graphcl.datasets import load_sdcn
    kwargs = {"k": config.knn_k} if config.knn_k is not None else {}
    return load_sdcn(config.dataset, root=root, features=features, **kwargs)


def run_scgc(dataset: str, seeds: Sequence[int], *, star: bool = False,
             config: Optional[SCGCConfig] = None, root=None, features=None,
             epochs: Optional[int] = None, progress: bool = True,
             on_seed: Optional[Callable[[Dict], None]] = None,
             resume_from: Optional[Dict] = None, ae_seed: Optional[int] = None) -> Dict:
    """Train and score SCGC or SCGC* once per seed and aggregate both protocols.

    Returns the results.json dictionary: ``method``, ``dataset``, ``seeds``,
    ``protocols`` (descriptions), ``metrics`` as ``{protocol: {metric: {mean,
    std}}}`` with protocol ``paper`` / ``honest`` and metrics ``acc``, ``nmi``,
    ``ari``, ``f1`` (fractions), per-seed values and timings. ``on_seed`` is
    called after every seed with the results so far. ``resume_from`` (an
    earlier results dictionary of the same method and dataset) keeps its seeds
    and runs only the missing ones. ``ae_seed`` pretrains one AE with that
    seed and starts every run from it (the reference code's setting); by
    default each seed pretrains its own AE.

    ``seeds`` (distinct ints in ``[0, 2**32 - 1]``, at most 10,000), ``epochs``
    (>= 1) and ``ae_seed`` are checked before any data is loaded.
    """
    from graphcl.datasets import data_root
    seeds = check_seeds(seeds)
    epochs = check_positive_int(epochs, "epochs")
    if ae_seed is not None:
        ae_seed = check_seed(ae_seed, "ae_seed")
    config = config or paper_config(dataset, star)
    data = load_scgc_dataset(config, root=root, features=features)
    cache_dir = data_root(root) / "cache" / "scgc"
    per_seed: List[Dict] = []
    if resume_from is not None:
        if (resume_from.get("method"), resume_from.get("dataset")) != (config.method, dataset):
            raise ValueError(f"resume_from holds {resume_from.get('method')} on "
                             f"{resume_from.get('dataset')}, not {config.method} on {dataset}")
        if resume_from.get("ae_seed") != ae_seed:
            raise ValueError(f"resume_from was run with ae_seed={resume_from.get('ae_seed')}, "
                             f"not ae_seed={ae_seed}")
        per_seed = [s for s in resume_from["per_seed"] if s["seed"] in set(seeds)]
    done = {s["seed"] for s in per_seed}
    for seed in seeds:
        if seed in done:
            continue
        run = train_scgc(data, config, seed=seed, epochs=epochs, cache_dir=cache_dir,
                         progress=progress, ae_seed=ae_seed)
        per_seed.append({"seed": seed, "paper": run.paper, "honest": run.honest,
                         "kmeans_init": run.trace[0],
                         "acc_by_epoch": [t["acc"] for t in run.trace],
                         "pretrain_seconds": run.pretrain_seconds,
                         "train_seconds": run.train_seconds, "epochs": run.epochs,
                         "seconds_per_epoch": run.seconds_per_epoch})
        if on_seed is not None:
            on_seed(_results(dataset, config, per_seed, ae_seed))
    return _results(dataset, config, per_seed, ae_seed)


def _results(dataset: str, config: SCGCConfig, per_seed: List[Dict],
             ae_seed: Optional[int] = None) -> Dict:
    """The results.json dictionary for the seeds run so far."""
    metrics = {protocol: {m: {"mean": float(np.mean([s[protocol][m] for s in per_seed])),
                              "std": float(np.std([s[protocol][m] for s in per_seed]))}
                          for m in CLUSTER_METRICS}
               for protocol in ("paper", "honest")}
    return {"method": config.method, "dataset": dataset, "seeds": [s["seed"] for s in per_seed],
            "protocols": {"paper": PAPER_PROTOCOL, "honest": HONEST_PROTOCOL},
            "ae_seed": ae_seed,
            "autoencoder": (f"one AE pretrained with seed {ae_seed}, shared by every seed"
                            if ae_seed is not None else "one AE pretrained per seed"),
            "config": config_as_json(config), "metrics": metrics, "per_seed": list(per_seed),
            "seconds_per_epoch": float(np.mean([s["seconds_per_epoch"] for s in per_seed]))}


def results_table(results: Dict) -> str:
    """Ours under both protocols (mean±std over seeds, %) beside SDCN's Table 2
    row and, for SCGC* on USPS, the published single run."""
    name = "SCGC*" if results["method"] == "scgc_star" else "SCGC"
    lines = [f"{name} on {results['dataset']} ({len(results['seeds'])} seeds "
             f"{results['seeds'][0]}..{results['seeds'][-1]}; "
             f"{results.get('autoencoder', 'one AE pretrained per seed')}; "
             f"{results['seconds_per_epoch']:.3f} s/epoch)",
             f"{'metric':<6} {'paper protocol':>15} {'honest':>15} {'SDCN':>7} {'published':>10}"]
    sdcn = SDCN_RESULTS.get(results["dataset"], {})
    published = PUBLISHED_SCGC_STAR_USPS if (results["method"] == "scgc_star"
                                             and results["dataset"] == "usps") else {}
    for m in CLUSTER_METRICS:
        cells = []
        for protocol in ("paper", "honest"):
            v = results["metrics"][protocol][m]
            cells.append(f"{100 * v['mean']:.2f}±{100 * v['std']:.2f}")
        ref = f"{sdcn[m]:.2f}" if m in sdcn else "n/a"
        pub = f"{published[m]:.2f}" if m in published else "n/a"
        lines.append(f"{m:<6} {cells[0]:>15} {cells[1]:>15} {ref:>7} {pub:>10}")
    lines.append("paper protocol = per-metric max over epochs (labels pick the epoch); "
                 "honest = final epoch")
    return "\n".join(lines)


def write_results(results: Dict, path: Path) -> None:
    """Write ``results`` to ``path`` as JSON, atomically (the previous file
    survives a full disk or a crash; see :func:`graphcl.methods._results.write_json`)."""
    write_json(results, path)
