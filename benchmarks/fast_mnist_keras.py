"""Time to accuracy on a GPU host without TensorFlow: the fast MNIST recipes through Keras alone.

    python benchmarks/fast_mnist_keras.py --export-data arrays.npz          # here, once (TFDS -> npz)
    KERAS_BACKEND=jax python benchmarks/fast_mnist_keras.py --data arrays.npz [--quick] [--seeds 10]
    KERAS_BACKEND=jax bash benchmarks/fast_mnist_gpu.sh arrays.npz RESULTS_DIR COMMIT  # the README's GPU run

Why a second script: the GPU machines lent to this project (the `device` tool) hold JAX but no
TensorFlow, and TensorFlow's wheel is larger than what can be carried there. Keras 3 runs the
same models on JAX, so this script trains the same recipes there:
- the keras-io baseline's model and optimizer (`tfcourse.models.mnist_cnn`, Adam 1e-3, batch 128)
  until 99.0% test accuracy, evaluated after every epoch (evaluations not timed);
- `tfcourse.fast_mnist.RECORD` over `--seeds` seeds, also under the mixed_bfloat16 and
  mixed_float16 policies, and (JAX only) with each epoch one jitted `lax.scan`
  (`train_recipe_one_program`: what `model.fit`'s per-step Python costs); `ACCURATE` and
  `FASHION` over `--target-seeds` seeds.
What differs from benchmarks/fast_mnist.py (TensorFlow, CPU rows): the batches come from Keras's
array adapter (reshuffled every epoch) instead of tf.data, and `model.fit` runs directly instead of
`tfcourse.training.train` (which builds on tf.distribute). Time is the same `TrainTimer` wall
clock (first training step to the last, compilation included). It runs on any backend
(tests/test_fast_mnist_keras.py trains through it on TensorFlow/CPU) and writes
`<results-dir>/fast_mnist_keras.json`, whose rows README shows apart from the CPU rows.
"""

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, NamedTuple

import keras
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import RATIO_GOAL, RESULTS_DIR, positive_int, speedup_met, target_met, verdict  # noqa: E402

from tfcourse._atomic import atomic_write_text  # noqa: E402
from tfcourse.fast_mnist import (  # noqa: E402
    ACCURATE,
    FASHION,
    KERAS_IO_BATCH,
    RECORD,
    TRAIN_SPLITS,
    TrainTimer,
    _dividing_steps_per_execution,
    _StopAtAccuracy,
    accuracy,
)
from tfcourse.models import mnist_cnn  # noqa: E402

# (row name, recipe, dataset, target mean test accuracy, target median seconds). The recipes'
# mixed_precision "auto" is the TF engine's choice (tfcourse.training); here each row names its
# policy: float32 unless the row says otherwise, as when these rows were first measured.
TARGETS = [
    ("record", dataclasses.replace(RECORD, mixed_precision=None), "mnist", 0.990, 1.0),
    ("record_one_program", dataclasses.replace(RECORD, mixed_precision=None), "mnist", 0.990, 1.0),
    ("record_bfloat16", dataclasses.replace(RECORD, mixed_precision="mixed_bfloat16"), "mnist", 0.990, 1.0),
    ("record_float16", dataclasses.replace(RECORD, mixed_precision="mixed_float16"), "mnist", 0.990, 1.0),
    ("accurate", dataclasses.replace(ACCURATE, mixed_precision=None), "mnist", 0.995, 60.0),
    ("fashion", dataclasses.replace(FASHION, mixed_precision=None), "fashion_mnist", 0.930, 180.0),
]
ONE_PROGRAM = {"record_one_program"}  # trained by `train_recipe_one_program` (JAX only)
TEN_SEEDS = {"record", "record_one_program"}  # the record's definition: mean over 10 seeds
LABELS = {
    "record": "MNIST record recipe",
    "record_bfloat16": "MNIST record recipe, mixed_bfloat16",
    "record_float16": "MNIST record recipe, mixed_float16",
    "accurate": "MNIST, BN + shifts",
    "fashion": "Fashion-MNIST",
    "record_one_program": "MNIST record recipe, each epoch one jitted lax.scan",
}


