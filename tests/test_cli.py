"""``graphcl train``: every argument is checked before any data is loaded (issue 11)."""
import pytest

import graphcl.datasets
import graphcl.cli
from graphcl.cli import main


class _Started(Exception):
    """Raised by the stand-in for a run: the CLI got past its checks."""


@pytest.fixture
def no_work(monkeypatch):
    """Loading data or starting a run fails the test; returns the runs' calls."""
    calls = []

    def forbidden(*args, **kwargs):
        raise AssertionError("data was loaded before the arguments were checked")

    def fake_run(*args, **kwargs):
        calls.append((args, kwargs))
        raise _Started

    monkeypatch.setattr(graphcl.datasets, "load_heco", forbidden)
    monkeypatch.setattr(graphcl.datasets, "load_sdcn", forbidden)
    monkeypatch.setattr(graphcl.cli, "run_seeds", fake_run)
    return calls


def _rejected(argv, capsys, argument: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {argument}" in err, err
    return err


@pytest.mark.parametrize("method, reuses", [("heco", False), ("dgp", True)])
def test_only_methods_that_ask_get_the_malloc_setting(no_work, monkeypatch, tmp_path, method,
                                                      reuses):
    # reuse_freed_memory is process-wide and raises peak memory: `graphcl train`
    # applies it for methods whose spec opts in (DGP measured a gain), not for all.
    applied = []
    monkeypatch.setattr(graphcl.cli, "reuse_freed_memory", lambda: applied.append(True))
    dataset = {"heco": "acm", "dgp": "imagenet"}[method]
    with pytest.raises(_Started):
        main(["train", method, "--dataset", dataset, "--out", str(tmp_path / "r.json")])
    assert applied == ([True] if reuses else [])


@pytest.mark.parametrize("extra, argument", [
    (["--seed", "-1"], "--seed"),
    (["--seed", str(2**32)], "--seed"),
    (["--seed", "zero"], "--seed"),
    (["--seeds", "0"], "--seeds"),
    (["--seeds", "-3"], "--seeds"),
    (["--seeds", str(10**12)], "--seeds"),
    (["--seed", str(2**32 - 1), "--seeds", "2"], "--seeds"),  # the second seed is too large
    (["--max-epochs", "0"], "--max-epochs"),
    (["--max-epochs", "-5"], "--max-epochs"),
    (["--max-epochs", "1.5"], "--max-epochs"),
])
def test_heco_bad_numbers_fail_before_any_work(no_work, capsys, tmp_path, extra, argument):
    _rejected(["train", "heco", "--dataset", "acm", "--out", str(tmp_path / "r.json"), *extra],
              capsys, argument)
    assert no_work == []


def test_heco_bad_output_paths_fail_before_any_work(no_work, capsys, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    regular = tmp_path / "file.txt"
    regular.write_text("x")
    base = ["train", "heco", "--dataset", "acm"]
    err = _rejected(base + ["--out", str(folder)], capsys, "--out")
    assert "folder" in err
    err = _rejected(base + ["--out", str(regular / "sub" / "results.json")], capsys, "--out")
    assert str(regular) in err and "not a folder" in err
    _rejected(base + ["--out", str(tmp_path / "r.json"), "--embeddings", str(folder)], capsys,
              "--embeddings")
    _rejected(base + ["--out", str(tmp_path / "r.json"), "--embeddings", str(tmp_path / "r.json")],
              capsys, "--embeddings")
    _rejected(base + ["--out", str(tmp_path / "r.json"), "--plot", str(folder)], capsys, "--plot")
    assert no_work == []


def test_heco_good_arguments_reach_the_run(no_work, tmp_path):
    out = tmp_path / "new" / "results.json"  # a missing parent folder is fine
    with pytest.raises(_Started):
        main(["train", "heco", "--dataset", "dblp", "--seeds", "3", "--seed", "7",
              "--max-epochs", "2", "--out", str(out)])
    (args, kwargs), = no_work
    assert args[0].name == "heco" and args[1:] == ("dblp", [7, 8, 9])
    assert kwargs["config"].max_epochs == 2 and kwargs["out"] == out
    with pytest.raises(_Started):
        main(["train", "heco", "--dataset", "acm", "--seed", str(2**32 - 1), "--out", str(out)])
    assert no_work[-1][0][1:] == ("acm", [2**32 - 1])


@pytest.mark.parametrize("extra, argument", [
    (["--seed", "-1"], "--seed"),
    (["--seeds", "0"], "--seeds"),
    (["--seeds", "10001"], "--seeds"),
    (["--epochs", "0"], "--epochs"),
    (["--epochs", "-1"], "--epochs"),
    (["--shared-ae", "-1"], "--shared-ae"),
    (["--shared-ae", str(2**32)], "--shared-ae"),
])
def test_scgc_bad_numbers_fail_before_any_work(no_work, capsys, tmp_path, extra, argument):
    _rejected(["train", "scgc", "--dataset", "acm", "--out", str(tmp_path / "r.json"), *extra],
              capsys, argument)
    assert no_work == []


def test_scgc_bad_paths_fail_before_any_work(no_work, capsys, tmp_path):
    base = ["train", "scgc", "--dataset", "hhar"]
    _rejected(base + ["--out", str(tmp_path)], capsys, "--out")
    err = _rejected(base + ["--out", str(tmp_path / "r.json"), "--features",
                            str(tmp_path / "missing.npy")], capsys, "--features")
    assert "missing.npy" in err
    assert no_work == []


def test_scgc_good_arguments_reach_the_run(no_work, tmp_path):
    with pytest.raises(_Started):
        main(["train", "scgc_star", "--dataset", "acm", "--seeds", "2", "--epochs", "3",
              "--shared-ae", "0", "--out", str(tmp_path / "r.json")])
    (args, kwargs), = no_work
    assert args[0].name == "scgc_star" and args[1:] == ("acm", [0, 1])
    assert kwargs["config"].epochs == 3 and kwargs["config"].ae_seed == 0
    assert kwargs["config"].star


# ---------------------------------------------------------------------------
# The library entry points check the same before loading data
# ---------------------------------------------------------------------------

@pytest.fixture
def no_loading(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("data was loaded before the arguments were checked")
    monkeypatch.setattr(graphcl.datasets, "load_heco", forbidden)
    monkeypatch.setattr(graphcl.datasets, "load_sdcn", forbidden)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(seeds=[-1]), ValueError, r"seeds\[0\]"),
    (dict(seeds=[0, 2**32]), ValueError, r"seeds\[1\]"),
    (dict(seeds=[0.5]), TypeError, r"seeds\[0\]"),
    (dict(seeds=[]), ValueError, "seeds is empty"),
    (dict(seeds=[1, 1]), ValueError, "repeats"),
    (dict(seeds=range(10**12)), ValueError, "10000"),
    (dict(seeds=5), TypeError, "seeds"),
])
@pytest.mark.parametrize("method", ["heco", "scgc"])
def test_run_seeds_checks_seeds_first(no_loading, method, kwargs, error, match):
    from graphcl.experiment import run_seeds
    with pytest.raises(error, match=match):
        run_seeds(method, "acm", **kwargs)


@pytest.mark.parametrize("method, overrides, error, match", [
    ("heco", dict(max_epochs=0), ValueError, "max_epochs"),
    ("heco", dict(max_epochs=-1), ValueError, "max_epochs"),
    ("heco", dict(max_epochs=2.0), TypeError, "max_epochs"),
    ("scgc", dict(epochs=0), ValueError, "epochs"),
    ("scgc", dict(ae_seed=-1), ValueError, "ae_seed"),
    ("scgc", dict(ae_seed=True), TypeError, "ae_seed"),
])
def test_configs_check_their_values(method, overrides, error, match):
    from graphcl.experiment import get_method
    config = get_method(method).make_config("acm", None)
    with pytest.raises(error, match=match):
        config.with_overrides(**overrides)
