"""graphcl.nn._residual.BasicResidualBlock against its formula."""
import pytest
import torch

from graphcl.nn._residual import BasicResidualBlock


@pytest.mark.parametrize("c_in,c_out,stride", [(4, 4, 1), (4, 8, 1), (4, 8, 2)])
def test_block_equals_formula(c_in, c_out, stride):
    torch.manual_seed(0)
    block = BasicResidualBlock(c_in, c_out, stride).eval()
    x = torch.randn(2, c_in, 9, 9)
    inner = block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(x)))))
    projected = c_in != c_out or stride != 1
    assert (len(block.shortcut) > 0) == projected
    skip = block.shortcut[1](block.shortcut[0](x)) if projected else x
    out = block(x)
    assert out.shape == (2, c_out, -(-9 // stride), -(-9 // stride))
    torch.testing.assert_close(out, torch.relu(inner + skip))