def export_data(path):
    """Write the uint8 training (`TRAIN_SPLITS`) and test arrays of MNIST and Fashion-MNIST to one .npz (atomic)."""
    from tfcourse.data import load_arrays

    arrays = {}
    for dataset in ("mnist", "fashion_mnist"):
        for split, key in ((TRAIN_SPLITS[dataset], "train"), ("test", "test")):
            arrays[f"{dataset}_{key}_images"], arrays[f"{dataset}_{key}_labels"] = load_arrays(dataset, split)
    path = Path(path)
    partial = path.with_name(path.name + ".partial.npz")
    np.savez_compressed(partial, **arrays)
    os.replace(partial, path)
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")


def load_data(path, dataset, limit=None):
    """(train images float32 in [0, 1], train labels, test images, test labels) from `export_data`'s file."""
    with np.load(path) as arrays:
        get = lambda key: arrays[f"{dataset}_{key}"]  # noqa: E731
        train_images, train_labels = get("train_images")[:limit], get("train_labels")[:limit]
        return (train_images.astype("float32") / 255.0, train_labels.astype("int64"),
                get("test_images").astype("float32") / 255.0, get("test_labels").astype("int64"))  # fmt: skip


def build_in_policy(build, policy):
    """`build()` under the dtype policy `policy` (None: the current one), restoring the old policy."""
    if policy == "auto":
        raise ValueError("`policy` must name a Keras dtype policy; 'auto' is resolved by tfcourse.training. "
                         "Received: policy='auto'")  # fmt: skip
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy or previous)
    try:
        return build()
    finally:
        keras.config.set_dtype_policy(previous)


def train_recipe(recipe, images, labels, seed):
    """One run of `recipe` with `model.fit` on in-memory arrays; returns (model, train seconds)."""
    keras.utils.set_random_seed(seed)
    model = build_in_policy(recipe.build_model, recipe.mixed_precision)
    steps = recipe.steps_per_epoch(len(images))
    model.compile(optimizer=recipe.optimizer(len(images)), loss=recipe.loss(),
                  steps_per_execution=_dividing_steps_per_execution(steps, recipe.steps_per_execution))  # fmt: skip
    targets = np.eye(10, dtype="float32")[labels] if recipe.label_smoothing else labels
    timer = TrainTimer()
    model.fit(images, targets, batch_size=recipe.batch_size, epochs=recipe.epochs, shuffle=True,
              callbacks=[timer], verbose=0)  # fmt: skip
    return model, timer.seconds


class OneProgramParts(NamedTuple):
    """What `train_recipe_one_program` times, built untimed (`xla_flags_probe` times its phases)."""

    model: keras.Model
    optimizer: keras.optimizers.Optimizer
    epoch: Callable  # (state, images, targets, order) -> state; one lax.scan over the steps, to be jitted
    state: tuple  # (trainable, non-trainable, optimizer) variable values
    arrays: tuple  # (images, targets) on the device
    next_order: Callable  # () -> this epoch's (steps, batch) int32 order, drawn on the host


