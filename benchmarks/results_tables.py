"""Markdown tables for the README from the reproduction scripts' JSON files.

    python benchmarks/results_tables.py heco benchmarks/results/heco/{acm,dblp,aminer}.json
    python benchmarks/results_tables.py scgc benchmarks/results/scgc/*.json
"""
import argparse
import json
import sys
from pathlib import Path


def _cell(m, scale=100.0):
    return f"{scale * m['mean']:.2f}±{scale * m['std']:.2f}"


def seed_ranges(seeds) -> str:
    """[4, 5, 6, 12, 13] -> '4-6, 12-13'."""
    seeds, parts, start = sorted(seeds), [], None
    for i, seed in enumerate(seeds):
        start = seed if start is None else start
        if i + 1 == len(seeds) or seeds[i + 1] != seed + 1:
            parts.append(str(seed) if seed == start else f"{start}-{seed}")
            start = None
    return ", ".join(parts)


def heco_table(paths):
    from graphcl.methods.heco.config import PAPER_RESULTS
    lines = ["| dataset | labels | Ma-F1 ours | Ma-F1 paper | Mi-F1 ours | Mi-F1 paper | AUC ours | AUC paper |",
             "|---|---|---|---|---|---|---|---|"]
    extra = ["", "| dataset | seeds | NMI | ARI | s/epoch | epochs/seed | training s/seed | eval s/seed | peak RSS GB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for path in paths:
        r = json.loads(Path(path).read_text())
        paper = PAPER_RESULTS.get(r["dataset"], {})
        label = r["dataset"] + (f" ({r['max_epochs']}-epoch cap)" if r.get("max_epochs") else "")
        for rate, metrics in r["metrics"].items():
            cells = []
            for name in ("macro_f1", "micro_f1", "auc"):
                ref = paper.get(int(rate), {}).get(name)
                ours = _cell(metrics[name])
                short = ref is not None and 100 * metrics[name]["mean"] < ref[0] - ref[1]
                cells += [f"**{ours}**" if short else ours,
                          f"{ref[0]:.2f}±{ref[1]:.1f}" if ref else "n/a"]
            lines.append(f"| {label} | {rate} | " + " | ".join(cells) + " |")
        per_seed = r["per_seed"]
        first = next(iter(r["metrics"].values()))
        n = len(per_seed)
        extra.append(f"| {label} | {n} ({seed_ranges(r['seeds'])}) | "
                     f"{_cell(first['nmi'])} | {_cell(first['ari'])} | "
                     f"{r.get('seconds_per_epoch', float('nan')):.2f} | "
                     f"{sum(s['epochs'] for s in per_seed) / n:.0f} | "
                     f"{sum(s['train_seconds'] for s in per_seed) / n:.0f} | "
                     f"{sum(s['eval_seconds'] for s in per_seed) / n:.1f} | "
                     f"{r.get('peak_rss_gb', float('nan')):.2f} |")
    return "\n".join(lines + extra)


def scgc_table(paths):
    """One block of rows per dataset (in the order the files are given): each
    results file under both protocols, then SDCN's Table 2 row and, for USPS,
    the published SCGC* run."""
    from graphcl.methods.scgc.config import PUBLISHED_SCGC_STAR_USPS, SDCN_RESULTS
    metrics = ("acc", "nmi", "ari", "f1")
    lines = ["| dataset | model | AE | seeds | protocol | ACC | NMI | ARI | F1 |",
             "|---|---|---|---|---|---|---|---|---|"]
    speed = ["", "| dataset | model | AE | s/epoch | AE pretraining s/seed | peak RSS GB | threads |",
             "|---|---|---|---|---|---|---|"]
    by_dataset = {}
    for path in paths:
        r = json.loads(Path(path).read_text())
        by_dataset.setdefault(r["dataset"], []).append(r)
    for dataset, results in by_dataset.items():
        for r in results:
            name = "SCGC*" if r["method"] == "scgc_star" else "SCGC"
            n = len(r["seeds"])
            ae = "per seed" if r.get("ae_seed") is None else f"shared, seed {r['ae_seed']}"
            for protocol in ("paper", "honest"):
                cells = [_cell(r["metrics"][protocol][m]) for m in metrics]
                lines.append(f"| {dataset} | {name} | {ae} | {n} | {protocol} | " + " | ".join(cells) + " |")
            per_seed = r["per_seed"]
            speed.append(f"| {dataset} | {name} | {ae} | {r['seconds_per_epoch']:.3f} | "
                         f"{sum(s['pretrain_seconds'] for s in per_seed) / n:.0f} | "
                         f"{r.get('peak_rss_gb', float('nan')):.2f} | {r.get('torch_threads', '?')} |")
        if dataset in SDCN_RESULTS:
            ref = SDCN_RESULTS[dataset]
            lines.append(f"| {dataset} | SDCN (paper, Table 2) | shared | 10 | mean | " +
                         " | ".join(f"{ref[m]:.2f}" for m in metrics) + " |")
        if dataset == "usps":
            lines.append("| usps | SCGC* (published run, seed 42) | SDCN's | 1 | paper | " +
                         " | ".join(f"{PUBLISHED_SCGC_STAR_USPS[m]:.2f}" for m in metrics) + " |")
    return "\n".join(lines + speed)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("method", choices=["heco", "scgc"])
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    print(heco_table(args.paths) if args.method == "heco" else scgc_table(args.paths))


if __name__ == "__main__":
    sys.exit(main())
