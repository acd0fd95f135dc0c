"""Which XLA flags train the GPU record fastest: one flag set per process (JAX only, device host).

    XLA_FLAGS="..." KERAS_BACKEND=jax python benchmarks/xla_flags_probe.py --data .gpu/arrays.npz

XLA reads `XLA_FLAGS` once, when the backend starts, so `benchmarks/fast_mnist_gpu.sh` runs this
script once per flag set and then `benchmarks/fast_mnist_keras.py` under the fastest set. The flags
choose kernels and how long compilation takes, never the math; the choice is made on time alone.
Per process it prints:
- one extra run (seed 7) split into trace, lowering, compilation and two executions of the
  compiled epoch (the first run also pays XLA's autotuning, which later compilations in the
  process find cached);
- `train_recipe_one_program` for seeds 0-2 and `train_recipe` (`model.fit`) for seeds 0-1, timed as
  the benchmark times them, with seed 0's test accuracy as a check that the flags left the math alone;
- a line `RESULT {json}` whose `score` (median one-program seconds + median fit seconds) ranks the sets.
"""

import argparse
import dataclasses
import importlib.util
import json
import os
import statistics
import sys
import time
from pathlib import Path

import keras
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tfcourse._atomic import atomic_write_text  # noqa: E402
from tfcourse.fast_mnist import RECORD  # noqa: E402

_spec = importlib.util.spec_from_file_location("fast_mnist_keras", ROOT / "benchmarks" / "fast_mnist_keras.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def split_times(recipe, images, labels, seed):
    """Seconds of trace, lowering, compilation, first and second execution of one jitted epoch."""
    import jax  # here, so that `collect` runs where JAX is not installed
    import jax.numpy as jnp

    keras.utils.set_random_seed(seed)
    model = recipe.build_model()
    optimizer, loss = recipe.optimizer(len(images)), recipe.loss()
    optimizer.build(model.trainable_variables)
    count, batch, steps = len(images), recipe.batch_size, recipe.steps_per_epoch(len(images))
    all_images, all_targets = jax.device_put(images), jax.device_put(np.eye(10, dtype="float32")[labels])
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

    state = ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
             [v.value for v in optimizer.variables])  # fmt: skip
    padding = np.zeros(steps * batch - count, "int32")
    order = np.concatenate([np.random.default_rng(seed).permutation(count).astype("int32"), padding])
    order = order.reshape(steps, batch)
    marks = [time.perf_counter()]
    traced = jax.jit(epoch).trace(state, all_images, all_targets, order)
    marks.append(time.perf_counter())
    lowered = traced.lower()
    marks.append(time.perf_counter())
    compiled = lowered.compile()
    marks.append(time.perf_counter())
    for _ in range(2):
        jax.block_until_ready(compiled(state, all_images, all_targets, order))
        marks.append(time.perf_counter())
    names = ("trace", "lower", "compile", "run1", "run2")
    return {name: round(end - start, 3) for name, start, end in zip(names, marks, marks[1:])}


def collect(log_text, commit, date_utc=None):
    """The `RESULT` lines of the probe processes' log as one document; the fastest set is the lowest score."""
    flag_sets = [json.loads(line.removeprefix("RESULT ")) for line in log_text.splitlines() if line.startswith("RESULT ")]
    if not flag_sets:
        raise ValueError("the log holds no `RESULT` line: no flag set finished its probe")
    devices = sorted({line.split(" XLA_FLAGS")[0].removeprefix("device ") for line in log_text.splitlines()
                      if line.startswith("device ")})  # fmt: skip
    fastest = min(flag_sets, key=lambda row: row["score"])["xla_flags"]
    when = date_utc or time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    return {"machine": {"git_commit": commit, "gpus": devices, "date_utc": when},
            "command": "bash benchmarks/fast_mnist_gpu.sh", "flag_sets": flag_sets, "fastest": fastest}  # fmt: skip


def probe(data):
    import jax

    images, labels, test_images, test_labels = bench.load_data(data, "mnist")
    recipe = dataclasses.replace(RECORD, mixed_precision=None)
    flags = os.environ.get("XLA_FLAGS", "")
    print("device", jax.devices()[0].device_kind, "XLA_FLAGS", flags, flush=True)
    print("seed 7 split:", split_times(recipe, images, labels, 7), flush=True)
    seconds = {"one_program": [], "fit": []}
    for path, train, seeds in (("one_program", bench.train_recipe_one_program, 3), ("fit", bench.train_recipe, 2)):
        for seed in range(seeds):
            model, elapsed = train(recipe, images, labels, seed)
            seconds[path].append(round(elapsed, 3))
            check = bench.accuracy(model, test_images, test_labels) if seed == 0 else ""
            print(path, "seed", seed, seconds[path][-1], check, flush=True)
    score = statistics.median(seconds["one_program"]) + statistics.median(seconds["fit"])
    print("RESULT " + json.dumps({"xla_flags": flags, **seconds, "score": round(score, 3)}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="the arrays file of fast_mnist_keras.py --export-data")
    parser.add_argument("--collect", type=Path, help="instead: read the probes' log, write --out, print the fastest set")
    parser.add_argument("--out", type=Path, help="with --collect: the JSON to write (atomic)")
    parser.add_argument("--commit", default="unknown", help="with --collect: the commit the probes ran")
    parser.add_argument("--date-utc", help="with --collect: when the probes ran (default: now)")
    args = parser.parse_args()
    if args.collect:
        if args.out is None:
            parser.error("`--out` is required with --collect")
        document = collect(args.collect.read_text(), args.commit, args.date_utc)
        atomic_write_text(args.out, json.dumps(document, indent=2) + "\n")
        print(document["fastest"])
    elif args.data:
        probe(args.data)
    else:
        parser.error("`--data` (probe this process's flags) or `--collect` is required")


if __name__ == "__main__":
    main()
