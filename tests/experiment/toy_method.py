"""A toy method registered for the experiment-layer tests: fast, seeded, and
able to fail or be interrupted at a chosen seed."""
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from graphcl.experiment import ExperimentConfig, Method, register_method
from graphcl.experiment import registry


@dataclass(frozen=True)
class ToyConfig(ExperimentConfig):
    dataset: str = "toy"
    scale: float = 1.0
    dims: tuple = (2, 3)
    interrupt_at: int = -1


def toy_run_seed(data, config, seed, progress):
    if seed == config.interrupt_at:
        raise KeyboardInterrupt
    value = float(torch.rand(1).item()) * config.scale  # seeded by the runner
    return {"metrics": {"test": {"acc": value, "rand_np": float(np.random.rand())},
                        "val": {"acc": data["offset"] + value}},
            "timings": {"train_seconds": 0.5},
            "history": {"loss": [3.0, 2.0, 1.0 + value]},
            "artifacts": {"embeddings": torch.full((2, 2), float(seed))}}


LOADS = []


def toy_load(config, options):
    LOADS.append(dict(options))
    return {"offset": 1.0}


TOY = Method(name="toy", title="Toy", paper="nobody, 2026", url="https://example.org",
             datasets=("toy",), protocol="toy protocol",
             make_config=lambda dataset, args: ToyConfig(dataset),
             config_type=ToyConfig, load_data=toy_load, run_seed=toy_run_seed,
             paper_results={"toy": {"test": {"acc": (50.0, 1.0)}}})


@pytest.fixture
def toy_method():
    """The toy method, registered for one test (test modules import this fixture)."""
    register_method(TOY)
    LOADS.clear()
    yield TOY
    registry._REGISTRY.pop("toy", None)
