"""One results schema for every method, written atomically.

A results dictionary (and results.json) holds::

    schema          SCHEMA_VERSION
    method, dataset, protocol
    seeds           the seeds run, in order
    config          the method's config (ExperimentConfig.to_json)
    metrics         {group: {metric: {"mean", "std"}}} over seeds (fractions; std with ddof=0)
    per_seed        [{"seed", "metrics": {group: {metric: value}}, "timings", ...}]
    timings         {name: mean seconds per seed} and "wall_seconds" of the process
    peak_memory_gb  the process's peak resident memory
    graphcl_version, git_commit, torch_version, torch_threads

Groups are what a method reports metrics per: label rates for HeCo,
protocols for SCGC, splits for recommenders.
"""
from __future__ import annotations

import functools
import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

SCHEMA_VERSION = 2
_REQUIRED = ("schema", "method", "dataset", "protocol", "seeds", "config", "metrics", "per_seed")


def read_results(path) -> Dict[str, Any]:
    """A results file of this schema; a clear error names the file otherwise."""
    path = Path(path)
    try:
        results = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"results file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"results file {path} is not valid JSON ({exc})") from None
    if not isinstance(results, dict):
        raise ValueError(f"results file {path} holds a {type(results).__name__}, not an object")
    missing = [key for key in _REQUIRED if key not in results]
    if missing:
        raise ValueError(f"results file {path} lacks {missing} (schema {SCHEMA_VERSION} "
                         "expected; see graphcl.experiment.results)")
    if results["schema"] != SCHEMA_VERSION:
        raise ValueError(f"results file {path} has schema {results['schema']}, "
                         f"this graphcl reads {SCHEMA_VERSION}")
    return results


@functools.lru_cache(maxsize=1)  # one git call per process, not one per saved seed
def _git_commit() -> Optional[str]:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def peak_memory_gb() -> float:
    """Peak resident memory of this process so far, in GB (ru_maxrss is KiB on
    Linux and bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (2**30 if sys.platform == "darwin" else 2**20)


def aggregate(per_seed: Sequence[Dict[str, Any]]) -> Dict[str, Dict[str, Dict[str, float]]]:
    """``{group: {metric: {mean, std}}}`` over the seeds (population std)."""
    out: Dict[str, Dict[str, Dict[str, float]]] = {}
    if not per_seed:
        return out
    for group, metrics in per_seed[0]["metrics"].items():
        out[group] = {}
        for metric in metrics:
            values = np.array([s["metrics"][group][metric] for s in per_seed], dtype=float)
            out[group][metric] = {"mean": float(values.mean()), "std": float(values.std())}
    return out


def seconds_per_epoch(per_seed: Sequence[Dict[str, Any]]) -> float:
    """Training seconds per epoch pooled over the seeds (total training time
    over total epochs, not a mean of per-seed rates, so long seeds weigh more)."""
    return (sum(s["timings"]["train_seconds"] for s in per_seed)
            / max(sum(s["epochs"] for s in per_seed), 1))


def _mean_timings(per_seed: Sequence[Dict[str, Any]]) -> Dict[str, float]:
    names: List[str] = []
    for seed in per_seed:
        names += [n for n in seed.get("timings", {}) if n not in names]
    return {name: float(np.mean([s["timings"][name] for s in per_seed
                                 if name in s.get("timings", {})])) for name in names}


def build_results(method: str, dataset: str, protocol: str, config: Dict[str, Any],
                  per_seed: Sequence[Dict[str, Any]], *, wall_seconds: Optional[float] = None,
                  extra: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The results dictionary of the seeds in ``per_seed``."""
    import torch

    import graphcl
    per_seed = list(per_seed)
    for seed in per_seed:
        if "seed" not in seed or "metrics" not in seed:
            raise ValueError("every per_seed entry needs 'seed' and 'metrics'")
    results = {
        "schema": SCHEMA_VERSION, "method": method, "dataset": dataset, "protocol": protocol,
        "seeds": [s["seed"] for s in per_seed], "config": config,
        "metrics": aggregate(per_seed), "per_seed": per_seed,
        "timings": {**_mean_timings(per_seed),
                    **({"wall_seconds": wall_seconds} if wall_seconds is not None else {})},
        "peak_memory_gb": peak_memory_gb(), "graphcl_version": graphcl.__version__,
        "git_commit": _git_commit(), "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }
    results.update(extra or {})
    return results


def check_compatible(a: Dict[str, Any], b: Dict[str, Any], what: str) -> None:
    """Raise unless ``a`` and ``b`` are runs of one experiment (same method,
    dataset and config), so their seeds can be combined."""
    for key in ("method", "dataset", "config"):
        if a.get(key) != b.get(key):
            raise ValueError(f"{what}: different {key}: {a.get(key)!r} and {b.get(key)!r}")


def merge_results(parts: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """One results dictionary from runs of disjoint seeds of one experiment
    (seeds split over processes). Timings stay per seed; peak memory is the
    largest of the parts'."""
    if not parts:
        raise ValueError("merge_results needs at least one results dictionary")
    first = parts[0]
    per_seed: List[Dict[str, Any]] = []
    for part in parts:
        check_compatible(first, part, "cannot merge results")
        per_seed += part["per_seed"]
    seeds = [s["seed"] for s in per_seed]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"cannot merge results that share seeds: {sorted(seeds)}")
    merged = build_results(first["method"], first["dataset"], first["protocol"], first["config"],
                           sorted(per_seed, key=lambda s: s["seed"]))
    merged["peak_memory_gb"] = max(p.get("peak_memory_gb", 0.0) or 0.0 for p in parts)
    merged["merged_from"] = len(parts)
    return merged
