"""Results tables from results dictionaries: ours (mean±std over seeds, in %)
beside the paper's number, for the terminal and as Markdown."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from graphcl.experiment.registry import get_method


def seed_ranges(seeds: Sequence[int]) -> str:
    """``[4, 5, 6, 12, 13]`` -> ``'4-6, 12-13'``."""
    seeds, parts, start = sorted(seeds), [], None
    for i, seed in enumerate(seeds):
        start = seed if start is None else start
        if i + 1 == len(seeds) or seeds[i + 1] != seed + 1:
            parts.append(str(seed) if seed == start else f"{start}-{seed}")
            start = None
    return ", ".join(parts)


def cell(value: Dict[str, float], scale: float = 100.0) -> str:
    return f"{scale * value['mean']:.2f}±{scale * value['std']:.2f}"


def paper_cell(ref) -> str:
    if ref is None:
        return "n/a"
    mean, std = ref
    return f"{mean:.2f}" if std is None else f"{mean:.2f}±{std:.2f}"


def paper_results(results: Dict[str, Any]):
    """The published numbers for a results dictionary's method and dataset (or {})."""
    try:
        method = get_method(results["method"])
    except KeyError:
        return {}
    return method.paper_results.get(results["dataset"], {})


def rows(results: Dict[str, Any]) -> List[List[str]]:
    """``[group, metric, ours, paper]`` for every metric of the results."""
    paper = paper_results(results)
    out = []
    for group, metrics in results["metrics"].items():
        for metric, value in metrics.items():
            out.append([group, metric, cell(value), paper_cell(paper.get(group, {}).get(metric))])
    return out


def _title(results: Dict[str, Any]) -> str:
    seeds = results["seeds"]
    return (f"{results['method']} on {results['dataset']}: {len(seeds)} seeds "
            f"({seed_ranges(seeds)}); {results['protocol']}")


def terminal_table(results: Dict[str, Any], header: Optional[str] = None) -> str:
    """A fixed-width table: group, metric, ours (%), paper (%)."""
    lines = [header or _title(results), f"{'group':<12} {'metric':<10} {'ours':>13} {'paper':>13}"]
    for group, metric, ours, ref in rows(results):
        lines.append(f"{group:<12} {metric:<10} {ours:>13} {ref:>13}")
    return "\n".join(lines)


def markdown_table(results_list: Sequence[Dict[str, Any]]) -> str:
    """One Markdown table over several results (e.g. one per dataset)."""
    lines = ["| dataset | seeds | group | metric | ours | paper |", "|---|---|---|---|---|---|"]
    for results in results_list:
        seeds = f"{len(results['seeds'])} ({seed_ranges(results['seeds'])})"
        for group, metric, ours, ref in rows(results):
            lines.append(f"| {results['dataset']} | {seeds} | {group} | {metric} | {ours} | {ref} |")
    return "\n".join(lines)
