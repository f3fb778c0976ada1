"""Shared by the evidence tests: the real task and cheap inputs, built once per
pytest process (graphs with a small PMI window and small sizes, so the whole
method's tests fit the time budget)."""
import functools
import os

import pytest

from graphcl.datasets.evidence.specs import PROMPTS_FILE

FAST = dict(feature_dim=32, window=5, pmi_top_k=8, hidden=16, max_epochs=20, eval_every=5,
            patience=2)


def mirror_has_evidence() -> bool:
    mirror = os.environ.get("GRAPHCL_MIRROR", "")
    return bool(mirror) and os.path.isfile(os.path.join(mirror, PROMPTS_FILE))


needs_evidence = pytest.mark.skipif(not mirror_has_evidence(),
                                    reason="no Evidence Inference files in the mirror")


@functools.lru_cache(maxsize=None)
def real_task(split_seed: int = 0):
    """``load_evidence`` once (split seed 0); other split seeds re-split the
    same verified, parsed files."""
    import tempfile

    from graphcl.datasets.evidence import build_task, load_evidence
    if split_seed != 0:
        real_task(0)  # fills the data root
        return build_task(_parsed()[0], _parsed()[1], split_seed=split_seed)
    root = tempfile.mkdtemp(prefix="graphcl_evidence_test_")
    os.environ["GRAPHCL_EVIDENCE_TEST_ROOT"] = root
    return load_evidence(root=root, split_seed=0)


@functools.lru_cache(maxsize=None)
def _parsed():
    from graphcl.datasets.evidence import parse_abstracts, parse_prompts
    from graphcl.datasets.evidence.loader import _text_of
    from graphcl.datasets.evidence.specs import ABSTRACTS_FILE
    root = os.environ["GRAPHCL_EVIDENCE_TEST_ROOT"]
    return (parse_prompts(_text_of(PROMPTS_FILE, root)),
            parse_abstracts(_text_of(ABSTRACTS_FILE, root)))


def fast_config(**overrides):
    from graphcl.methods.evidence import EvidenceConfig
    return EvidenceConfig(**{**FAST, **overrides})


@functools.lru_cache(maxsize=None)
def fast_inputs():
    """The inputs of :func:`fast_config`, through the method's own cache (so the
    CLI and the recommender API given ``root=evidence_root()`` reuse them)."""
    from graphcl.methods.evidence.train import cached_inputs
    real_task()
    inputs = cached_inputs(fast_config(), evidence_root())
    assert inputs.task.num_articles == real_task().num_articles
    return inputs


def evidence_root() -> str:
    real_task()
    return os.environ["GRAPHCL_EVIDENCE_TEST_ROOT"]
