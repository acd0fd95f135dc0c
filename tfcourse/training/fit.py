"""`train`: the one training entry point every lesson uses.

Introduced in lesson L11.

    strategy = get_strategy(strategy)                  # auto / by name / a Strategy
    with strategy.scope():                             # variables created per replica
        model = build_model(); model.compile(optimizer, loss, metrics, ...)
    dataset = batches of global_batch_size, auto-shard policy set on purpose
    loop "fit":    model.fit(dataset, ...)            # Keras distributes the dataset
    loop "custom": custom_fit(model, dataset, ...)    # tf.GradientTape + strategy.run
    each replica sees global_batch_size / num_replicas examples per step

`jit_compile="auto"` times a few steps of throwaway models with and without XLA first
(`tfcourse.training.xla_choice`) and trains with the faster setting.

`loop="auto"` uses `model.fit`, except under MultiWorkerMirroredStrategy where Keras 3.15's
`fit` fails (keras-team/keras#20585) and the custom loop is used instead.

Same batches on every path: under a tf.distribute strategy Keras 3 `fit` first draws one
batch from a fresh iterator of the training data (to build the model symbolically). With a
pipeline that changes per iteration (`shuffle(..., reshuffle_each_iteration=True)`, as
`tfcourse.data.load_splits` does) that shifts every epoch's order by one, so `fit` on 2
devices would train on other batches than `fit` on 1 device or a custom loop. `train`
therefore makes that warm-up draw on every path (fit on the default strategy, and the
custom loop). Keras also opens a spare iterator at each epoch end; so for a dataset of known
length `train` repeats it and runs `steps_per_epoch` steps per epoch from one iterator in both
loops. All four combinations (fit / custom, 1 / N devices) then see the same batches.
"""

import contextlib
import dataclasses
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfcourse._validation import check_one_of, check_positive_int
from tfcourse.training.custom_loop import custom_fit
from tfcourse.training.determinism import enable_determinism
from tfcourse.training.strategy import (
    SHARD_POLICIES,
    get_strategy,
    is_multi_worker,
    per_replica_batch_size,
    with_shard_policy,
)
from tfcourse.training.summaries import EpochSummariesCallback
from tfcourse.training.xla_choice import choose_jit_compile

LOOPS = ("auto", "fit", "custom")
JIT_COMPILE = (False, True, "auto")
PRECISIONS = (None, "auto", "float32", "mixed_float16", "mixed_bfloat16")


@dataclasses.dataclass
class TrainResult:
    """What `train` returns (lesson L11).

    model:         the trained Keras model (its variables live in `strategy`)
    history:       {"loss": [...], "accuracy": [...], "val_loss": [...], ...}, one value per
                   epoch run in this call
    strategy:      the tf.distribute.Strategy used
    loop:          "fit" or "custom"
    initial_epoch: the epoch this call started from (> 0 after resuming from a backup)
    per_replica_batch_size: examples each replica saw per step
    jit_compile:   whether XLA compiled the training step (the choice, with jit_compile="auto")
    xla_timings:   with jit_compile="auto", the measured median step times in seconds,
                   {"no_xla": ..., "xla": ...} (no "xla" if XLA failed to run; see
                   `choose_jit_compile`); None otherwise and under MultiWorkerMirroredStrategy
                   (where "auto" means False, unmeasured)
    """

    model: keras.Model
    history: dict
    strategy: tf.distribute.Strategy
    loop: str
    initial_epoch: int
    per_replica_batch_size: int
    jit_compile: bool = False
    xla_timings: dict | None = None


def resolve_mixed_precision(mixed_precision):
    """The dtype policy name for `mixed_precision` (lesson L11).

    None / "float32" -> "float32"; "auto" -> "mixed_float16" on a GPU, "mixed_bfloat16" on CPU.
    """
    check_one_of("mixed_precision", mixed_precision, PRECISIONS)
    if mixed_precision in (None, "float32"):
        return "float32"
    if mixed_precision == "auto":
        return "mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16"
    return mixed_precision