def one_program_parts(recipe, images, labels, seed):
    """The pieces of `train_recipe_one_program` for `recipe` and `seed`; refuses what the loop
    does not compute (checked before JAX is imported, so on any backend)."""
    if recipe.mixed_precision not in (None, "float32", "mixed_bfloat16"):
        raise ValueError("`recipe.mixed_precision` must be None, 'float32' or 'mixed_bfloat16' here "
                         f"(no loss scaling in this loop). Received: {recipe.mixed_precision!r}")  # fmt: skip
    if recipe.batch_norm:
        raise ValueError("`recipe.batch_norm` must be False here: the padding rows of the last batch would "
                         "enter batch normalization's statistics. Received: batch_norm=True")  # fmt: skip
    import jax
    import jax.numpy as jnp

    keras.utils.set_random_seed(seed)
    model = build_in_policy(recipe.build_model, recipe.mixed_precision)
    optimizer, loss = recipe.optimizer(len(images)), recipe.loss()
    optimizer.build(model.trainable_variables)
    count, batch, steps = len(images), recipe.batch_size, recipe.steps_per_epoch(len(images))
    targets = np.eye(10, dtype="float32")[labels] if recipe.label_smoothing else labels
    weights = (np.arange(steps * batch) < count).astype("float32").reshape(steps, batch)

    def batch_loss(trainable, non_trainable, x, y, w):
        logits, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
        return jnp.sum(w * loss.call(y, logits)) / jnp.sum(w), non_trainable

    def epoch(state, x, y, order):
        def step(state, batch_data):
            trainable, non_trainable, optimizer_state = state
            index, w = batch_data
            (_, non_trainable), grads = jax.value_and_grad(batch_loss, has_aux=True)(
                trainable, non_trainable, x[index], y[index], w)
            trainable, optimizer_state = optimizer.stateless_apply(optimizer_state, grads, trainable)
            return (trainable, non_trainable, optimizer_state), None

        state, _ = jax.lax.scan(step, state, (order, weights))
        return state

    rng, padding = np.random.default_rng(seed), np.zeros(steps * batch - count, "int32")

    def next_order():
        return np.concatenate([rng.permutation(count).astype("int32"), padding]).reshape(steps, batch)

    state = ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
             [v.value for v in optimizer.variables])  # fmt: skip
    return OneProgramParts(model, optimizer, epoch, state, (jax.device_put(images), jax.device_put(targets)), next_order)


def train_recipe_one_program(recipe, images, labels, seed):
    """JAX only: `recipe` with each epoch one jitted `lax.scan` over its batches; (model, seconds).

    The record recipe's math with none of `model.fit`'s per-step Python (the keras-io guide
    "Writing a training loop from scratch in JAX", with Keras's stateless API):

        once:       X, Y = the training arrays on the device (not timed, as the arrays' loading)
        each epoch: order = permutation(N) drawn on the host, as `model.fit`'s array adapter
                            shuffles, padded to steps * B (padding weight 0)
                    scan over the steps: loss = sum(w * loss_i) / sum(w)  (the partial last batch's mean)
                                         grads -> optimizer.stateless_apply
    Time runs from the first epoch's order (tracing and XLA compilation included) to the last
    epoch's result. The order is drawn outside the XLA program: on JAX/CPU a program drawing it
    with `jax.random.permutation` (50,000 indices, padded) took 0.45-0.51 s to lower and compile
    (its sorts), one taking the order as an argument 0.03-0.06 s.
    """
    parts = one_program_parts(recipe, images, labels, seed)
    import jax  # after the checks in one_program_parts, which hold on any backend

    epoch, state = jax.jit(parts.epoch), parts.state
    start = time.perf_counter()
    for _ in range(recipe.epochs):
        state = epoch(state, *parts.arrays, parts.next_order())
    state = jax.block_until_ready(state)
    seconds = time.perf_counter() - start
    model = parts.model
    for variables, values in zip((model.trainable_variables, model.non_trainable_variables,
                                  parts.optimizer.variables), state):  # fmt: skip
        for variable, value in zip(variables, values):
            variable.assign(value)
    return model, seconds


