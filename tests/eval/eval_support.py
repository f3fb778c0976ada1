"""Helpers shared by the eval tests.

A plain module rather than a ``conftest.py`` (see tests/datasets/datasets_support.py):
the test modules import the fixtures they use by name.
"""
import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Run the importing module's tests on one torch thread, then restore the count."""
    # The loop reference runs thousands of tiny ops; with 2 OpenMP threads on a
    # busy 2-core machine they spin and the module took ~35 s instead of ~7 s.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
