"""Training-step time of a small CNN with tfcourse's normalization layers vs Keras's and TF's.

Variants (same CNN: conv 16 -> [norm] -> ReLU -> conv 32 -> [norm] -> ReLU -> pool -> dense 10;
batch 128 of 28x28x1; SGD; one compiled `tf.function` step each), measured interleaved in one
process, round after round, so load from other processes hits every variant alike:

    none                     no normalization (the baseline)
    keras_bn                 keras.layers.BatchNormalization
    tfcourse_bn              tfcourse.layers.BatchNormalization (fused kernel path)
    tfcourse_bn_reference    tfcourse.layers.BatchNormalization(implementation="reference")
    tf_lrn                   a layer wrapping tf.nn.local_response_normalization
    tfcourse_lrn             tfcourse.layers.LocalResponseNormalization ("auto": the kernel
                             measured faster here, recorded as summary.lrn_faster_kernel_on_cpu)
    tfcourse_lrn_reference   tfcourse.layers.LocalResponseNormalization(implementation="reference")

Targets: tfcourse_bn <= 0.8x keras_bn; tfcourse_bn_reference (the notes' formula with the
hand-derived backward pass) <= 1.0x keras_bn; tfcourse_lrn ("auto") <= 0.8x tf_lrn.

    python benchmarks/layers.py [--quick]

Writes benchmarks/results/layers.json (machine info, raw per-round medians, summary with the
medians over rounds and the medians of within-round ratios). The machine is shared, so the
1-minute load average at start and end is recorded too.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from _common import write_results

from tfcourse.layers import BatchNormalization, LocalResponseNormalization

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="fewer rounds and steps")
parser.add_argument("--batch-size", type=int, default=128)
args = parser.parse_args()
ROUNDS = 2 if args.quick else 20
STEPS = 2 if args.quick else 10
BATCH = args.batch_size


class TFLocalResponseNormalization(keras.layers.Layer):
    """The comparison point: TF's op, nothing else."""

    def call(self, inputs):
        return tf.nn.local_response_normalization(inputs, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5)


VARIANTS = {
    "none": None,
    "keras_bn": lambda: keras.layers.BatchNormalization(),
    "tfcourse_bn": lambda: BatchNormalization(),
    "tfcourse_bn_reference": lambda: BatchNormalization(implementation="reference"),
    "tf_lrn": lambda: TFLocalResponseNormalization(),
    "tfcourse_lrn": lambda: LocalResponseNormalization(),
    "tfcourse_lrn_reference": lambda: LocalResponseNormalization(implementation="reference"),
}


def make_step(norm):
    keras.utils.set_random_seed(0)
    layers = [keras.Input((28, 28, 1))]
    for filters in (16, 32):
        layers.append(keras.layers.Conv2D(filters, 3, padding="same", use_bias=norm is None))
        if norm is not None:
            layers.append(norm())
        layers.append(keras.layers.ReLU())
    layers += [keras.layers.MaxPooling2D(4), keras.layers.Flatten(), keras.layers.Dense(10)]
    model = keras.Sequential(layers)
    optimizer = keras.optimizers.SGD(0.01)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer.build(model.trainable_variables)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        return loss

    return step


