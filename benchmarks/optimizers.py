"""Per-step time of each tfcourse optimizer against its Keras counterpart (lesson L03).

For an MNIST MLP and a small CNN, and for every optimizer pair, the script times

    train_step       forward + backward + apply_gradients, one `tf.function`
    apply_gradients  the optimizer's update alone, on fixed precomputed gradients

interleaving tfcourse and Keras block by block in one process (so machine load hits both
alike) and reporting the median per-step time over many blocks. Ratio = median over rounds
of tfcourse / Keras for adjacent blocks; the target is <= 1.05. The op count of each traced
step is recorded too: a noise-free check that the update does no more work than Keras's.
Results go to benchmarks/results/optimizers.json (written atomically) with the machine's
TensorFlow / Keras versions and CPU count.

    python benchmarks/optimizers.py            # ~3-5 minutes on 2 CPU cores
    python benchmarks/optimizers.py --quick    # seconds: MLP only, 2 x 2 steps, to a temporary folder
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _common import machine_info, results_dir_for  # noqa: E402

from tfcourse import optimizers as tfo  # noqa: E402
from tfcourse._atomic import atomic_write_text  # noqa: E402
from tfcourse.models import mnist_cnn, mnist_mlp  # noqa: E402

CONTROL = "A/A control: Keras Adam vs Keras Adam"
FUSED = "Adam fused=True (vs Keras Adam)"
PAIRS = {
    # name: (tfcourse factory, Keras factory)
    "SGD": (lambda: tfo.SGD(0.01), lambda: keras.optimizers.SGD(0.01)),
    "SGD momentum": (lambda: tfo.SGD(0.01, momentum=0.9), lambda: keras.optimizers.SGD(0.01, momentum=0.9)),
    "SGD nesterov": (
        lambda: tfo.SGD(0.01, momentum=0.9, nesterov=True),
        lambda: keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
    ),
    "EWMAMomentum (vs SGD momentum)": (
        lambda: tfo.EWMAMomentum(0.1, beta=0.9),
        lambda: keras.optimizers.SGD(0.01, momentum=0.9),
    ),
    "Adagrad": (lambda: tfo.Adagrad(0.01), lambda: keras.optimizers.Adagrad(0.01)),
    "RMSprop": (lambda: tfo.RMSprop(0.001), lambda: keras.optimizers.RMSprop(0.001)),
    "RMSprop centered+momentum": (
        lambda: tfo.RMSprop(0.001, momentum=0.9, centered=True),
        lambda: keras.optimizers.RMSprop(0.001, momentum=0.9, centered=True),
    ),
    "Adam": (lambda: tfo.Adam(0.001), lambda: keras.optimizers.Adam(0.001)),
    "Adam amsgrad": (lambda: tfo.Adam(0.001, amsgrad=True), lambda: keras.optimizers.Adam(0.001, amsgrad=True)),
    # TensorFlow's ResourceApplyAdam kernel: fewer graph ops than Keras's by design (lesson L12).
    FUSED: (lambda: tfo.Adam(0.001, fused=True), lambda: keras.optimizers.Adam(0.001)),
    # A/A control: Keras against itself. Its ratio is the measurement's own noise / bias on
    # this machine (left out of the summary's ratios, reported as the noise floor).
    CONTROL: (lambda: keras.optimizers.Adam(0.001), lambda: keras.optimizers.Adam(0.001)),
}


def mnist_batch(batch_size):
    """A fixed batch of real MNIST when prepared, else random data of the same shape."""
    try:
        from tfcourse.data import load_arrays

        images, labels = load_arrays("mnist", "train")
        x, y = images[:batch_size].astype("float32") / 255.0, labels[:batch_size]
        source = "mnist"
    except Exception as error:  # noqa: BLE001  (benchmark still runs without the dataset)
        print(f"MNIST not available ({error}); timing on random data of the same shape.")
        rng = np.random.default_rng(0)
        x, y = rng.random((batch_size, 28, 28, 1), dtype="float32"), rng.integers(0, 10, batch_size)
        source = "random"
    return tf.constant(x), tf.constant(y.astype("int64")), source


def make_model(kind):
    keras.utils.set_random_seed(0)
    if kind == "mlp":
        return mnist_mlp((512, 512), input_shape=(28, 28, 1))
    return mnist_cnn(dropout=0)


def make_runners(kind, optimizer, x, y):
    """(train_step, apply_step) tf.functions for one model + optimizer."""
    model = make_model(kind)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    variables = model.trainable_variables
    optimizer.build(variables)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    fixed_grads = [tf.constant(g) for g in tape.gradient(loss, variables)]

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    @tf.function
    def apply_step():
        optimizer.apply_gradients(zip(fixed_grads, variables))
        return optimizer.iterations

    return {"train_step": train_step, "apply_gradients": apply_step}


def graph_op_count(fn):
    """Ops in a traced step, nested function bodies included (a noise-free cost proxy)."""
    graph_def = fn.get_concrete_function().graph.as_graph_def()
    return len(graph_def.node) + sum(len(f.node_def) for f in graph_def.library.function)


def time_block(fn, steps):
    result = None
    start = time.perf_counter()
    for _ in range(steps):
        result = fn()
    _ = result.numpy()  # wait for the last step
    return (time.perf_counter() - start) / steps * 1e3  # ms per step


def benchmark(kind, name, rounds, steps, x, y):
    ours_factory, keras_factory = PAIRS[name]
    runners = {"tfcourse": make_runners(kind, ours_factory(), x, y), "keras": make_runners(kind, keras_factory(), x, y)}
    rows = []
    for mode in ("train_step", "apply_gradients"):
        for impl in runners:  # trace + warm up
            time_block(runners[impl][mode], 5)
        samples = {"tfcourse": [], "keras": []}
        for r in range(rounds):
            order = ("tfcourse", "keras") if r % 2 == 0 else ("keras", "tfcourse")  # interleaved
            for impl in order:
                samples[impl].append(time_block(runners[impl][mode], steps))
        ours, theirs = statistics.median(samples["tfcourse"]), statistics.median(samples["keras"])
        # Adjacent blocks share the machine's load, so their ratio cancels slow load drift from
        # other processes; the reported ratio is the median of these paired ratios.
        paired = [a / b for a, b in zip(samples["tfcourse"], samples["keras"])]
        ratio = statistics.median(paired)
        ops = {impl: graph_op_count(runners[impl][mode]) for impl in runners}
        rows.append(
            {
                "model": kind,
                "optimizer": name,
                "mode": mode,
                "tfcourse_graph_ops": ops["tfcourse"],
                "keras_graph_ops": ops["keras"],
                "tfcourse_median_ms": round(ours, 4),
                "keras_median_ms": round(theirs, 4),
                "ratio": round(ratio, 4),
                "ratio_of_medians": round(ours / theirs, 4),
                "tfcourse_samples_ms": [round(s, 4) for s in samples["tfcourse"]],
                "keras_samples_ms": [round(s, 4) for s in samples["keras"]],
            }
        )
        print(
            f"{kind:>4} {mode:<16} {name:<32} tfcourse {ours:8.3f} ms  keras {theirs:8.3f} ms  "
            f"paired ratio {ratio:5.3f}  graph ops {ops['tfcourse']}/{ops['keras']}"
        )
    return rows


def summary_of(rows):
    """Ratios against the 1.05 target, the A/A control's ratios, and the graph-op checks."""
    # the like-for-like target: the control measures noise, the fused row is meant to be faster
    ratios = [row["ratio"] for row in rows if row["optimizer"] not in (CONTROL, FUSED)]
    return {
        "median_ratio": round(statistics.median(ratios), 4),
        "max_ratio": round(max(ratios), 4),
        "within_target": sum(r <= 1.05 for r in ratios),
        "control_ratios": [row["ratio"] for row in rows if row["optimizer"] == CONTROL],
        "identical_graph_op_counts": all(
            row["tfcourse_graph_ops"] == row["keras_graph_ops"]
            for row in rows
            if not row["optimizer"].startswith("EWMA") and row["optimizer"] != FUSED
        ),
        "fused_adam_graph_ops": [
            [row["mode"], row["tfcourse_graph_ops"], row["keras_graph_ops"]] for row in rows if row["optimizer"] == FUSED
        ],
        "total": len(ratios),
    }


