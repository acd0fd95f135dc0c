"""`choose_jit_compile`: switch XLA on only where a measurement says it is faster.

Introduced in lesson L11. XLA (`jit_compile=True`) is no free speed-up: on CPU it made the
course's small CNN 7-8x *slower* per training step while the MLP got 1.3x faster. So XLA is
chosen per model and device by measurement, never switched on blindly:

    for flag in (False, True):
        model = build_model()                       # a THROWAWAY model, in strategy.scope()
        model.compile(optimizer, loss, jit_compile=flag)
        run warmup_steps training steps             # tracing + XLA compilation: not timed
        run steps training steps, timing each one   # the same loop train() will use
        t[flag] = median(step times)
    jit_compile = t[False] / t[True] >= min_speedup

`train(..., jit_compile="auto")` calls this before building the model it trains, and then
re-seeds exactly as it would without the measurement, so the trained weights are
bit-identical to `train(..., jit_compile=<the chosen value>)` with the same seed. (With
seed=None there is nothing to keep: the trial builds simply advance the global RNGs.)
If XLA cannot run the step at all (a TensorFlow error in the XLA trial, e.g. under
MirroredStrategy over logical CPU devices) the choice is False and the reason says why.

The trial batch never comes from iterating the training pipeline: creating an iterator
advances per-iteration state (`shuffle(..., reshuffle_each_iteration=True)` reseeds), which
would change the batches of the training run. For (x, y) arrays the first
`global_batch_size` rows are sliced directly; for a tf.data.Dataset a batch of
`global_batch_size` examples is made from its `element_spec` (standard-normal inputs, zero
labels): the cost of a step depends on shapes and dtypes, not on values.

Under MultiWorkerMirroredStrategy the answer is always False, unmeasured: each worker would
time its own machine and could choose differently, and workers running differently compiled
programs must not meet in the same collectives.
"""

import dataclasses
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from tfcourse._validation import check_in_range, check_one_of, check_positive_int
from tfcourse.training.custom_loop import custom_fit
from tfcourse.training.setup import build_and_compile, resolve_mixed_precision
from tfcourse.training.strategy import get_strategy, is_multi_worker, per_replica_batch_size

MULTI_WORKER_REASON = (
    "not measured under MultiWorkerMirroredStrategy: workers could measure different times "
    "and choose differently, so XLA stays off (jit_compile=False) on every worker"
)


@dataclasses.dataclass
class XlaChoice:
    """What `choose_jit_compile` returns (lesson L11).

    jit_compile: the choice, a bool to pass to `compile` / `train`
    timings:     {"no_xla": seconds, "xla": seconds}, median time of one training step each
                 (warm-up excluded); only "no_xla" when the XLA trial failed (the choice is
                 then False); None when nothing was measured (multi-worker)
    reason:      one line saying why
    """

    jit_compile: bool
    timings: dict | None
    reason: str


