"""``graphcl train gpn``: the options reach the config, bad options fail
before any data is loaded, and a run writes the shared results schema with the
four metric groups (run_seed on a tiny synthetic benchmark)."""
import argparse

import numpy as np
import pytest

from gpn_support import synthetic_hierarchy
from graphcl.cli import build_parser, main
from graphcl.experiment import get_method
from graphcl.experiment.results import build_results


def test_options_reach_the_config():
    method = get_method("gpn")
    args = build_parser().parse_args(["train", "gpn", "--model", "protonet", "--shots", "5",
                                      "--episodes", "100", "--split-seed", "7",
                                      "--test-queries", "15"])
    assert args.dataset == "wordnet"  # the only dataset is the default
    config = method.make_config(args.dataset, args)
    assert (config.model, config.shots, config.episodes, config.split_seed) == \
        ("protonet", 5, 100, 7)
    assert config.eval_queries == 15 and config.train_queries == 5
    assert config.support_gradient  # ProtoNet's usual gradient through the support
    assert not method.make_config("wordnet", argparse.Namespace(model="gpn")).support_gradient


@pytest.mark.parametrize("argv,message", [
    (["--shots", "0"], "--shots"), (["--model", "maml"], "--model"),
    (["--backbone", "resnet08"], "--backbone"), (["--episodes", "-3"], "--episodes")])
def test_bad_options_fail_early(argv, message, capsys):
    with pytest.raises(SystemExit):
        main(["train", "gpn", *argv, "--out", "/tmp/never-written.json"])
    assert message in capsys.readouterr().err


def test_run_seed_writes_the_four_groups(monkeypatch):
    from graphcl.datasets.gpn import FewShotBenchmark
    from graphcl.methods.gpn import HierarchicalFewShot
    parents, instances = synthetic_hierarchy(groups=3, leaves=6)
    base = HierarchicalFewShot(parents, instances).benchmark
    names = base.hierarchy.names
    train = [i for i, n in enumerate(names) if n.endswith(("l0", "l1", "l2", "l3"))]
    close = [i for i, n in enumerate(names) if n.endswith(("l4", "l5"))]
    bench = FewShotBenchmark(base.hierarchy, base.distances, base.features, base.instance_class,
                             base.class_instances, {"train": train, "close": close,
                                                    "far": close}, base.root)
    method = get_method("gpn")
    config = method.make_config("wordnet", argparse.Namespace(
        episodes=40, test_episodes=6)).with_overrides(in_channels=16, iterations_per_epoch=20)
    from graphcl.methods.gpn.train import prepare
    record = method.run_seed(prepare(bench, config), config, 0, False)
    assert set(record["metrics"]) == {"close/local", "close/global", "far/local", "far/global"}
    assert all(0 <= m["acc"] <= 1 for m in record["metrics"].values())
    assert set(record["ci95"]) == set(record["metrics"])
    results = build_results("gpn", "wordnet", method.protocol_text(config), config.to_json(),
                            [{"seed": 0, **record}])
    assert results["metrics"]["close/global"]["acc"]["std"] == 0.0
    assert "close/global" in method.table(results)
    assert np.isfinite(results["timings"]["train_seconds"])
