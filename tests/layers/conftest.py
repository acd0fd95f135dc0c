"""Gives the layer tests the shared harness (tests/layers/harness.py) as a fixture."""

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("tfcourse_tests_layer_harness", Path(__file__).with_name("harness.py"))
_harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_harness)


@pytest.fixture
def harness():
    """The shared layer checks (shapes, config, saving, training step, gradients, MirroredStrategy)."""
    return _harness