def readme_table(rows, summary):
    """Full training step per model and optimizer, plus the A/A control's noise floor."""
    table = [
        [row["model"].upper(), row["optimizer"], f"{row['tfcourse_median_ms']:.2f}",
         f"{row['keras_median_ms']:.2f}", f"{row['ratio']:.3f}"]
        for row in rows
        if row["mode"] == "train_step"
    ]
    control = ", ".join(f"{r:.3f}" for r in summary["control_ratios"])
    table.append([
        "all", f"{summary['within_target']}/{summary['total']} rows (step and update-only) <= 1.05",
        "", "", f"median {summary['median_ratio']:.3f}, max {summary['max_ratio']:.3f}; Keras-vs-Keras {control}",
    ])
    return {"columns": ["model", "optimizer", "tfcourse ms/step", "Keras ms/step", "ratio"], "rows": table}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: MLP only, 2 rounds of 2 steps")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--models", nargs="+", default=None, choices=["mlp", "cnn"], help="default: mlp cnn")
    parser.add_argument("--optimizers", nargs="+", default=list(PAIRS), choices=list(PAIRS), metavar="NAME")
    parser.add_argument("--output", type=Path, default=None,
                        help="default: benchmarks/results/optimizers.json (--quick: a temporary folder)")
    args = parser.parse_args(argv)
    rounds, steps = (2, 2) if args.quick else (40, 10)
    args.models = args.models or (["mlp"] if args.quick else ["mlp", "cnn"])
    args.output = args.output or results_dir_for(args.quick) / "optimizers.json"

    x, y, source = mnist_batch(args.batch_size)
    started = time.perf_counter()
    rows = []
    for kind in args.models:
        for name in args.optimizers:
            rows.extend(benchmark(kind, name, rounds, steps, x, y))
    payload = {
        "benchmark": "optimizers",
        "description": (
            "median per-step time, tfcourse optimizer vs Keras counterpart; ratio = median over rounds of "
            "tfcourse/keras for adjacent (interleaved) blocks; graph ops = ops in the traced step"
        ),
        "target_ratio": 1.05,
        "machine": machine_info(),
        "settings": {
            "quick": args.quick,
            "batch_size": args.batch_size,
            "data": source,
            "rounds": rounds,
            "steps_per_block": steps,
            "interleaved": True,
        },
        "results": rows,
        "summary": {**summary_of(rows), "wall_seconds": round(time.perf_counter() - started, 1)},
    }
    payload["readme_table"] = readme_table(rows, payload["summary"])
    atomic_write_text(args.output, json.dumps(payload, indent=2) + "\n")
    print(
        f"\nmedian ratio {payload['summary']['median_ratio']}, max {payload['summary']['max_ratio']}, "
        f"{payload['summary']['within_target']}/{payload['summary']['total']} within 1.05, "
        f"A/A control {payload['summary']['control_ratios']} -> {args.output}"
    )
    return payload


if __name__ == "__main__":
    main()
