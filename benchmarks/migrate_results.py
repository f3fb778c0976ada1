"""One-off: convert results files written before the experiment layer
(HeCo's run_heco and SCGC's run_scgc, "schema 1") to schema 2
(graphcl.experiment.results) and move them to benchmarks/<method>/results/.

    python benchmarks/migrate_results.py --tree benchmarks/results [--remove]
    python benchmarks/migrate_results.py OLD.json --out NEW.json

The tree mode maps ``benchmarks/results/heco/X.json`` to
``benchmarks/heco/results/X.json`` and ``benchmarks/results/heco_<run>/X.json``
to ``benchmarks/heco/results/<run>/X.json`` (likewise for scgc), and moves the
other JSON files (speed and memory measurements, not per-seed results) beside
them unchanged. It ran once when the experiment layer landed (issue 12); it
stays for anyone holding old files.

What changes:

- ``per_seed[i].metrics`` becomes ``{group: {metric: value}}``. HeCo's old
  per-seed ``metrics[rate][metric]`` held the mean and std over the 50 probes:
  the mean becomes the value, the std moves to ``metric_std``. HeCo's groups
  are ``"20"``, ``"40"``, ``"60"`` and ``"clustering"`` (NMI/ARI, which the old
  aggregate repeated under every rate); SCGC's are ``"paper"`` and ``"honest"``
  (the old per-seed top-level ``paper``/``honest``).
- ``config`` is the method config's ``to_json``. HeCo: the old top-level
  ``max_epochs`` goes into ``config.max_epochs`` when not null (and the 20-epoch
  speed runs of ``heco_speed``, whose files lack it, get the cap their README
  command used). SCGC: the old top-level ``ae_seed`` goes into
  ``config.ae_seed``, and ``config.epochs`` is the epochs every seed ran (the
  old ``--epochs`` option was not recorded in the config).
- Per-seed seconds go under ``timings`` (plus ``seconds_per_epoch``); SCGC's
  ``acc_by_epoch`` becomes ``history.acc``.
- Top-level fields of the old file that schema 2 has no place for
  (``wall_seconds``, ``peak_rss_gb``, ``seconds_per_epoch``, ``autoencoder``,
  ...) are kept as they are; ``peak_rss_gb`` is also ``peak_memory_gb``. The
  versions and the commit of the run were not recorded: they are null, and
  ``migrated_from`` names the old file and its protocol text.

Every converted file is read back with ``graphcl.experiment.read_results``, its
config rebuilt with the method's config class, and its aggregated means and
stds compared with the old file's; any difference raises before anything is
written (tree mode) or removed.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

REPO = Path(__file__).resolve().parents[1]

#: Epoch caps of old runs whose files did not record them (the README command
#: of heco_speed: ``--seeds 1 --max-epochs 20``).
KNOWN_HECO_CAPS = {"heco_speed": 20}

#: Old top-level keys that schema 2 rebuilds (everything else is kept as is).
_REBUILT = {"method", "dataset", "protocol", "seeds", "config", "metrics", "per_seed", "schema"}


def _heco_seed(old: Dict[str, Any]) -> Dict[str, Any]:
    metrics = {g: {m: v["mean"] for m, v in ms.items()} for g, ms in old["metrics"].items()}
    stds = {g: {m: v["std"] for m, v in ms.items()} for g, ms in old["metrics"].items()}
    return {
        "seed": old["seed"], "metrics": metrics, "metric_std": stds,
        "epochs": old["epochs"], "best_epoch": old["best_epoch"],
        "timings": {"train_seconds": old["train_seconds"], "eval_seconds": old["eval_seconds"],
                    "seconds_per_epoch": old["train_seconds"] / max(old["epochs"], 1)},
    }


def _scgc_seed(old: Dict[str, Any]) -> Dict[str, Any]:
    record = {
        "seed": old["seed"], "metrics": {"paper": old["paper"], "honest": old["honest"]},
        "kmeans_init": old["kmeans_init"], "epochs": old["epochs"],
        "timings": {"pretrain_seconds": old["pretrain_seconds"],
                    "train_seconds": old["train_seconds"],
                    "seconds_per_epoch": old["seconds_per_epoch"]},
    }
    if "acc_by_epoch" in old:
        record["history"] = {"acc": old["acc_by_epoch"]}
    return record


def _heco_config(old: Dict[str, Any], run: str):
    from graphcl.methods.heco.config import HeCoConfig
    config = HeCoConfig.from_json(old["config"])
    cap = old.get("max_epochs") or KNOWN_HECO_CAPS.get(run)
    if cap:
        config = config.with_overrides(max_epochs=cap)
    ran = max(s["epochs"] for s in old["per_seed"])
    if ran > config.max_epochs:
        raise ValueError(f"a seed ran {ran} epochs, more than max_epochs {config.max_epochs}")
    return config


def _scgc_config(old: Dict[str, Any], run: str):
    from graphcl.methods.scgc.config import SCGCConfig
    values = dict(old["config"], ae_seed=old.get("ae_seed"))
    epochs = {s["epochs"] for s in old["per_seed"]}
    if len(epochs) != 1:
        raise ValueError(f"seeds ran different epoch counts {sorted(epochs)}")
    values["epochs"] = epochs.pop()  # SCGC has no early stopping: what ran is the config
    return SCGCConfig.from_json(values)


def convert(old: Dict[str, Any], source: str, run: str = "") -> Dict[str, Any]:
    """The schema-2 results dictionary of an old results dictionary.

    Args:
        old (dict): an old (schema 1) HeCo or SCGC results dictionary.
        source (str): where it came from (kept in ``migrated_from``).
        run (str): the old folder name (``heco_speed``), for known epoch caps.
    """
    from graphcl.experiment import get_method
    from graphcl.experiment.results import build_results
    if "schema" in old:
        raise ValueError(f"{source} already has schema {old['schema']}")
    name = old["method"]
    if name == "heco":
        config, per_seed = _heco_config(old, run), [_heco_seed(s) for s in old["per_seed"]]
    elif name in ("scgc", "scgc_star"):
        config, per_seed = _scgc_config(old, run), [_scgc_seed(s) for s in old["per_seed"]]
    else:
        raise ValueError(f"{source}: no migration for method {name!r}")
    method = get_method(name)
    extra = {k: v for k, v in old.items() if k not in _REBUILT}
    new = build_results(name, old["dataset"], method.protocol_text(config), config.to_json(),
                        per_seed, wall_seconds=old.get("wall_seconds"), extra=extra)
    new.update(peak_memory_gb=old.get("peak_rss_gb"), graphcl_version=None, git_commit=None,
               torch_version=None, torch_threads=old.get("torch_threads"),
               migrated_from={"path": source, "schema": 1, "protocol": old.get("protocol")})
    return new


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def verify(old: Dict[str, Any], path: Path) -> None:
    """Raise unless ``path`` loads as schema 2 and holds the old file's seeds,
    a valid config, and the old aggregated means and stds."""
    from graphcl.experiment import get_method, read_results
    new = read_results(path)
    method = get_method(new["method"])
    if method.config_type.from_json(new["config"]).to_json() != new["config"]:
        raise AssertionError(f"{path}: config does not round-trip")
    if new["seeds"] != old["seeds"]:
        raise AssertionError(f"{path}: seeds {new['seeds']} != old {old['seeds']}")
    checked = 0
    for group, metrics in old["metrics"].items():
        for metric, value in metrics.items():
            # HeCo's old aggregate repeated NMI/ARI under every label rate
            target = "clustering" if metric in ("nmi", "ari") and new["method"] == "heco" \
                else group
            ours = new["metrics"][target][metric]
            for stat in ("mean", "std"):
                if not _close(ours[stat], value[stat]):
                    raise AssertionError(f"{path}: {target}/{metric} {stat} {ours[stat]} != "
                                         f"old {group}/{metric} {value[stat]}")
            checked += 1
    if checked == 0:
        raise AssertionError(f"{path}: nothing to compare")


def tree_plan(old_root: Path, repo: Path) -> Tuple[List[Tuple[Path, Path, str]], List[Tuple[Path, Path]]]:
    """(convert: [(old, new, run)], move unchanged: [(old, new)]) for the old tree."""
    convert_list, move_list = [], []
    for old in sorted(old_root.rglob("*.json")):
        rel = old.relative_to(old_root)
        if len(rel.parts) == 2:  # <method>[_<run>]/<file>.json: per-seed results
            folder = rel.parts[0]
            method, _, run = folder.partition("_")
            results = repo / "benchmarks" / method / "results"
            convert_list.append((old, (results / run if run else results) / rel.parts[1], folder))
        elif old.name.startswith(("ops_", "infonce_")):
            move_list.append((old, repo / "benchmarks" / "core" / "results" / old.name))
        elif old.name.startswith("heco_"):
            move_list.append((old, repo / "benchmarks" / "heco" / "results" / old.name[5:]))
        elif old.name.startswith("scgc_"):
            move_list.append((old, repo / "benchmarks" / "scgc" / "results" /
                              ("memory_" + old.name[5:])))
        else:
            raise ValueError(f"{old}: no place for it in the new layout")
    return convert_list, move_list


def migrate_file(old_path: Path, new_path: Path, run: str = "") -> Dict[str, Any]:
    from graphcl.experiment import write_json_atomic
    old = json.loads(old_path.read_text())
    try:
        source = str(old_path.resolve().relative_to(REPO))
    except ValueError:
        source = str(old_path)
    write_json_atomic(convert(old, source, run), new_path)
    verify(old, new_path)
    return old


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", nargs="?", help="one old results file (with --out)")
    parser.add_argument("--out", help="the schema-2 file to write for OLD")
    parser.add_argument("--tree", help="an old benchmarks/results folder to migrate whole")
    parser.add_argument("--remove", action="store_true",
                        help="tree mode: delete the old files once every new one is verified")
    args = parser.parse_args(argv)
    if (args.old is None) == (args.tree is None):
        parser.error("give either OLD --out NEW or --tree FOLDER")
    if args.old is not None:
        if args.out is None:
            parser.error("OLD needs --out")
        migrate_file(Path(args.old), Path(args.out))
        print(f"{args.old} -> {args.out} (verified)")
        return 0
    old_root = Path(args.tree)
    if not old_root.is_dir():
        parser.error(f"argument --tree: {old_root} is not a folder")
    convert_list, move_list = tree_plan(old_root, REPO)
    for old, new, run in convert_list:
        migrate_file(old, new, run)
        print(f"converted {old} -> {new.relative_to(REPO)}")
    for old, new in move_list:
        new.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(old, new)
        print(f"moved     {old} -> {new.relative_to(REPO)}")
    if args.remove:
        for old, *_ in convert_list + move_list:
            old.unlink()
        print(f"removed {len(convert_list) + len(move_list)} old files under {old_root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
