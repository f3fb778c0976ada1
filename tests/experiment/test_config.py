import json
from dataclasses import dataclass
from typing import Optional, Tuple

import pytest

from graphcl.experiment import ExperimentConfig


@dataclass(frozen=True)
class Config(ExperimentConfig):
    name: str
    hidden: Tuple[int, int] = (4, 8)
    maybe: Optional[Tuple[int, ...]] = None
    rates: list = None
    lr: float = 0.1


def test_json_round_trip_restores_tuples():
    config = Config("a", maybe=(1, 2), rates=[1, 2])
    text = json.dumps(config.to_json())
    back = Config.from_json(json.loads(text))
    assert back == config
    assert isinstance(back.hidden, tuple) and isinstance(back.maybe, tuple)
    assert isinstance(back.rates, list)


def test_with_overrides_replaces_and_rejects_unknown_names():
    config = Config("a")
    assert config.with_overrides(lr=0.5).lr == 0.5
    assert config.lr == 0.1
    with pytest.raises(ValueError, match="unknown Config options.*'typo'"):
        config.with_overrides(typo=1)


def test_from_json_rejects_unknown_keys_and_non_dicts():
    with pytest.raises(ValueError, match="unknown Config options in JSON"):
        Config.from_json({"name": "a", "extra": 1})
    with pytest.raises(TypeError, match="needs a dict"):
        Config.from_json(["a"])


def test_method_configs_round_trip():
    from graphcl.methods.heco import PAPER_CONFIGS
    from graphcl.methods.scgc import PAPER_CONFIGS as SCGC_CONFIGS
    for config in list(PAPER_CONFIGS.values()) + list(SCGC_CONFIGS.values()):
        assert type(config).from_json(json.loads(json.dumps(config.to_json()))) == config
