"""RandomViews: seeded, in range, and each transformation against its definition."""
import pytest
import torch

from graphcl.nn.vision import RandomViews, as_float_images


def images(n=6):
    return torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(0))


def off(**kwargs):
    """Every random step disabled unless given."""
    params = dict(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip_p=0.0, jitter_p=0.0,
                  blur_p=0.0)
    params.update(kwargs)
    return RandomViews(**params)


def test_seeded_views_are_reproducible_and_in_range():
    x = images()
    a = RandomViews()(x, torch.Generator().manual_seed(3))
    b = RandomViews()(x, torch.Generator().manual_seed(3))
    c = RandomViews()(x, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (6, 1, 28, 28) and float(a.min()) >= 0 and float(a.max()) <= 1


def test_identity_flip_jitter_blur():
    x = as_float_images(images())
    torch.testing.assert_close(off()(x), x, atol=1e-5, rtol=0)
    torch.testing.assert_close(off(flip_p=1.0)(x), x.flip(-1), atol=1e-5, rtol=0)
    jittered = off(jitter_p=1.0, brightness=0.0, contrast=0.0)(x)   # factors exactly 1
    torch.testing.assert_close(jittered, x, atol=1e-5, rtol=0)
    flat = torch.full((2, 1, 28, 28), 0.3)
    torch.testing.assert_close(off(blur_p=1.0)(flat), flat)          # a blur keeps constants
    blurred = off(blur_p=1.0, blur_sigma=(1.0, 1.0))(x)
    assert float(blurred.std()) < float(x.std())                    # and smooths noise


def test_crop_keeps_the_zoomed_centre():
    x = torch.zeros(1, 1, 28, 28)
    x[..., 10:18, 10:18] = 1.0   # a centred square
    crops = RandomViews(crop_scale=(0.5, 0.5), crop_ratio=(1.0, 1.0), flip_p=0.0, jitter_p=0.0,
                        blur_p=0.0)(x.expand(20, 1, 28, 28), torch.Generator().manual_seed(0))
    # a crop of half the area magnifies by sqrt(2): the square covers more pixels
    assert float(crops.sum((1, 2, 3)).mean()) > float(x.sum()) * 1.2


def test_bad_input_and_arguments():
    with pytest.raises(TypeError, match="images"):
        RandomViews()(torch.zeros(2, 28, 28, dtype=torch.int32))
    with pytest.raises(ValueError, match="images"):
        RandomViews()(torch.zeros(2, 28, 28))
    with pytest.raises(ValueError, match="crop_scale"):
        RandomViews(crop_scale=(0.0, 1.0))
    with pytest.raises(ValueError, match="blur_kernel"):
        RandomViews(blur_kernel=4)
    with pytest.raises(ValueError, match="flip_p"):
        RandomViews(flip_p=1.5)