def baseline_time_to_99(images, labels, test_images, test_labels, max_epochs):
    """The keras-io recipe trained until 99.0% test accuracy, evaluated after every epoch (timed
    epochs only): `tfcourse.fast_mnist.time_to_accuracy`'s timer and stop, through `model.fit` on
    array batches in place of its tf.data pipeline."""
    keras.utils.set_random_seed(0)
    model = mnist_cnn()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"],  # the keras-io recipe's
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))  # fmt: skip
    timer, stopper = TrainTimer(), _StopAtAccuracy(test_images, test_labels, 0.99)
    model.fit(images, labels, batch_size=KERAS_IO_BATCH, epochs=max_epochs, shuffle=True,
              callbacks=[timer, stopper], verbose=0)  # fmt: skip
    accuracies = stopper.accuracies
    return {"reached": accuracies[-1] >= 0.99, "epochs": len(accuracies), "train_seconds": timer.seconds,
            "test_accuracies": accuracies}  # fmt: skip


def device_name():
    """The accelerator's name ("NVIDIA H100 80GB HBM3"), or "CPU"."""
    if keras.backend.backend() == "jax":
        import jax

        device = jax.devices()[0]
        return device.device_kind if device.platform == "gpu" else "CPU"
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU") if gpus else "CPU"
    return "CPU"


