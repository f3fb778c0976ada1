"""SmallCNN, ResNet18Small and Projector: shapes, a dense reference for the
CNN's first stage, reset_parameters and input checks."""
import pytest
import torch
import torch.nn.functional as F

from graphcl.nn.vision import Projector, ResNet18Small, SmallCNN


def test_small_cnn_shapes_and_first_stage():
    torch.manual_seed(0)
    cnn = SmallCNN(1, (4, 8, 16)).eval()
    x = torch.rand(3, 1, 28, 28)
    assert cnn(x).shape == (3, 16)
    conv, bn = cnn.features[0], cnn.features[1]
    expected = F.max_pool2d(torch.relu(F.batch_norm(
        F.conv2d(x, conv.weight, padding=1), bn.running_mean, bn.running_var, bn.weight, bn.bias)), 2)
    torch.testing.assert_close(cnn.features[:4](x), expected)
    # the pooled output is the mean of the last stage's map
    torch.testing.assert_close(cnn(x), cnn.features(x).mean((2, 3)))


def test_resnet18_small_shapes_parameters_and_gradients():
    net = ResNet18Small(1, width=8)
    x = torch.rand(2, 1, 28, 28, requires_grad=True)
    out = net(x)
    assert out.shape == (2, 64) and net.out_channels == 64
    out.sum().backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all())
    full = ResNet18Small()
    assert 11.0e6 < sum(p.numel() for p in full.parameters()) < 11.3e6   # ResNet-18 size


def test_projector_and_reset():
    torch.manual_seed(0)
    head = Projector(16, 32, 8)
    x = torch.randn(5, 16)
    assert head(x).shape == (5, 8)
    before = [p.detach().clone() for p in head.parameters()]
    with torch.no_grad():
        for p in head.parameters():
            p.add_(1.0)
    head.reset_parameters()
    assert any(not torch.equal(a, b) for a, b in zip(before, head.parameters()))
    assert all(float((b - a).abs().max()) < 1.0 for a, b in zip(before, head.parameters()))


def test_encoder_input_checks():
    with pytest.raises(ValueError, match="x must be"):
        SmallCNN()(torch.rand(2, 3, 28, 28))
    with pytest.raises(ValueError, match="x must be"):
        ResNet18Small()(torch.rand(2, 28, 28))
    with pytest.raises(ValueError, match="widths"):
        SmallCNN(1, (8, 16))
