"""The one custom training loop of the course: GradientTape + strategy.run + tf.function.

Introduced in lesson L11. It gives the same numbers as `model.fit` on the same data,
under any strategy, because it follows the same arithmetic:

    for each global batch (split over R replicas, replica r holding n_r examples):
        N = all_reduce_sum(n_r)                            # the global batch size
        on replica r:
            per_example = loss_fn(y_r, model(x_r))          # reduction "none"
            loss_r = sum(per_example) / N + sum(model.losses) / R
            grads_r = d loss_r / d weights
        weights <- optimizer(sum_r grads_r)                # apply_gradients all-reduces
    reported loss = mean over every example of (mean(per_example_r) + sum(model.losses))
                    (as fit's loss tracker: each replica's batch mean weighted by n_r)

Dividing by the *global* batch size (not the replica's) is what keeps the summed
gradient equal to the single-device gradient; dividing by n_r would multiply it by R,
the classic custom-loop mismatch with `fit`.

Unlike `model.fit` in Keras 3.15 (keras-team/keras#20585), this loop also runs under
`MultiWorkerMirroredStrategy`. Backups (`backup_dir`) make a killed run resume at the
first unfinished epoch: every worker saves (non-chief workers into a scratch folder that
is then deleted), the chief's copy is the one restored.
"""

import json
import shutil
from pathlib import Path

import keras
import tensorflow as tf

from tfcourse._atomic import atomic_write_text
from tfcourse.training.strategy import is_chief, is_multi_worker
from tfcourse.training.summaries import EpochSummaries

_BACKUP_META = "backup.json"


def per_example_loss(loss):
    """A loss returning one value per example (reduction "none"), built from `loss`.

    Introduced in lesson L11. `loss` is a name ("sparse_categorical_crossentropy"), a
    `keras.losses.Loss` (cloned with reduction="none") or a function of (y_true, y_pred).
    """
    if isinstance(loss, str):
        loss = keras.losses.get(loss)
    if isinstance(loss, keras.losses.Loss):
        config = dict(loss.get_config())
        config["reduction"] = "none"
        return loss.__class__.from_config(config)
    if callable(loss):
        return loss
    raise ValueError(
        "`loss` must be a loss name, a keras.losses.Loss or a function. "
        f"Received: loss={loss!r}"
    )


class _Backup:
    """Epoch-level backup of model + optimizer + epoch counter with tf.train.Checkpoint."""

    def __init__(self, backup_dir, model, optimizer, strategy):
        self.dir = Path(backup_dir)
        self.strategy = strategy
        self.chief = is_chief(strategy)
        if is_multi_worker(strategy) and not self.chief:
            task_id = strategy.cluster_resolver.task_id
            self.write_dir = self.dir / f".scratch-worker-{task_id}"
        else:
            self.write_dir = self.dir
        self.checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)

    def restore(self):
        """Restore the latest backup (if any); return the epoch to start from."""
        meta_path = self.dir / _BACKUP_META
        if not meta_path.exists():
            return 0
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        self.checkpoint.read(str(self.dir / meta["checkpoint"])).assert_existing_objects_matched()
        return int(meta["epoch"])

    def save(self, epoch):
        """Back up after `epoch` finished epochs (every worker must call this)."""
        self.write_dir.mkdir(parents=True, exist_ok=True)
        name = f"ckpt-{epoch}"
        self.checkpoint.write(str(self.write_dir / name))
        if self.chief:
            # The metadata file is written last and atomically: it names only a complete checkpoint.
            meta = {"epoch": epoch, "checkpoint": name}
            atomic_write_text(self.dir / _BACKUP_META, json.dumps(meta) + "\n")
            for old in self.dir.glob("ckpt-*"):
                if not old.name.startswith(name + "."):
                    old.unlink()
        else:
            shutil.rmtree(self.write_dir, ignore_errors=True)

    def delete(self):
        """Remove the backup after a finished run, so the next run starts fresh."""
        if self.chief:
            (self.dir / _BACKUP_META).unlink(missing_ok=True)
            for old in self.dir.glob("ckpt-*"):
                old.unlink()