def machine_info(git_commit, device):
    info = {"gpus": [] if device == "CPU" else [device], "keras": keras.__version__,
            "backend": keras.backend.backend(), "python": platform.python_version(),
            "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "git_commit": git_commit}  # fmt: skip
    if keras.backend.backend() == "jax":
        import jax

        info["jax"] = jax.__version__
    if os.environ.get("XLA_FLAGS"):  # compiler settings: which kernels run, and the seconds
        info["xla_flags"] = os.environ["XLA_FLAGS"]
    return info


def rows_for(device, baseline, measured, left_out=()):
    """README rows; `left_out`: rows this run did not try (`--only`), told apart from a stopped run."""
    rows = [[f"keras-io baseline to 99.0% ({device})", "1",
             f"{baseline['test_accuracies'][-1]:.4f} after {baseline['epochs']} epochs",
             f"{baseline['train_seconds']:.2f} s", "reference" if baseline["reached"]
             else f"**99.0% not reached in {baseline['epochs']} epochs**"]]  # fmt: skip
    for name, _, _, target_accuracy, target_seconds in TARGETS:
        entry = measured.get(name)
        if entry is None:
            jax_only = name in ONE_PROGRAM and keras.backend.backend() != "jax"
            why = ("JAX only" if jax_only else "left out of this run: `--only`" if name in left_out
                   else "benchmark stopped before this stage")  # fmt: skip
            rows.append([f"{LABELS[name]} ({device})", "0", "", "", f"**not run** ({why})"])
            continue
        met = target_met(entry, target_accuracy, target_seconds)
        rows.append([f"{LABELS[name]} >= {100 * target_accuracy:.1f}% mean, median <= {target_seconds:g} s ({device})",
                     str(len(entry["runs"])), f"{entry['mean_test_accuracy']:.4f} (min {entry['min_test_accuracy']:.4f})",
                     f"{entry['median_train_seconds']:.2f} s", verdict(met)])  # fmt: skip
    ratio = None
    if "record" in measured:
        ratio = baseline["train_seconds"] / measured["record"]["median_train_seconds"]
        rows.append([f"speed-up, baseline time to 99% / record median ({device})", "", "", f"{ratio:.1f}x",
                     f"{verdict(speedup_met(ratio, baseline))} (goal >= {RATIO_GOAL:g}x)"])  # fmt: skip
    return rows, ratio


def write(args, device, baseline, measured, results_dir, previous_machines=()):
    """Rewritten after every stage: a run stopped early still records what it measured; a run
    continuing `--previous` keeps the machine records of the runs it continues, oldest first."""
    left_out = sorted(name for name, *_ in TARGETS if args.only and name not in args.only and name not in measured)
    rows, ratio = rows_for(device, baseline, measured, left_out)
    payload = {"machine": machine_info(args.git_commit, device), "quick": args.quick, "device": device,
               "complete": len(measured) == len(TARGETS),
               "command": "python benchmarks/fast_mnist_keras.py " + " ".join(sys.argv[1:]),
               "baseline": baseline, "targets": measured, "left_out": left_out, "speedup": ratio,
               "readme_table": {"columns": ["run", "seeds", "test accuracy (mean)", "training time (median)", "target"],
                                "rows": rows}}  # fmt: skip
    if previous_machines:
        payload["previous_machines"] = list(previous_machines)
    path = results_dir / "fast_mnist_keras.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
    return rows, path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export-data", type=Path, help="write the arrays file from the prepared TFDS data and exit")
    parser.add_argument("--data", type=Path, help="the arrays file written by --export-data")
    parser.add_argument("--quick", action="store_true", help="5,000 images, 1 seed, 1 epoch; temporary results folder")
    parser.add_argument("--seeds", type=positive_int, default=10,
                        help="seeds of the record recipe (3 for its mixed-precision rows)")
    parser.add_argument("--target-seeds", type=positive_int, default=5, help="seeds of the second and third targets")
    parser.add_argument("--results-dir", type=Path, default=None)
    parser.add_argument("--only", nargs="+", choices=[name for name, *_ in TARGETS], help="run only these rows")
    parser.add_argument("--previous", type=Path, help="a stopped run's JSON: keep its baseline and rows, run the rest")
    parser.add_argument("--git-commit", default="unknown", help="the commit this tree is (the GPU host has no .git)")
    args = parser.parse_args()
    if args.export_data:
        return export_data(args.export_data)
    if args.data is None:
        parser.error("`--data` is required (write the file with --export-data first)")
    limit = 5000 if args.quick else None
    results_dir = args.results_dir or (Path(tempfile.mkdtemp(prefix="tfcourse-quick-")) if args.quick else RESULTS_DIR)
    device = device_name()
    print(f"device: {device}, Keras {keras.__version__} on {keras.backend.backend()}", flush=True)

    mnist = load_data(args.data, "mnist", limit)
    if args.previous:
        previous = json.loads(args.previous.read_text())
        baseline, measured = previous["baseline"], previous["targets"]
        previous_machines = [*previous.get("previous_machines", []), previous["machine"]]
    else:
        baseline, measured = baseline_time_to_99(*mnist, max_epochs=1 if args.quick else 15), {}
        previous_machines = []
    print(f"keras-io baseline: {baseline}", flush=True)
    for name, recipe, dataset, _, _ in TARGETS:
        if name in measured or (args.only and name not in args.only):
            continue
        if name in ONE_PROGRAM and keras.backend.backend() != "jax":
            print(f"  {name}: skipped (JAX only)", flush=True)
            continue
        train = train_recipe_one_program if name in ONE_PROGRAM else train_recipe
        images, labels, test_images, test_labels = mnist if dataset == "mnist" else load_data(args.data, dataset, limit)
        if args.quick:
            recipe = dataclasses.replace(recipe, epochs=1)
        count = args.seeds if name in TEN_SEEDS else 3 if name.startswith("record") else args.target_seeds
        count = 1 if args.quick else count
        runs = []
        for seed in range(count):
            model, seconds = train(recipe, images, labels, seed)
            runs.append({"seed": seed, "test_accuracy": accuracy(model, test_images, test_labels), "train_seconds": seconds})
            print(f"  {name} seed {seed}: {runs[-1]['test_accuracy']:.4f}, {seconds:.2f} s", flush=True)
        measured[name] = {"recipe": repr(recipe), "dataset": dataset, "runs": runs,
                          "mean_test_accuracy": statistics.fmean(r["test_accuracy"] for r in runs),
                          "min_test_accuracy": min(r["test_accuracy"] for r in runs),
                          "median_train_seconds": statistics.median(r["train_seconds"] for r in runs)}  # fmt: skip
        write(args, device, baseline, measured, results_dir, previous_machines)
    rows, path = write(args, device, baseline, measured, results_dir, previous_machines)
    for row in rows:
        print(" | ".join(row))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
