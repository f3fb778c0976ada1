import json
import os

import pytest
import torch

from graphcl.experiment import (merge_results, read_results, run_seeds, seed_everything,
                                write_json_atomic)
from graphcl.experiment.results import SCHEMA_VERSION

from toy_method import LOADS, ToyConfig, toy_method  # noqa: F401 (fixture)


def test_run_seeds_writes_the_shared_schema(toy_method, tmp_path):
    out = tmp_path / "r.json"
    results = run_seeds("toy", "toy", [3, 1], out=out, progress=False)
    on_disk = read_results(out)
    assert on_disk["seeds"] == [3, 1] == results["seeds"]
    assert on_disk["schema"] == SCHEMA_VERSION and on_disk["method"] == "toy"
    assert on_disk["protocol"] == "toy protocol"
    assert on_disk["config"] == ToyConfig().to_json()
    for key in ("timings", "peak_memory_gb", "graphcl_version", "git_commit", "torch_version"):
        assert key in on_disk
    values = [s["metrics"]["test"]["acc"] for s in on_disk["per_seed"]]
    assert on_disk["metrics"]["test"]["acc"]["mean"] == pytest.approx(sum(values) / 2)
    assert on_disk["metrics"]["val"]["acc"]["mean"] == pytest.approx(1 + sum(values) / 2)
    assert "artifacts" not in on_disk["per_seed"][0]
    assert on_disk["per_seed"][0]["timings"]["train_seconds"] == 0.5


def test_same_seed_gives_the_same_metrics(toy_method):
    a = run_seeds("toy", "toy", [5], progress=False)
    torch.rand(10)  # global RNG state must not leak into a seed's run
    b = run_seeds("toy", "toy", [5], progress=False)
    assert a["per_seed"][0]["metrics"] == b["per_seed"][0]["metrics"]
    seed_everything(5)
    assert a["per_seed"][0]["metrics"]["test"]["acc"] == pytest.approx(float(torch.rand(1)))


def test_resume_runs_only_missing_seeds_and_checks_the_config(toy_method, tmp_path):
    out = tmp_path / "r.json"
    run_seeds("toy", "toy", [0, 1], out=out, progress=False)
    assert len(LOADS) == 1
    run_seeds("toy", "toy", [0, 1], out=out, resume=True, progress=False)
    assert len(LOADS) == 1  # nothing missing: no data load
    results = run_seeds("toy", "toy", [0, 1, 2], out=out, resume=True, progress=False)
    assert results["seeds"] == [0, 1, 2] and len(LOADS) == 2
    with pytest.raises(ValueError, match="cannot resume: different config"):
        run_seeds("toy", "toy", [0, 4], config=ToyConfig(scale=2.0), out=out, resume=True,
                  progress=False)


def test_interrupt_keeps_the_last_complete_results_file(toy_method, tmp_path):
    out = tmp_path / "r.json"
    config = ToyConfig(interrupt_at=2)
    with pytest.raises(KeyboardInterrupt):
        run_seeds("toy", "toy", [0, 1, 2, 3], config=config, out=out, progress=False)
    kept = read_results(out)
    assert kept["seeds"] == [0, 1]
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left


def test_write_json_atomic_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    write_json_atomic({"old": 1}, path)

    def full_disk(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_json_atomic({"new": 2}, path)
    assert json.loads(path.read_text()) == {"old": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_merge_combines_disjoint_seeds_and_rejects_overlaps(toy_method):
    a = run_seeds("toy", "toy", [0, 1], progress=False)
    b = run_seeds("toy", "toy", [2], progress=False)
    merged = merge_results([b, a])
    assert merged["seeds"] == [0, 1, 2]
    whole = run_seeds("toy", "toy", [0, 1, 2], progress=False)
    assert merged["metrics"] == whole["metrics"]
    with pytest.raises(ValueError, match="share seeds"):
        merge_results([a, a])
    other = run_seeds("toy", "toy", [5], config=ToyConfig(scale=3.0), progress=False)
    with pytest.raises(ValueError, match="different config"):
        merge_results([a, other])


def test_artifacts_reach_the_callback(toy_method):
    seen = {}
    run_seeds("toy", "toy", [4, 7], progress=False,
              on_artifacts=lambda seed, art: seen.update({seed: art["embeddings"][0, 0].item()}))
    assert seen == {4: 4.0, 7: 7.0}


@pytest.mark.parametrize("seeds, error", [([], ValueError), ([-1], ValueError),
                                          ([2**32], ValueError), ([1, 1], ValueError),
                                          ([1.5], TypeError), ("12", TypeError)])
def test_bad_seeds_fail_before_loading_data(toy_method, seeds, error):
    with pytest.raises(error, match="seed"):
        run_seeds("toy", "toy", seeds, progress=False)
    assert LOADS == []


def test_unknown_method_and_dataset(toy_method):
    with pytest.raises(KeyError, match="no method 'nope'.*toy"):
        run_seeds("nope", "toy", [0])
    with pytest.raises(ValueError, match="no dataset 'cora'"):
        run_seeds("toy", "cora", [0])


def test_read_results_names_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        read_results(bad)
    bad.write_text(json.dumps({"method": "x"}))
    with pytest.raises(ValueError, match="bad.json lacks"):
        read_results(bad)
    with pytest.raises(FileNotFoundError, match="missing.json"):
        read_results(tmp_path / "missing.json")
