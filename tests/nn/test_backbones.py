"""MLPBackbone and ResNet08: shapes (576 features from 3 x 112 x 112),
the MLP equal to its layers written out, reset_parameters, bad input."""
import pytest
import torch

from graphcl.nn import MLPBackbone, ResNet08


def test_mlp_is_linear_relu_linear():
    torch.manual_seed(0)
    mlp = MLPBackbone(50, (32,), 16)
    x = torch.randn(7, 50)
    first, last = mlp.net[0], mlp.net[2]
    torch.testing.assert_close(mlp(x), last(first(x).relu()))
    before = first.weight.clone()
    mlp.reset_parameters()
    assert not torch.equal(before, first.weight)
    assert MLPBackbone(8, (), 4)(torch.randn(2, 8)).shape == (2, 4)


def test_mlp_bad_input():
    with pytest.raises(ValueError, match=r"\[B, 50\]"):
        MLPBackbone(50)(torch.randn(3, 49))
    with pytest.raises(TypeError, match="hidden_channels"):
        MLPBackbone(50, (0.5,))
    with pytest.raises(ValueError, match="dropout"):
        MLPBackbone(50, dropout=1.0)


def test_resnet08_forward_on_112_images():
    torch.manual_seed(0)
    net = ResNet08()
    out = net(torch.randn(2, 3, 112, 112))
    assert out.shape == (2, 576)
    assert torch.isfinite(out).all()
    out.sum().backward()
    assert net.stem[0].weight.grad is not None
    assert len(net.stages) == 3 and net.stages[2].conv1.stride == (2, 2)


def test_resnet08_bad_input():
    with pytest.raises(ValueError, match=r"\[B, 3, H, W\]"):
        ResNet08()(torch.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match="widths"):
        ResNet08(widths=(16, 32))
