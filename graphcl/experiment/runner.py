"""The multi-seed runner: one seeded run per seed, results written after
every seed, resume and a Ctrl-C that never loses a finished seed."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from tqdm.auto import tqdm

from graphcl.experiment.config import ExperimentConfig
from graphcl.experiment.registry import Method, get_method
from graphcl.experiment.results import build_results, check_compatible, read_results
from graphcl.io import write_json_atomic
from graphcl.experiment.seeding import check_seeds, seed_everything

def run_seeds(method: Union[str, Method], dataset: str, seeds: Sequence[int], *,
              config: Optional[ExperimentConfig] = None, data_options: Optional[Dict] = None,
              out: Optional[Union[str, Path]] = None, resume: bool = False,
              resume_from: Optional[Dict[str, Any]] = None, progress: bool = True,
              seed_progress: bool = False,
              on_seed: Optional[Callable[[Dict[str, Any]], None]] = None,
              on_artifacts: Optional[Callable[[int, Dict[str, Any]], None]] = None
              ) -> Dict[str, Any]:
    """Run ``method`` on ``dataset`` once per seed and aggregate.

    Args:
        method (str or Method): a registered method or its name.
        dataset (str): one of ``method.datasets``.
        seeds (sequence of int): the training seeds, each in ``[0, 2**32-1]``.
        config (ExperimentConfig, optional): defaults to the paper config.
        data_options (dict, optional): passed to the method's ``load_data``
            (``root`` and method-specific options).
        out (path, optional): results.json, rewritten atomically after every
            seed, so an interrupted run keeps every finished seed.
        resume (bool): keep the seeds ``out`` already holds (default False).
        resume_from (dict, optional): an earlier results dictionary to keep
            seeds from (instead of ``out``).
        progress (bool): a progress bar over the seeds (default True).
        seed_progress (bool): also each seed's own progress bar (default False).
        on_seed (callable, optional): called with the results after every seed.
        on_artifacts (callable, optional): called as ``on_artifacts(seed,
            artifacts)`` with what a seed returned beside its JSON record
            (embeddings, labels); they are not kept otherwise.

    Returns:
        The results dictionary (see :mod:`graphcl.experiment.results`).
    """
    method = get_method(method) if isinstance(method, str) else method
    if dataset not in method.datasets:
        raise ValueError(f"{method.name} has no dataset {dataset!r}; known: {list(method.datasets)}")
    seeds = check_seeds(seeds)
    config = config if config is not None else method.make_config(dataset, None)
    if not isinstance(config, method.config_type):
        raise TypeError(f"config must be a {method.config_type.__name__}, "
                        f"got {type(config).__name__}")
    out = Path(out) if out is not None else None
    if resume and resume_from is None and out is not None and out.exists():
        resume_from = read_results(out)
    start = time.perf_counter()
    protocol = method.protocol_text(config)
    config_json = config.to_json()

    def results_of(per_seed):
        return build_results(method.name, dataset, protocol, config_json, per_seed,
                             wall_seconds=time.perf_counter() - start)

    per_seed: List[Dict[str, Any]] = []
    if resume_from is not None:
        check_compatible(resume_from, results_of([]), "cannot resume")
        per_seed = [s for s in resume_from["per_seed"] if s["seed"] in set(seeds)]
    done = {s["seed"] for s in per_seed}
    missing = [s for s in seeds if s not in done]
    if missing:
        data = method.load_data(config, dict(data_options or {}))
        bar = tqdm(missing, desc=f"{method.title} {dataset}", unit="seed", disable=not progress)
        for seed in bar:
            bar.set_postfix(seed=seed)
            seed_everything(seed)
            tic = time.perf_counter()
            record = dict(method.run_seed(data, config, seed, seed_progress))
            artifacts = record.pop("artifacts", None)
            if artifacts and on_artifacts is not None:
                on_artifacts(seed, artifacts)
            record.setdefault("timings", {})["seed_seconds"] = time.perf_counter() - tic
            per_seed.append({"seed": seed, **record})
            per_seed.sort(key=lambda s: seeds.index(s["seed"]))
            results = results_of(per_seed)
            if out is not None:
                write_json_atomic(results, out)
            if on_seed is not None:
                on_seed(results)
        bar.close()
        return results  # written after the last seed
    results = results_of(per_seed)
    if out is not None:
        write_json_atomic(results, out)
    return results