def custom_fit(
    model,
    dataset,
    *,
    epochs,
    strategy,
    loss,
    steps_per_epoch=None,
    metrics=(),
    validation_data=None,
    backup_dir=None,
    checkpoint_dir=None,
    tensorboard_dir=None,
    jit_compile=False,
    epoch_callback=None,
    warm_up_iteration=True,
    verbose=0,
):
    """Train `model` (built and compiled inside `strategy.scope()`) with the custom loop.

    Introduced in lesson L11. `dataset` yields (x, y) batches of the GLOBAL batch size with
    its auto-shard policy already set; it is distributed here with
    `strategy.experimental_distribute_dataset`. `metrics` are metric objects created in the
    strategy scope (named like fit's history keys). `epoch_callback(epoch, logs)` is called
    after each finished (and backed-up) epoch. Returns (history dict, initial_epoch).

    `steps_per_epoch=None` runs each epoch over a fresh iterator until the data ends; with
    a number, `dataset` must repeat and one iterator serves every epoch (what `train` does,
    matching `model.fit(dataset.repeat(), steps_per_epoch=...)` batch for batch).

    `warm_up_iteration=True` first draws one batch from a fresh iterator, as Keras 3's
    `model.fit` does under a strategy (to build the model symbolically). That advances
    per-iteration state of the pipeline (`shuffle(reshuffle_each_iteration=True)`, seeded
    augmentation), so with it both loops train on the same batches in the same order.
    """
    optimizer = model.optimizer
    loss_fn = per_example_loss(loss)
    with strategy.scope():
        loss_tracker = keras.metrics.Mean(name="loss")
        val_loss_tracker = keras.metrics.Mean(name="val_loss")
        val_metrics = [m.__class__.from_config(m.get_config()) for m in metrics]
        if not optimizer.built:
            optimizer.build(model.trainable_variables)

    def forward(x, y, training):
        """Per-replica loss terms (see module docstring) for one batch."""
        ctx = tf.distribute.get_replica_context()
        y_pred = model(x, training=training)
        y_pred = tf.nest.map_structure(lambda t: tf.cast(t, "float32"), y_pred)
        per_example = tf.cast(loss_fn(y, y_pred), "float32")
        n_local = tf.cast(tf.shape(per_example)[0], "float32")
        extra = tf.add_n([tf.cast(v, "float32") for v in model.losses]) if model.losses else 0.0
        return y_pred, per_example, n_local, extra, ctx.num_replicas_in_sync

    def gradients(x, y, n_global):
        with tf.GradientTape() as tape:
            y_pred, per_example, n_local, extra, replicas = forward(x, y, True)
            step_loss = tf.reduce_sum(per_example) / n_global + extra / replicas
            scaled = optimizer.scale_loss(step_loss)
        grads = tape.gradient(scaled, model.trainable_variables)
        return grads, y_pred, per_example, n_local, extra

    grad_fn = tf.function(gradients, jit_compile=True) if jit_compile else gradients

    def train_replica_step(x, y, n_global):
        grads, y_pred, per_example, n_local, extra = grad_fn(x, y, n_global)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        loss_tracker.update_state(tf.math.divide_no_nan(tf.reduce_sum(per_example), n_local) + extra, n_local)
        for metric in metrics:
            metric.update_state(y, y_pred)

    def test_replica_step(x, y):
        y_pred, per_example, n_local, extra, _ = forward(x, y, False)
        val_loss_tracker.update_state(
            tf.math.divide_no_nan(tf.reduce_sum(per_example), n_local) + extra, n_local
        )
        for metric in val_metrics:
            metric.update_state(y, y_pred)

    def local_count(y):
        return tf.cast(tf.shape(y)[0], "float32")

    @tf.function
    def train_step(batch):
        x, y = batch
        # N, the examples in this global batch, summed over replicas (and workers) first:
        # one collective in cross-replica context, before the gradient all-reduce.
        n_global = strategy.reduce("SUM", strategy.run(local_count, args=(y,)), axis=None)
        strategy.run(train_replica_step, args=(x, y, n_global))

    @tf.function
    def test_step(batch):
        strategy.run(test_replica_step, args=batch)

    dist_train = strategy.experimental_distribute_dataset(dataset)
    dist_val = (
        strategy.experimental_distribute_dataset(validation_data) if validation_data is not None else None
    )
    backup = _Backup(backup_dir, model, optimizer, strategy) if backup_dir is not None else None
    initial_epoch = backup.restore() if backup is not None else 0
    chief = is_chief(strategy)
    writer = EpochSummaries(tensorboard_dir) if (tensorboard_dir is not None and chief) else None

    if warm_up_iteration:
        next(iter(dist_train), None)
    shared_iterator = iter(dist_train) if steps_per_epoch is not None else None
    history = {}
    for epoch in range(initial_epoch, epochs):
        for tracker in [loss_tracker, *metrics]:
            tracker.reset_state()
        if shared_iterator is None:
            for batch in dist_train:
                train_step(batch)
        else:
            for _ in range(steps_per_epoch):
                train_step(next(shared_iterator))
        logs = {"loss": float(loss_tracker.result())}
        logs.update({m.name: float(m.result()) for m in metrics})
        if dist_val is not None:
            for tracker in [val_loss_tracker, *val_metrics]:
                tracker.reset_state()
            for batch in dist_val:
                test_step(batch)
            logs["val_loss"] = float(val_loss_tracker.result())
            logs.update({f"val_{m.name}": float(m.result()) for m in val_metrics})
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
        if writer is not None:
            writer.write(epoch, logs)
        if checkpoint_dir is not None and chief:
            path = Path(checkpoint_dir) / f"epoch_{epoch + 1:03d}.keras"
            path.parent.mkdir(parents=True, exist_ok=True)
            model.save(path)
        if backup is not None:
            backup.save(epoch + 1)
        if verbose:
            shown = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
            print(f"Epoch {epoch + 1}/{epochs} - {shown}", flush=True)
        if epoch_callback is not None:
            epoch_callback(epoch, logs)
    if backup is not None:
        backup.delete()
    if writer is not None:
        writer.close()
    return history, initial_epoch
