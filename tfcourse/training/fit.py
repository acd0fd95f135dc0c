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

Exact resume: `tfcourse.data.load_splits(...).train` carries its order as a function of
(seed, epoch); `train` then reads epoch e's batches from that function
(`tfcourse.data.epoch_stream`), starting at the epoch the backup (`backup_dir`,
`tfcourse.training.backup.TrainingBackup`) says, so a killed and restarted run sees the
batches, weights, optimizer state, RNG state and callbacks' state of the uninterrupted run.

    train = check arguments -> strategy, loop -> resolve jit_compile="auto" (throwaway models)
            -> build_and_compile (tfcourse.training.setup) -> data stream from the backup's
            epoch -> callbacks (checkpoints, summaries, user's, backup) -> fit or custom_fit
"""

import dataclasses
from pathlib import Path

import keras
import tensorflow as tf

from tfcourse._validation import check_one_of, check_positive_int
from tfcourse.data import epoch_stream
from tfcourse.training.backup import TrainingBackup
from tfcourse.training.custom_loop import custom_fit
from tfcourse.training.determinism import enable_determinism
from tfcourse.training.setup import PRECISIONS, as_dataset, build_and_compile, resolve_mixed_precision
from tfcourse.training.strategy import (
    SHARD_POLICIES,
    get_strategy,
    is_chief,
    is_multi_worker,
    per_replica_batch_size,
    with_shard_policy,
)
from tfcourse.training.summaries import EpochSummaries
from tfcourse.training.xla_choice import choose_jit_compile

LOOPS = ("auto", "fit", "custom")
JIT_COMPILE = (False, True, "auto")
__all__ = ["PRECISIONS", "TrainResult", "resolve_mixed_precision", "train"]


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
    tensorboard_dir, checkpoint_dir, backup_dir: Keras callbacks added on both loops:
                       epoch scalars for TensorBoard (`EpochSummaries`), one `.keras` file
                       per epoch (`keras.callbacks.ModelCheckpoint`), both written by the
                       chief worker only, and a backup of the whole training state
                       (`TrainingBackup`) from which a killed run resumes at the first
                       unfinished epoch (deleted when training finishes).
    callbacks:         extra Keras callbacks, run the same way by both loops (EarlyStopping,
                       LearningRateScheduler, ReduceLROnPlateau, your own ...); with
                       `backup_dir` their state is backed up and restored too.
    on_epoch_end:      function(epoch, logs) called after each finished epoch (after its
                       backup is written), in both loops.

    Exact resume: with `backup_dir`, a run killed at any moment and started again with the
    same call continues at the first unfinished epoch and, in deterministic mode, ends with
    bit-identical weights, when `data` is a `tfcourse.data.load_splits` train split (whose
    order is a function of (seed, epoch)) or an unshuffled pipeline. Other reshuffling
    pipelines restart their sequence of orders (same epochs, other batches).
    """
    epochs, global_batch_size, steps_per_execution = _check_arguments(
        build_model, epochs, global_batch_size, steps_per_execution, loop, shard_policy, jit_compile, seed, deterministic
    )
    policy = resolve_mixed_precision(mixed_precision)
    strategy = get_strategy(strategy, devices=devices)
    loop = _resolve_loop(loop, strategy)
    replica_batch = per_replica_batch_size(global_batch_size, strategy)

    _seed_everything(seed, deterministic)
    compile_options = dict(optimizer=optimizer, loss=loss, metrics=metrics, steps_per_execution=steps_per_execution)
    xla_timings = None
    if jit_compile == "auto":
        choice = choose_jit_compile(
            build_model, data, global_batch_size=global_batch_size, strategy=strategy, loop=loop,
            mixed_precision=mixed_precision, **compile_options,
        )  # fmt: skip
        jit_compile, xla_timings = choice.jit_compile, choice.timings
        if verbose:
            print(f"jit_compile='auto' -> {jit_compile}: {choice.reason}", flush=True)
        _seed_everything(seed, deterministic)  # the trial models drew from the RNGs: start over

    dataset = as_dataset(data, global_batch_size, "data")
    validation = as_dataset(validation_data, global_batch_size, "validation_data")
    if validation is not None:
        validation = with_shard_policy(validation, shard_policy)
    model, compiled_metrics = build_and_compile(
        build_model, strategy, dataset.element_spec, policy=policy, jit_compile=jit_compile, **compile_options
    )
    backup = TrainingBackup(backup_dir, strategy=strategy) if backup_dir is not None else None
    initial_epoch = backup.saved_epoch(epochs) if backup is not None else 0
    stream, steps_per_epoch, pure_order = _training_stream(dataset, initial_epoch)
    stream = with_shard_policy(stream, shard_policy)
    all_callbacks = _callbacks(strategy, checkpoint_dir, tensorboard_dir, callbacks, backup, on_epoch_end)
    run = dict(epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
               validation_data=validation, callbacks=all_callbacks, verbose=verbose)  # fmt: skip
    if loop == "custom":
        history, initial_epoch = custom_fit(
            model, stream, strategy=strategy, loss=loss, metrics=compiled_metrics, jit_compile=jit_compile,
            warm_up_iteration=not pure_order, **run,
        )  # fmt: skip
    else:
        with strategy.scope():
            keras_warms_up = tf.distribute.has_strategy()  # False for the default strategy
        if not (pure_order or keras_warms_up):
            next(iter(stream), None)  # the warm-up draw Keras makes under a strategy (module docstring)
        fitted = model.fit(stream, shuffle=False, **run)
        history = {key: [float(v) for v in values] for key, values in fitted.history.items()}
    return TrainResult(model, history, strategy, loop, initial_epoch, replica_batch, jit_compile, xla_timings)


def _check_arguments(build_model, epochs, global_batch_size, steps_per_execution, loop, shard_policy, jit_compile,
                     seed, deterministic):  # fmt: skip
    epochs = check_positive_int("epochs", epochs)
    global_batch_size = check_positive_int("global_batch_size", global_batch_size)
    steps_per_execution = check_positive_int("steps_per_execution", steps_per_execution)
    check_one_of("loop", loop, LOOPS)
    check_one_of("shard_policy", shard_policy, SHARD_POLICIES)
    if not (isinstance(jit_compile, bool) or (isinstance(jit_compile, str) and jit_compile == "auto")):
        # check_one_of's message, but 0 / 1 (equal to False / True) are refused too.
        options = ", ".join(repr(c) for c in JIT_COMPILE)
        raise ValueError(f"`jit_compile` must be one of {options}. Received: jit_compile={jit_compile!r}")
    if not callable(build_model):
        raise ValueError(
            f"`build_model` must be a function returning a Keras model. Received: build_model={build_model!r}"
        )
    if deterministic and seed is None:
        raise ValueError("`seed` must be an integer when deterministic=True. Received: seed=None")
    return epochs, global_batch_size, steps_per_execution


def _resolve_loop(loop, strategy):
    """"auto" -> fit, or the custom loop under MultiWorkerMirroredStrategy (keras#20585)."""
    if loop == "auto":
        return "custom" if is_multi_worker(strategy) else "fit"
    if loop == "fit" and is_multi_worker(strategy):
        raise ValueError(
            "`loop` must be 'custom' or 'auto' under MultiWorkerMirroredStrategy: Keras 3 "
            "`model.fit` fails there (keras-team/keras#20585). Received: loop='fit'"
        )
    return loop


def _seed_everything(seed, deterministic):
    if deterministic:
        enable_determinism(seed)
    elif seed is not None:
        keras.utils.set_random_seed(seed)


def _training_stream(dataset, initial_epoch):
    """(batches for all epochs from `initial_epoch` on, steps per epoch, order is pure).

    An epoch-ordered dataset (`load_splits(...).train`) gives epoch e's batches from (seed, e).
    Any other dataset of known length is repeated and read from ONE iterator in both loops,
    so per-iteration pipeline state (reshuffling) advances identically; unknown length runs
    each epoch over a fresh iterator until the data ends.
    """
    steps_per_epoch = int(dataset.cardinality())
    if steps_per_epoch == int(tf.data.INFINITE_CARDINALITY):
        raise ValueError(
            "`data` must be finite (one epoch = one pass); remove `.repeat()`. Received: an infinite dataset"
        )
    stream = epoch_stream(dataset, initial_epoch)
    if stream is not None and steps_per_epoch > 0:
        return stream, steps_per_epoch, True
    if steps_per_epoch > 0:
        return dataset.repeat(), steps_per_epoch, False
    return dataset, None, False


def _callbacks(strategy, checkpoint_dir, tensorboard_dir, user_callbacks, backup, on_epoch_end):
    """Engine callbacks around the user's: writers (chief only), then the backup, then on_epoch_end."""
    made = []
    if is_chief(strategy) and checkpoint_dir is not None:
        Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
        made.append(keras.callbacks.ModelCheckpoint(str(Path(checkpoint_dir) / "epoch_{epoch:03d}.keras")))
    if is_chief(strategy) and tensorboard_dir is not None:
        made.append(EpochSummaries(tensorboard_dir))
    made.extend(user_callbacks)
    if backup is not None:
        backup.callbacks = list(made)  # last among them: saves their state after they updated it
        made.append(backup)
    if on_epoch_end is not None:
        made.append(keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end))
    return made
