"""Shared test setup: quiet TensorFlow, two logical CPU devices, seeded runs.

The logical devices must be configured before TensorFlow touches the CPU, so this
runs at import time, before any test module builds a tensor. MirroredStrategy tests
then run in-process over "/cpu:0" and "/cpu:1".
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)

# On a GPU host (Ampere or newer) TF would run float32 matmuls and convolutions in TensorFloat-32
# (10-bit mantissa), far outside the tolerances of the parity tests; keep float32 exact on any host.
tf.config.experimental.enable_tensor_float_32_execution(False)

import keras  # noqa: E402

TWO_CPUS = ["/cpu:0", "/cpu:1"]


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(1337)
    yield


@pytest.fixture(scope="session")
def two_cpu_strategy():
    """One MirroredStrategy over the two logical CPU devices, shared by the whole session.

    Session-scoped, and reducing through one device rather than collectives, because a
    second collective-based strategy in the same process crashes TF ("Shape mismatch in
    the collective instance"); `tfcourse.training.get_strategy` does the same.
    """
    return tf.distribute.MirroredStrategy(TWO_CPUS, cross_device_ops=tf.distribute.ReductionToOneDevice())