@contextlib.contextmanager
def _dtype_policy(name):
    """Build layers under dtype policy `name`, restoring the previous policy afterwards."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _as_dataset(data, global_batch_size, name):
    if data is None:
        return None
    if isinstance(data, tf.data.Dataset):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = (np.asarray(a) for a in data)
        if len(x) != len(y):
            raise ValueError(
                f"`{name}` arrays must have the same length. Received: {len(x)} images, {len(y)} labels"
            )
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch_size)
    raise ValueError(
        f"`{name}` must be a tf.data.Dataset of (x, y) batches or an (x, y) tuple of arrays. "
        f"Received: {name}={type(data).__name__}"
    )


def _resolve_metrics(metrics, label_spec, output_units):
    """Metric objects with fit-style names; "accuracy" picks the right accuracy variant."""
    resolved = []
    for metric in metrics:
        if isinstance(metric, keras.metrics.Metric):
            resolved.append(metric.__class__.from_config(metric.get_config()))
        elif metric in ("accuracy", "acc"):
            sparse = label_spec.shape.rank == 1 or label_spec.shape[-1] == 1
            if output_units == 1:
                resolved.append(keras.metrics.BinaryAccuracy(name="accuracy"))
            elif sparse:
                resolved.append(keras.metrics.SparseCategoricalAccuracy(name="accuracy"))
            else:
                resolved.append(keras.metrics.CategoricalAccuracy(name="accuracy"))
        elif isinstance(metric, str):
            found = keras.metrics.get(metric)
            if isinstance(found, keras.metrics.Metric):
                resolved.append(found)
            else:
                resolved.append(keras.metrics.MeanMetricWrapper(found, name=metric))
        else:
            raise ValueError(
                f"`metrics` must hold metric names or keras.metrics.Metric objects. Received: {metric!r}"
            )
    return resolved


def _make_optimizer(optimizer):
    """A fresh optimizer (created inside the strategy scope) from a name, instance or factory."""
    if isinstance(optimizer, str):
        return keras.optimizers.get(optimizer)
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return optimizer.__class__.from_config(optimizer.get_config())
    if callable(optimizer):
        made = optimizer()
        if isinstance(made, keras.optimizers.Optimizer):
            return made
    raise ValueError(
        "`optimizer` must be an optimizer name, a keras.optimizers.Optimizer or a function "
        f"returning one. Received: optimizer={optimizer!r}"
    )


def train(
    build_model,
    data,
    *,
    epochs,
    global_batch_size,
    strategy="auto",
    devices=None,
    validation_data=None,
    optimizer="adam",
    loss="sparse_categorical_crossentropy",
    metrics=("accuracy",),
    loop="auto",
    steps_per_execution=1,
    jit_compile=False,
    mixed_precision=None,
    seed=None,
    deterministic=False,
    shard_policy="data",
    tensorboard_dir=None,
    checkpoint_dir=None,
    backup_dir=None,
    callbacks=(),
    on_epoch_end=None,
    verbose=0,
):
    """Build, compile and train a model under a `tf.distribute` strategy (lesson L11).

    build_model:       function with no arguments returning an (uncompiled) Keras model; it is
                       called inside `strategy.scope()`.
    data:              finite tf.data.Dataset of (x, y) batches of `global_batch_size` (e.g.
                       `tfcourse.data.load_splits(batch_size=global_batch_size).train`), or
                       an (x, y) tuple of arrays (batched here, in order, not shuffled).
                       With a known length (`cardinality`), fit and the custom loop see the
                       same batches even if the pipeline reshuffles every epoch; for unknown
                       length (filter, generators) use `assert_cardinality` to get that.
    epochs:            total number of epochs (a resumed run continues up to this number).
    global_batch_size: examples per optimizer step over all replicas; must divide evenly
                       by the number of replicas (each replica gets the quotient).
    strategy:          "auto" | "default" | "one_device" | "mirrored" | "multi_worker" or a
                       tf.distribute.Strategy (see `get_strategy`); `devices` as there.
    optimizer:         name, Optimizer (re-created from its config inside the scope) or factory.
    loop:              "auto" (fit; custom under multi-worker) | "fit" | "custom".
    steps_per_execution: passed to `compile` (fit loop).
    jit_compile:       False | True | "auto": XLA for `compile` (fit) / the custom loop's
                       gradient function. Off by default: on CPU it made the small CNN 7-8x
                       slower (the MLP 1.3x faster). "auto" first times a few training steps
                       of throwaway models with and without XLA (`choose_jit_compile`), picks
                       the faster, and reports it as `result.jit_compile` / `result.xla_timings`
                       (printed when verbose). The measurement does not change the run: with
                       the same seed the weights equal those of `jit_compile=<the choice>`.
                       Under MultiWorkerMirroredStrategy "auto" is False, unmeasured (workers
                       could measure differently and must run the same program).
    mixed_precision:   None | "float32" | "auto" | "mixed_float16" | "mixed_bfloat16";
                       float16 gets dynamic loss scaling (LossScaleOptimizer).
    seed, deterministic: seed all RNGs; `deterministic=True` also enables op determinism
                       (needs `seed`), so two runs give bit-identical weights. tf.data
                       shuffles combine the global seed with their own, so seed
                       (`keras.utils.set_random_seed`) before building a shuffled dataset.
    shard_policy:      "data" | "file" | "auto" | "off", set on the dataset on purpose.
    tensorboard_dir, checkpoint_dir, backup_dir: TensorBoard logs, one `.keras` file per
                       epoch, and a backup from which a killed run resumes at the first
                       unfinished epoch (deleted when training finishes).
    callbacks:         extra Keras callbacks (fit loop only).
    on_epoch_end:      function(epoch, logs) called after each finished epoch (after its
                       backup is written), in both loops.
    """
    epochs = check_positive_int("epochs", epochs)
    global_batch_size = check_positive_int("global_batch_size", global_batch_size)
    steps_per_execution = check_positive_int("steps_per_execution", steps_per_execution)
    check_one_of("loop", loop, LOOPS)
    check_one_of("shard_policy", shard_policy, SHARD_POLICIES)
    if not (isinstance(jit_compile, bool) or (isinstance(jit_compile, str) and jit_compile == "auto")):
        # check_one_of's message, but 0 / 1 (equal to False / True) are refused too.
        options = ", ".join(repr(c) for c in JIT_COMPILE)
        raise ValueError(f"`jit_compile` must be one of {options}. Received: jit_compile={jit_compile!r}")
    policy = resolve_mixed_precision(mixed_precision)
    if not callable(build_model):
        raise ValueError(
            f"`build_model` must be a function returning a Keras model. Received: build_model={build_model!r}"
        )
    if deterministic and seed is None:
        raise ValueError("`seed` must be an integer when deterministic=True. Received: seed=None")

    strategy = get_strategy(strategy, devices=devices)
    if loop == "auto":
        loop = "custom" if is_multi_worker(strategy) else "fit"
    if loop == "fit" and is_multi_worker(strategy):
        raise ValueError(
            "`loop` must be 'custom' or 'auto' under MultiWorkerMirroredStrategy: Keras 3 "
            "`model.fit` fails there (keras-team/keras#20585). Received: loop='fit'"
        )
    if loop == "custom" and callbacks:
        raise ValueError(
            "`callbacks` are only supported with loop='fit'; the custom loop takes "
            f"tensorboard_dir, checkpoint_dir and backup_dir. Received: callbacks={list(callbacks)!r}"
        )
    replica_batch = per_replica_batch_size(global_batch_size, strategy)

    def seed_everything():
        if deterministic:
            enable_determinism(seed)
        elif seed is not None:
            keras.utils.set_random_seed(seed)

    seed_everything()
    xla_timings = None
    if jit_compile == "auto":
        choice = choose_jit_compile(
            build_model,
            data,
            global_batch_size=global_batch_size,
            strategy=strategy,
            optimizer=optimizer,
            loss=loss,
            loop=loop,
            mixed_precision=mixed_precision,
        )
        jit_compile, xla_timings = choice.jit_compile, choice.timings
        if verbose:
            print(f"jit_compile='auto' -> {jit_compile}: {choice.reason}", flush=True)
        seed_everything()  # the trial models drew from the RNGs: start over as without "auto"

    dataset = _as_dataset(data, global_batch_size, "data")
    # Known length: repeat it and run `steps_per_epoch` steps per epoch from ONE iterator in
    # both loops, so per-iteration pipeline state (reshuffling) advances identically.
    steps_per_epoch = int(dataset.cardinality())
    if steps_per_epoch == int(tf.data.INFINITE_CARDINALITY):
        raise ValueError(
            "`data` must be finite (one epoch = one pass); remove `.repeat()`. Received: an infinite dataset"
        )
    if steps_per_epoch > 0:
        dataset = dataset.repeat()
    else:
        steps_per_epoch = None
    dataset = with_shard_policy(dataset, shard_policy)
    validation = _as_dataset(validation_data, global_batch_size, "validation_data")
    if validation is not None:
        validation = with_shard_policy(validation, shard_policy)
    label_spec = dataset.element_spec[1]

    with strategy.scope():
        # Keras 3 `fit` draws one batch from a fresh iterator before training when the model
        # was built under a (non-default) strategy (see the module docstring).
        keras_warms_up = tf.distribute.has_strategy()
        with _dtype_policy(policy):
            model = build_model()
        if not isinstance(model, keras.Model):
            raise ValueError(f"`build_model` must return a keras.Model. Received: {type(model).__name__}")
        if not model.built:
            model.build(dataset.element_spec[0].shape)
        output_units = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
        compiled_metrics = _resolve_metrics(metrics, label_spec, output_units)
        model.compile(
            optimizer=_make_optimizer(optimizer),
            loss=loss,
            metrics=compiled_metrics,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
        )

    if loop == "custom":
        history, initial_epoch = custom_fit(
            model,
            dataset,
            epochs=epochs,
            strategy=strategy,
            loss=loss,
            steps_per_epoch=steps_per_epoch,
            metrics=compiled_metrics,
            validation_data=validation,
            backup_dir=backup_dir,
            checkpoint_dir=checkpoint_dir,
            tensorboard_dir=tensorboard_dir,
            jit_compile=jit_compile,
            epoch_callback=on_epoch_end,
            verbose=verbose,
        )
    else:
        if not keras_warms_up:
            next(iter(dataset), None)  # the same warm-up iteration as under a strategy
        all_callbacks = []
        if backup_dir is not None:
            all_callbacks.append(keras.callbacks.BackupAndRestore(str(backup_dir), double_checkpoint=True))
        if checkpoint_dir is not None:
            Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
            all_callbacks.append(keras.callbacks.ModelCheckpoint(str(Path(checkpoint_dir) / "epoch_{epoch:03d}.keras")))
        if tensorboard_dir is not None:
            all_callbacks.append(EpochSummariesCallback(tensorboard_dir))
        all_callbacks.extend(callbacks)
        if on_epoch_end is not None:
            all_callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end))
        fitted = model.fit(
            dataset,
            validation_data=validation,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            callbacks=all_callbacks,
            verbose=verbose,
            shuffle=False,
        )
        history = {key: [float(v) for v in values] for key, values in fitted.history.items()}
        initial_epoch = epochs - len(history.get("loss", []))
    return TrainResult(model, history, strategy, loop, initial_epoch, replica_batch, jit_compile, xla_timings)
