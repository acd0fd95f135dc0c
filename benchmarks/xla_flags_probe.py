"""Which XLA flags train the GPU record fastest: one flag set per process (JAX only, device host).

    XLA_FLAGS="..." KERAS_BACKEND=jax python benchmarks/xla_flags_probe.py --data .gpu/arrays.npz

XLA reads `XLA_FLAGS` once, when the backend starts, so `benchmarks/fast_mnist_gpu.sh` runs this
script once per flag set and then `benchmarks/fast_mnist_keras.py` under the fastest set. The flags
choose kernels and how long compilation takes, not the model or its updates (rounding aside);
the choice is made on time alone, and each path's seed-0 test accuracy is kept beside it.
Per process it prints:
- one extra run (seed 7) split into trace, lowering, compilation and two executions of the
  compiled epoch (the first run also pays XLA's autotuning, which later compilations in the
  process find cached);
- `train_recipe_one_program` and `train_recipe` (`model.fit`) for seeds 0-2 each, timed as the
  benchmark times them, with seed 0's test accuracy as a check that the flags left the model and
  its updates alone;
- a line `RESULT {json}` whose `score` (median one-program seconds + median fit seconds) ranks the sets.
"""

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tfcourse._atomic import atomic_write_text  # noqa: E402
from tfcourse.fast_mnist import RECORD  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))

import fast_mnist_keras as bench  # noqa: E402


def split_times(recipe, images, labels, seed):
    """Seconds of trace, lowering, compilation, first and second execution of one jitted epoch."""
    import jax  # here, so that `collect` runs where JAX is not installed

    parts = bench.one_program_parts(recipe, images, labels, seed)
    arguments = (parts.state, *parts.arrays, parts.next_order())
    marks = [time.perf_counter()]
    traced = jax.jit(parts.epoch).trace(*arguments)
    marks.append(time.perf_counter())
    lowered = traced.lower()
    marks.append(time.perf_counter())
    compiled = lowered.compile()
    marks.append(time.perf_counter())
    for _ in range(2):
        jax.block_until_ready(compiled(*arguments))
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
    seconds, seed0_accuracy = {"one_program": [], "fit": []}, {}
    for path, train in (("one_program", bench.train_recipe_one_program), ("fit", bench.train_recipe)):
        for seed in range(3):
            model, elapsed = train(recipe, images, labels, seed)
            seconds[path].append(round(elapsed, 3))
            if seed == 0:
                seed0_accuracy[path] = bench.accuracy(model, test_images, test_labels)
            print(path, "seed", seed, seconds[path][-1], seed0_accuracy[path] if seed == 0 else "", flush=True)
    score = statistics.median(seconds["one_program"]) + statistics.median(seconds["fit"])
    print("RESULT " + json.dumps({"xla_flags": flags, **seconds, "seed0_test_accuracy": seed0_accuracy,
                                  "score": round(score, 3)}), flush=True)  # fmt: skip


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
