import pytest

from graphcl.experiment import registry
from graphcl.experiment import register_method
from toy_method import LOADS, TOY


@pytest.fixture
def toy_method():
    register_method(TOY)
    LOADS.clear()
    yield TOY
    registry._REGISTRY.pop("toy", None)
