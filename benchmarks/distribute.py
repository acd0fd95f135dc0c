"""tf.distribute on CPU: examples/second of the flagship CNN, 1 vs 2 logical devices, custom loop vs fit.

Trains the flagship CNN (lesson L00/L11 shape) on real MNIST with `tfcourse.training.train`
and times each epoch after a warm-up epoch (tracing). Configurations:

    fit,    default strategy (1 device)           steps_per_execution 1 and 32
    fit,    MirroredStrategy over 2 logical CPUs  steps_per_execution 1
    custom, default strategy / 2 logical CPUs     (one step per tf.function call)

Two logical CPU devices share the same cores, so MirroredStrategy is expected to be slower
here: it is a correctness tool on CPU, not a speed-up.

    python benchmarks/distribute.py [--quick]

Writes benchmarks/results/distribute.json (raw epoch times, examples/s, ratios).
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402

tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()],
)

import keras  # noqa: E402
from _common import write_results  # noqa: E402

from tfcourse.data import load_splits  # noqa: E402
from tfcourse.models import mnist_cnn  # noqa: E402
from tfcourse.training import get_strategy, train  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="fewer examples and epochs (smoke run)")
args = parser.parse_args()
EXAMPLES = 256 if args.quick else 12_800  # --quick: a smoke run of every configuration
TIMED_EPOCHS = 1 if args.quick else 3
GLOBAL_BATCH = 128


def flagship_cnn():
    return mnist_cnn()


def measure(strategy, loop, steps_per_execution=1):
    """Seconds per epoch for the timed epochs (epoch 0 is warm-up)."""
    splits = load_splits("mnist", batch_size=GLOBAL_BATCH, train_limit=EXAMPLES, validation_size=0)
    stamps = []
    start = time.perf_counter()
    train(
        flagship_cnn,
        splits.train,
        epochs=1 + TIMED_EPOCHS,
        global_batch_size=GLOBAL_BATCH,
        strategy=strategy,
        loop=loop,
        steps_per_execution=steps_per_execution,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        seed=0,
        on_epoch_end=lambda epoch, logs: stamps.append(time.perf_counter()),
    )
    edges = [start, *stamps]
    return [b - a for a, b in zip(edges[1:-1], edges[2:])]


two_cpus = get_strategy("mirrored", devices=["/cpu:0", "/cpu:1"])
configs = {
    "fit_1_device": ("default", "fit", 1),
    "fit_1_device_spe32": ("default", "fit", 32),
    "fit_2_logical_devices": (two_cpus, "fit", 1),
    "custom_1_device": ("default", "custom", 1),
    "custom_2_logical_devices": (two_cpus, "custom", 1),
}
epoch_seconds, rates = {}, {}
for name, (strategy, loop, spe) in configs.items():
    epoch_seconds[name] = measure(strategy, loop, spe)
    rates[name] = EXAMPLES / statistics.median(epoch_seconds[name])
    print(f"{name:<26} {rates[name]:10,.0f} examples/s  (epochs: {epoch_seconds[name]})", flush=True)

ratios = {
    "two_devices_over_one_fit": rates["fit_2_logical_devices"] / rates["fit_1_device"],
    "two_devices_over_one_custom": rates["custom_2_logical_devices"] / rates["custom_1_device"],
    "custom_over_fit_1_device": rates["custom_1_device"] / rates["fit_1_device"],
    "custom_over_fit_2_devices": rates["custom_2_logical_devices"] / rates["fit_2_logical_devices"],
    "spe32_over_spe1_fit": rates["fit_1_device_spe32"] / rates["fit_1_device"],
}
for name, value in ratios.items():
    print(f"{name:<30} {value:.2f}x")

labels = {
    "fit_1_device": "fit, 1 device",
    "fit_1_device_spe32": "fit, 1 device, steps_per_execution=32",
    "fit_2_logical_devices": "fit, MirroredStrategy on 2 logical CPUs",
    "custom_1_device": "custom loop, 1 device",
    "custom_2_logical_devices": "custom loop, MirroredStrategy on 2 logical CPUs",
}
write_results(
    "distribute",
    {
        "quick": args.quick,
        "model": "flagship CNN (conv32-pool-conv64-pool-dropout-dense10)",
        "examples_per_epoch": EXAMPLES,
        "global_batch_size": GLOBAL_BATCH,
        "timed_epochs": TIMED_EPOCHS,
        "epoch_seconds": epoch_seconds,
        "examples_per_s": rates,
        "ratios": ratios,
        "readme_table": {
            "columns": ["configuration", "examples/s", "vs fit on 1 device"],
            "rows": [
                [labels[name], f"{rates[name]:,.0f}", f"{rates[name] / rates['fit_1_device']:.2f}x"]
                for name in configs
            ],
        },
    },
)