def _trial_batch(data, global_batch_size):
    """One (x, y) batch shaped like `data`'s, made without iterating a tf.data pipeline."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return tuple(tf.constant(np.asarray(a)[:global_batch_size]) for a in data)
    if not isinstance(data, tf.data.Dataset):
        raise ValueError(
            "`data` must be a tf.data.Dataset of (x, y) batches or an (x, y) tuple of arrays. "
            f"Received: data={type(data).__name__}"
        )
    rng = np.random.default_rng(0)  # a local generator: the global RNGs are not touched

    def make(spec, fill):
        shape = [global_batch_size, *spec.shape[1:]]
        if not isinstance(spec, tf.TensorSpec) or None in shape[1:]:
            raise ValueError(
                "`data` must have fully known shapes (apart from the batch size) for "
                f"jit_compile='auto'. Received: element_spec={data.element_spec!r}"
            )
        if fill == "normal" and spec.dtype.is_floating:
            return tf.cast(tf.constant(rng.standard_normal(shape)), spec.dtype)
        return tf.zeros(shape, dtype=spec.dtype)

    x_spec, y_spec = data.element_spec
    return (
        tf.nest.map_structure(lambda s: make(s, "normal"), x_spec),
        tf.nest.map_structure(lambda s: make(s, "zeros"), y_spec),
    )


class _StepTimer(keras.callbacks.Callback):
    """Wall time between consecutive training-step ends (the first interval includes start-up)."""

    def __init__(self):
        super().__init__()
        self.ends = []

    def on_train_begin(self, logs=None):
        self.ends = [time.perf_counter()]

    def on_train_batch_end(self, batch, logs=None):
        if logs and "loss" in logs:
            float(logs["loss"])  # wait for the step to finish
        self.ends.append(time.perf_counter())


def _step_times(build_model, batch, *, jit_compile, strategy, loop, policy, total_steps, compile_options):
    """Per-step wall times of `total_steps` training steps of a fresh, throwaway model."""
    dataset = tf.data.Dataset.from_tensors(batch).repeat()
    model, compiled_metrics = build_and_compile(
        build_model, strategy, dataset.element_spec, policy=policy, jit_compile=jit_compile, **compile_options
    )
    timer = _StepTimer()
    if loop == "custom":
        custom_fit(
            model,
            dataset,
            epochs=1,
            strategy=strategy,
            loss=compile_options["loss"],
            steps_per_epoch=total_steps,
            metrics=compiled_metrics,
            callbacks=[timer],
            jit_compile=jit_compile,
            warm_up_iteration=False,
        )
        return list(np.diff(timer.ends))
    # fit calls the batch hooks once per `steps_per_execution` steps: time executions, per step.
    per_call = compile_options["steps_per_execution"]
    model.fit(dataset, epochs=1, steps_per_epoch=total_steps * per_call, callbacks=[timer], verbose=0, shuffle=False)
    return list(np.diff(timer.ends) / per_call)


def choose_jit_compile(
    build_model,
    data,
    *,
    global_batch_size,
    strategy="default",
    devices=None,
    optimizer="adam",
    loss="sparse_categorical_crossentropy",
    metrics=("accuracy",),
    steps_per_execution=1,
    loop="fit",
    mixed_precision=None,
    steps=10,
    warmup_steps=2,
    min_speedup=1.05,
):
    """Measure training steps with and without XLA on throwaway models; return an `XlaChoice`.

    Introduced in lesson L11 (see the module docstring for the measurement and why).

    build_model, optimizer, loss, metrics, steps_per_execution, mixed_precision, strategy,
    devices:           as for `train`; each trial model is built and compiled by the same
                       `tfcourse.training.setup.build_and_compile` as the model `train`
                       trains (same metrics and steps_per_execution), which is never one of them.
    data:              (x, y) arrays or a tf.data.Dataset, as for `train`; only one batch-shaped
                       sample is used and the pipeline is never iterated.
    loop:              "fit" (Keras `fit`, where XLA compiles the whole step) or "custom"
                       (`custom_fit`, where XLA compiles the forward and backward pass).
    steps:             timed steps per setting; the median is taken.
    warmup_steps:      untimed steps first (tracing and XLA compilation).
    min_speedup:       XLA is chosen when median_without / median_with >= min_speedup, so a
                       difference within timing noise keeps the simpler program (no XLA).

    If the XLA trial raises a TensorFlow error (XLA cannot compile the step on this device,
    as with MirroredStrategy over logical CPU devices), the choice is False and the reason
    quotes the error. Building the trial models draws from the global random generators;
    `train` re-seeds afterwards. Under MultiWorkerMirroredStrategy nothing is measured and the choice is False.
    """
    global_batch_size = check_positive_int("global_batch_size", global_batch_size)
    steps = check_positive_int("steps", steps)
    warmup_steps = check_positive_int("warmup_steps", warmup_steps)
    check_in_range("min_speedup", min_speedup, 0, None, low_inclusive=False)
    check_one_of("loop", loop, ("fit", "custom"))
    policy = resolve_mixed_precision(mixed_precision)
    if not callable(build_model):
        raise ValueError(
            f"`build_model` must be a function returning a Keras model. Received: build_model={build_model!r}"
        )
    strategy = get_strategy(strategy, devices=devices)
    if is_multi_worker(strategy):
        return XlaChoice(False, None, MULTI_WORKER_REASON)
    per_replica_batch_size(global_batch_size, strategy)  # same check as train

    batch = _trial_batch(data, global_batch_size)
    timings = {}
    for name, flag in (("no_xla", False), ("xla", True)):
        try:
            times = _step_times(
                build_model,
                batch,
                jit_compile=flag,
                strategy=strategy,
                loop=loop,
                policy=policy,
                total_steps=warmup_steps + steps,
                compile_options=dict(
                    optimizer=optimizer, loss=loss, metrics=metrics, steps_per_execution=steps_per_execution
                ),
            )
        except tf.errors.OpError as error:
            if not flag:
                raise
            # XLA cannot compile this step here (e.g. MirroredStrategy over logical CPU
            # devices: "Trying to access resource ... located in device CPU:1 from CPU:0").
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            return XlaChoice(False, timings, f"XLA failed on this model and device: {first_line}")
        timings[name] = float(statistics.median(times[warmup_steps:]))
    speedup = timings["no_xla"] / timings["xla"]
    chosen = speedup >= min_speedup
    reason = (
        f"median step {timings['no_xla'] * 1e3:.3f} ms without XLA, {timings['xla'] * 1e3:.3f} ms with "
        f"({speedup:.2f}x; XLA needs >= {min_speedup:.2f}x)"
    )
    return XlaChoice(chosen, timings, reason)
