"""TypeProjection (graphcl.nn.hetero) against its formula."""
import pytest
import torch
from torch.nn import functional as F

from graphcl.nn import TypeProjection


def test_matches_formula_and_reads_one_hot_columns():
    torch.manual_seed(0)
    proj = TypeProjection([5, None], [7, 4], hidden=3).double()
    x = torch.randn(7, 5, dtype=torch.float64)
    h_feat, h_onehot = proj([x, None])
    lin0, lin1 = proj.lins
    torch.testing.assert_close(h_feat, F.elu(x @ lin0.weight.t() + lin0.bias))
    # a one-hot type is W times the identity
    torch.testing.assert_close(h_onehot, F.elu(torch.eye(4, dtype=torch.float64)
                                               @ lin1.weight.t() + lin1.bias))
    assert h_feat.shape == (7, 3) and h_onehot.shape == (4, 3)


def test_dropout_only_in_training():
    torch.manual_seed(0)
    proj = TypeProjection([6], [50], hidden=8, feat_drop=0.5)
    x = torch.randn(50, 6)
    proj.eval()
    torch.testing.assert_close(proj([x])[0], proj([x])[0])
    proj.train()
    assert not torch.equal(proj([x])[0], proj([x])[0])


def test_reset_parameters_reinitialises_with_xavier():
    torch.manual_seed(0)
    proj = TypeProjection([30, None], [20, 40], hidden=64)
    before = [lin.weight.detach().clone() for lin in proj.lins]
    proj.reset_parameters()
    for lin, old in zip(proj.lins, before):
        assert not torch.equal(lin.weight, old)
        fan_in, fan_out = lin.in_features, lin.out_features
        expected_std = 1.414 * (2.0 / (fan_in + fan_out)) ** 0.5
        assert abs(float(lin.weight.std()) - expected_std) < 0.15 * expected_std


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="one entry per node type"):
        TypeProjection([5, None], [7], hidden=3)
    with pytest.raises(ValueError, match="hidden must be >= 1"):
        TypeProjection([5], [7], hidden=0)
    with pytest.raises(ValueError, match=r"feat_drop must be a probability in \[0, 1\)"):
        TypeProjection([5], [7], hidden=3, feat_drop=1.0)
    proj = TypeProjection([5, None], [7, 4], hidden=3)
    with pytest.raises(ValueError, match="features needs one entry per node type"):
        proj([torch.randn(7, 5)])
    with pytest.raises(ValueError, match=r"features\[0\] must be a \[num_nodes, 5\] tensor"):
        proj([torch.randn(7, 4), None])
    with pytest.raises(ValueError, match=r"features\[1\] must be None"):
        proj([torch.randn(7, 5), torch.randn(4, 4)])
