"""LVM-Med method: config and CLI checks, the encoder's input checks, the saved
encoder round trip, and a fast pretraining run whose loss falls and whose probe
beats the random encoder."""
import argparse

import pytest
import torch

from graphcl.experiment import get_method
from graphcl.methods.lvmmed import (ImageEncoder, LVMMedConfig, SelfSupervisedModel, load_encoder,
                                    pretrain, probe, save_encoder, train_lvmmed)


@pytest.fixture(scope="module")
def data():
    from graphcl.datasets import load_pneumoniamnist
    return load_pneumoniamnist()


def test_config_checks():
    with pytest.raises(ValueError, match="model"):
        LVMMedConfig(model="byol")
    with pytest.raises(ValueError, match="encoder"):
        LVMMedConfig(encoder="vit")
    with pytest.raises(ValueError, match="knn_k must be smaller than nodes_per_graph"):
        LVMMedConfig(knn_k=16)
    with pytest.raises(ValueError, match="batch_size 8 holds no graph"):
        LVMMedConfig(batch_size=8)
    assert LVMMedConfig(model="simclr", batch_size=8).batch_size == 8   # no graphs needed
    config = LVMMedConfig(model="first-order")
    assert LVMMedConfig.from_json(config.to_json()) == config


def test_cli_options_make_the_config():
    method = get_method("lvmmed")
    args = argparse.Namespace(model="vicreg", encoder="resnet18", epochs=2, batch_size=64,
                              max_train_images=None)
    config = method.make_config("pneumoniamnist", args)
    assert (config.model, config.encoder, config.epochs, config.batch_size) == \
        ("vicreg", "resnet18", 2, 64)
    with pytest.raises(ValueError, match="no dataset"):
        method.make_config("cifar10", None)


def test_cli_rejects_bad_arguments(capsys):
    from graphcl.cli import main
    for argv, message in ((["--model", "byol"], "invalid choice"), (["--epochs", "0"], "at least 1"),
                          (["--batch-size", "8"], "holds no graph")):
        with pytest.raises(SystemExit):
            main(["train", "lvmmed", "--dataset", "pneumoniamnist", *argv])
        assert message in capsys.readouterr().err


def test_encoder_input_checks_and_round_trip(tmp_path, data):
    torch.manual_seed(0)
    encoder = ImageEncoder("cnn", (4, 8, 16)).eval()
    images = data.test_images[:5]
    expected = encoder(images)
    assert expected.shape == (5, 16)
    torch.testing.assert_close(encoder(images.unsqueeze(1).float() / 255), expected)
    for bad, error in ((images.float(), ValueError), (images.int(), TypeError),
                       (torch.zeros(2, 1, 32, 32), ValueError)):
        with pytest.raises(error, match="images"):
            encoder(bad)
    path = save_encoder(encoder, tmp_path / "e.pt", LVMMedConfig(cnn_widths=(4, 8, 16)), seed=3)
    loaded = load_encoder(path)
    assert not loaded.training
    torch.testing.assert_close(loaded(images), expected)
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an encoder"):
        load_encoder(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        load_encoder(tmp_path / "missing.pt")


def test_fast_run_probe_beats_random(data):
    torch.set_num_threads(2)
    # 512 images, batches of 256 (16 graphs of 16), 1 epoch: 2 steps. Over a
    # budget this short the matching loss does not fall yet (measured: 28.8 and
    # 29.6 per epoch over 2 epochs; see benchmarks/lvmmed/README.md), so only the
    # probe is compared; the loss falling is tested on free embeddings in
    # tests/nn/matching/test_graph_matching_loss.py.
    config = LVMMedConfig(epochs=1, max_train_images=512)
    run = train_lvmmed(data, config, seed=0)
    random = train_lvmmed(data, config.with_overrides(model="random"), seed=0)
    assert len(run.loss_history) == 1 and 0 < run.loss_history[0] <= 32
    # measured (seed 0, 2 threads): test AUC 95.06 vs the random encoder's 94.28
    assert run.metrics["test"]["auc"] > random.metrics["test"]["auc"], (run.metrics, random.metrics)
    assert set(run.metrics) == {"val", "test"} and set(run.metrics["val"]) == {"acc", "auc"}


def test_pretrain_needs_a_batch(data):
    config = LVMMedConfig(epochs=1, max_train_images=100)
    with pytest.raises(ValueError, match="fewer than one batch"):
        pretrain(SelfSupervisedModel(config), data.train_images[:100], config, seed=0)
