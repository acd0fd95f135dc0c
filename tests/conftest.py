"""Shared test setup: quiet TensorFlow, two logical CPU devices, seeded runs.

The logical devices must be configured before TensorFlow touches the CPU, so this
runs at import time, before any test module builds a tensor. MirroredStrategy tests
then run in-process over "/cpu:0" and "/cpu:1".
"""

import functools
import importlib.util
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# `make test` runs a pytest worker per core and one more (pytest-xdist). TF's thread pools spin while they
# wait, so a worker (and the lesson or child processes it starts, which inherit this
# environment) gets its share of the cores, not all of them: measured on 2 cores, a lesson's
# --quick run alone took 44 s with TF's default pools and 35 s with one thread each.
_cores_per_worker = str(max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))
for _name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_name, _cores_per_worker)

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


@pytest.fixture(scope="session")
def load_script():
    """`load(path)`: a script that is not in a package (a benchmark), imported as a module of its own."""

    def load(path):
        spec = importlib.util.spec_from_file_location(Path(path).stem, path)
        module = importlib.util.module_from_spec(spec)
        folder = str(Path(path).resolve().parent)
        sys.path.insert(0, folder)  # as when it runs as a script: its neighbours (`_common`) import
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(folder)
        return module

    return load


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


# A test file that starts processes of its own (a lesson's --quick run, a training killed and
# resumed, two workers, a notebook kernel) takes 20-100 s; most files take a second or two.
# `make test` hands whole files to its workers in collection order (--dist loadfile
# --no-loadscope-reorder), so the long files go first and the short ones fill in at the end,
# instead of one worker finishing a long file alone while the other has nothing left.
_STARTS_PROCESSES = ("subprocess", "run_lesson(", "notebook_runner")


@functools.lru_cache(maxsize=None)
def _starts_processes(path):
    source = path.read_text() if path.suffix == ".py" else ""
    return any(marker in source for marker in _STARTS_PROCESSES)


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: not _starts_processes(item.path))  # stable: file order kept otherwise
