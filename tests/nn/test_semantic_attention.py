"""SemanticAttention against its formula, and its bad input."""
import math

import pytest
import torch

from graphcl.nn import SemanticAttention


def test_semantic_attention_matches_formula():
    torch.manual_seed(3)
    module = SemanticAttention(6, hidden_channels=5).eval()
    zs = [torch.randn(11, 6) for _ in range(3)]
    out, beta = module(zs, return_attention=True)
    w = torch.stack([(module.att[0] * torch.tanh(module.lin(z)).mean(0)).sum() for z in zs])
    expected_beta = torch.softmax(w, 0)
    torch.testing.assert_close(beta, expected_beta)
    torch.testing.assert_close(out, sum(b * z for b, z in zip(expected_beta, zs)))
    with pytest.raises(ValueError, match="embeddings must be P tensors"):
        module([torch.randn(11, 4)])


def test_semantic_attention_empty_and_mismatched_views():
    module = SemanticAttention(4)
    with pytest.raises(ValueError, match="embeddings is empty"):  # was "stack expects ..."
        module([])
    with pytest.raises(ValueError, match=r"at least one embedding of at least one node.*"
                                         r"\(0, 5, 4\)"):
        module(torch.randn(0, 5, 4))  # used to return zeros
    with pytest.raises(ValueError, match=r"at least one embedding of at least one node.*"
                                         r"\(2, 0, 4\)"):
        module([torch.randn(0, 4), torch.randn(0, 4)], return_attention=True)  # NaN beta
    with pytest.raises(ValueError, match=r"embeddings\[1\] has shape \[6, 4\] on cpu but "
                                         r"embeddings\[0\] has shape \[5, 4\]"):
        module([torch.randn(5, 4), torch.randn(6, 4)])
    with pytest.raises(TypeError, match=r"embeddings\[1\] has dtype torch.float64"):
        module([torch.randn(5, 4), torch.randn(5, 4).double()])
    with pytest.raises(TypeError, match="embeddings have dtype torch.float64 but the module's "
                                        "parameters are torch.float32"):
        module([torch.randn(5, 4).double()])
    with pytest.raises(TypeError, match="embeddings have dtype torch.int64"):
        module([torch.ones(5, 4, dtype=torch.long)])
    with pytest.raises(TypeError, match=r"embeddings\[0\] must be a torch.Tensor, got int"):
        module([1, 2])
    with pytest.raises(TypeError, match="embeddings must be a sequence of tensors"):
        module(None)
    with pytest.raises(ValueError, match="embeddings contain NaN or Inf"):
        module([torch.randn(5, 4), torch.full((5, 4), math.nan)])
    with pytest.raises(ValueError, match="embeddings are on meta but the module's parameters"):
        module([torch.randn(5, 4, device="meta")])


def test_semantic_attention_accepts_any_iterable_and_checks_sizes():
    torch.manual_seed(0)
    module = SemanticAttention(4).eval()
    views = [torch.randn(5, 4) for _ in range(3)]
    torch.testing.assert_close(module(v for v in views), module(views))
    torch.testing.assert_close(module(torch.stack(views)), module(views))
    with pytest.raises(ValueError, match="hidden_channels must be >= 1, got 0"):
        SemanticAttention(4, hidden_channels=0)  # was silently replaced by channels
    with pytest.raises(ValueError, match="channels must be >= 1, got 0"):
        SemanticAttention(0)  # was a ZeroDivisionError
    with pytest.raises(ValueError, match="hidden_channels must be >= 1, got -3"):
        SemanticAttention(4, hidden_channels=-3)
    with pytest.raises(TypeError, match="attn_dropout must be a number"):
        SemanticAttention(4, attn_dropout=None)
