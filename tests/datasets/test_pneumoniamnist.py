"""load_pneumoniamnist: split sizes, de-duplication, no train/test overlap,
checksums, and loading from the mirror only."""
import numpy as np
import pytest
import torch

from datasets_support import no_network  # noqa: F401 (fixture)
from datasets_support import pneumoniamnist_mirror as mirror  # noqa: F401 (fixture)
from graphcl.datasets import ChecksumError, load_pneumoniamnist
from graphcl.datasets.pneumoniamnist import PRETRAIN_SIZE


@pytest.fixture(scope="module")
def data(mirror, tmp_path_factory):
    root = tmp_path_factory.mktemp("pneumonia-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRAPHCL_MIRROR", str(mirror))
        return load_pneumoniamnist(root)


def test_split_sizes_and_labels(data):
    assert PRETRAIN_SIZE == 4690
    assert data.train_images.shape == (4690, 28, 28) and data.train_images.dtype == torch.uint8
    assert data.val_images.shape == (524, 28, 28) and data.test_images.shape == (624, 28, 28)
    assert data.train_labels.bincount().tolist() == [1213, 3477]
    assert data.val_labels.bincount().tolist() == [135, 389]
    assert data.test_labels.bincount().tolist() == [234, 390]
    images, labels = data.split("test")
    assert images is data.test_images and labels is data.test_labels
    with pytest.raises(ValueError, match="split"):
        data.split("unlabelled")


def test_union_is_distinct_and_never_holds_test_images(data, mirror):
    keys = {(img.numpy().tobytes(), int(y)) for img, y in zip(data.train_images, data.train_labels)}
    assert len(keys) == 4690
    # the union of both files' train sets, recomputed independently with numpy
    union = set()
    for name in ("kaggle_varun19424", "balanced_aksufatih"):
        with np.load(mirror / "pneumoniamnist" / f"pneumoniamnist_{name}.npz") as f:
            union |= {(img.tobytes(), int(y)) for img, y in zip(f["train_images"], f["train_labels"][:, 0])}
    assert keys == union
    train = {img.numpy().tobytes() for img in data.train_images}
    assert not train & {img.numpy().tobytes() for img in data.test_images}
    assert len(train & {img.numpy().tobytes() for img in data.val_images}) == 8   # as upstream


def test_corrupt_file_is_refused(mirror, tmp_path, no_network):
    target = tmp_path / "pneumoniamnist" / "pneumoniamnist_kaggle_varun19424.npz"
    target.parent.mkdir(parents=True)
    target.write_bytes((mirror / "pneumoniamnist" / target.name).read_bytes()[:-10])
    with pytest.raises(ChecksumError, match="pneumoniamnist_kaggle_varun19424.npz"):
        load_pneumoniamnist(tmp_path)