def main():
    rng = np.random.RandomState(0)
    x = tf.constant(rng.rand(BATCH, 28, 28, 1).astype("float32"))
    y = tf.constant(rng.randint(0, 10, BATCH).astype("int64"))
    steps = {name: make_step(norm) for name, norm in VARIANTS.items()}
    for step in steps.values():  # trace and warm up
        for _ in range(3):
            step(x, y).numpy()
    raw = {name: [] for name in steps}
    load = [os.getloadavg()[0]]
    for round_index in range(ROUNDS):
        order = list(steps)
        if round_index % 2:  # alternate the order so no variant always runs first
            order.reverse()
        for name in order:
            step = steps[name]
            times = []
            for _ in range(STEPS):
                start = time.perf_counter()
                step(x, y).numpy()
                times.append(time.perf_counter() - start)
            raw[name].append(statistics.median(times) * 1e3)
        print(f"round {round_index + 1}/{ROUNDS}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in raw.items()), flush=True)
    load.append(os.getloadavg()[0])

    median_ms = {name: statistics.median(values) for name, values in raw.items()}
    base = median_ms["none"]
    summary = {
        "median_step_ms": median_ms,
        "relative_to_no_normalization": {k: v / base for k, v in median_ms.items()},
        "tfcourse_bn_over_keras_bn": median_ms["tfcourse_bn"] / median_ms["keras_bn"],
        "tfcourse_bn_reference_over_keras_bn": median_ms["tfcourse_bn_reference"] / median_ms["keras_bn"],
        "tfcourse_lrn_over_tf_lrn": median_ms["tfcourse_lrn"] / median_ms["tf_lrn"],
        "tfcourse_lrn_reference_over_tf_lrn": median_ms["tfcourse_lrn_reference"] / median_ms["tf_lrn"],
    }
    # Paired within each round (robust to load that drifts between rounds): median of the ratios.
    def paired(a, b):
        return statistics.median(x / y for x, y in zip(raw[a], raw[b]))

    summary["paired_round_ratios"] = {
        "tfcourse_bn_over_keras_bn": paired("tfcourse_bn", "keras_bn"),
        "tfcourse_bn_reference_over_keras_bn": paired("tfcourse_bn_reference", "keras_bn"),
        "tfcourse_lrn_over_tf_lrn": paired("tfcourse_lrn", "tf_lrn"),
        "tfcourse_lrn_reference_over_tf_lrn": paired("tfcourse_lrn_reference", "tf_lrn"),
    }
    summary["bn_target_met"] = summary["tfcourse_bn_over_keras_bn"] <= 0.8
    summary["bn_reference_target_met"] = summary["paired_round_ratios"]["tfcourse_bn_reference_over_keras_bn"] <= 1.0
    summary["lrn_target_met"] = summary["paired_round_ratios"]["tfcourse_lrn_over_tf_lrn"] <= 0.8
    # What LocalResponseNormalization(implementation="auto") should run on a CPU (its FASTER_KERNEL).
    faster_is_reference = summary["paired_round_ratios"]["tfcourse_lrn_reference_over_tf_lrn"] < 1.0
    summary["lrn_faster_kernel_on_cpu"] = "reference" if faster_is_reference else "tf_op"
    # Each tfcourse variant against the built-in it replaces (target: BN <= 0.8, LRN <= 1.1).
    baseline_of = {"tfcourse_bn": "keras_bn", "tfcourse_bn_reference": "keras_bn",
                   "tfcourse_lrn": "tf_lrn", "tfcourse_lrn_reference": "tf_lrn"}
    rows = [
        [name, f"{median_ms[name]:.2f}", f"{median_ms[name] / base:.2f}x",
         f"{median_ms[name] / median_ms[baseline_of[name]]:.2f}x {baseline_of[name]}" if name in baseline_of else ""]
        for name in VARIANTS
    ]
    payload = {
        "quick": args.quick,
        "description": "train-step time, small CNN, batch %d, interleaved rounds" % BATCH,
        "settings": {"rounds": ROUNDS, "steps_per_round": STEPS, "batch_size": BATCH, "quick": args.quick},
        "load_average_1min_start_end": load,
        "raw_round_medians_ms": raw,
        "summary": summary,
        "targets": {"tfcourse_bn_over_keras_bn": "<= 0.8", "tfcourse_bn_reference_over_keras_bn": "<= 1.0",
                    "tfcourse_lrn_over_tf_lrn": "<= 0.8"},
        "readme_table": {
            "columns": ["variant", "median step (ms)", "vs. no normalization", "vs. the built-in"], "rows": rows
        },
    }
    write_results("layers", payload)
    for key, value in summary.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
