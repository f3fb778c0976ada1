"""HeCo and SCGC give the same per-seed metrics on the experiment layer as
before the move (tests/fixtures/pre_experiment_layer.json was written by the
old run_heco / run_scgc at commit c6b0b1b, one torch thread)."""
import json
from pathlib import Path

import pytest

from graphcl.experiment import get_method, run_seeds

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "pre_experiment_layer.json").read_text())


def _close(ours, before, tol=1e-6):
    for group, metrics in before.items():
        for metric, value in metrics.items():
            assert ours[group][metric] == pytest.approx(value, abs=tol), (group, metric)


@pytest.mark.slow
def test_heco_fixed_seeds_unchanged(one_thread):
    config = get_method("heco").make_config("acm", None).with_overrides(max_epochs=8)
    results = run_seeds("heco", "acm", [0, 1], config=config, progress=False)
    for record in results["per_seed"]:
        before = FIXTURE["heco_acm"][str(record["seed"])]
        assert record["epochs"] == before["epochs"]
        _close(record["metrics"], before["metrics"])


@pytest.mark.slow
def test_scgc_fixed_seed_unchanged(one_thread):
    config = get_method("scgc").make_config("acm", None).with_overrides(epochs=4)
    results = run_seeds("scgc", "acm", [0], config=config, progress=False)
    record = results["per_seed"][0]
    before = FIXTURE["scgc_acm"]["0"]
    _close(record["metrics"], before["metrics"])
    assert record["history"]["acc"] == pytest.approx(before["acc_by_epoch"], abs=1e-6)
