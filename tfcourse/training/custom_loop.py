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
`MultiWorkerMirroredStrategy`. It drives a `keras.callbacks.CallbackList` exactly where
`fit` calls its hooks, so any Keras callback (BackupAndRestore, ModelCheckpoint,
EarlyStopping, LearningRateScheduler, ReduceLROnPlateau, TensorBoard, your own) runs the
same under both loops:

    on_train_begin                     # BackupAndRestore may set the initial epoch here
    for epoch in initial_epoch .. epochs-1:
        reset metrics; on_epoch_begin(epoch)
        for step: on_train_batch_begin(step); train step; on_train_batch_end(step, logs)
                  stop if model.stop_training
        validation: on_test_begin, on_test_batch_begin/end, on_test_end(val logs)
        on_epoch_end(epoch, logs incl. val_*)    # e.g. EarlyStopping sets model.stop_training
        stop if model.stop_training (under several workers: if any worker says so)
    on_train_end(last epoch logs)
"""

import keras
import tensorflow as tf

from tfcourse.training.strategy import is_multi_worker


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
    callbacks=(),
    initial_epoch=0,
    jit_compile=False,
    warm_up_iteration=True,
    verbose=0,
):
    """Train `model` (built and compiled inside `strategy.scope()`) with the custom loop.

    Introduced in lesson L11. `dataset` yields (x, y) batches of the GLOBAL batch size with
    its auto-shard policy already set; it is distributed here with
    `strategy.experimental_distribute_dataset`. `metrics` are metric objects created in the
    strategy scope (named like fit's history keys). `callbacks` are Keras callbacks, called
    where `model.fit` calls them (see the module docstring); `initial_epoch` as in `fit`
    (a restoring BackupAndRestore overrides it, as in `fit`). Returns (history dict,
    initial_epoch).

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

    train_trackers = [loss_tracker, *metrics]
    val_trackers = [val_loss_tracker, *val_metrics]

    @tf.function
    def train_step(batch):
        x, y = batch
        # N, the examples in this global batch, summed over replicas (and workers) first:
        # one collective in cross-replica context, before the gradient all-reduce.
        n_global = strategy.reduce("SUM", strategy.run(local_count, args=(y,)), axis=None)
        strategy.run(train_replica_step, args=(x, y, n_global))
        return {t.name: t.result() for t in train_trackers}

    @tf.function
    def test_step(batch):
        strategy.run(test_replica_step, args=batch)
        return {t.name: t.result() for t in val_trackers}

    @tf.function
    def any_replica(flag):
        return strategy.reduce("SUM", strategy.run(tf.identity, args=(flag,)), axis=None)

    def results(trackers, strip=""):
        return {t.name[len(strip):] if t.name.startswith(strip) else t.name: float(t.result()) for t in trackers}

    def everyone_stops():
        """model.stop_training, agreed by all workers (a lone stop would hang the others' collectives)."""
        stop = bool(model.stop_training)
        if is_multi_worker(strategy):
            stop = bool(any_replica(tf.constant(1.0 if stop else 0.0)) > 0)
            model.stop_training = stop
        return stop

    dist_train = strategy.experimental_distribute_dataset(dataset)
    dist_val = (
        strategy.experimental_distribute_dataset(validation_data) if validation_data is not None else None
    )
    callback_list = keras.callbacks.CallbackList(
        list(callbacks),
        add_history=True,
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=epochs,
        steps=steps_per_epoch,
        model=model,
    )
    model.stop_training = False
    callback_list.on_train_begin()
    # Keras's protocol, as in `fit`: a restoring BackupAndRestore sets model._initial_epoch.
    initial_epoch = getattr(model, "_initial_epoch", None) or initial_epoch

    if warm_up_iteration:
        next(iter(dist_train), None)
    shared_iterator = iter(dist_train) if steps_per_epoch is not None else None
    epoch_logs = None
    for epoch in range(initial_epoch, epochs):
        for tracker in train_trackers:
            tracker.reset_state()
        callback_list.on_epoch_begin(epoch)
        batches = enumerate(dist_train) if shared_iterator is None else (
            (step, next(shared_iterator)) for step in range(steps_per_epoch)
        )
        for step, batch in batches:
            callback_list.on_train_batch_begin(step)
            logs = train_step(batch)
            callback_list.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        epoch_logs = results(train_trackers)
        if dist_val is not None:
            for tracker in val_trackers:
                tracker.reset_state()
            callback_list.on_test_begin()
            for step, batch in enumerate(dist_val):
                callback_list.on_test_batch_begin(step)
                logs = test_step(batch)
                callback_list.on_test_batch_end(step, logs)
            val_logs = results(val_trackers, strip="val_")
            callback_list.on_test_end(val_logs)
            epoch_logs.update({f"val_{name}": value for name, value in val_logs.items()})
        callback_list.on_epoch_end(epoch, epoch_logs)
        if everyone_stops():
            break
    if isinstance(optimizer, keras.optimizers.Optimizer) and epochs > initial_epoch:
        optimizer.finalize_variable_values(model.trainable_weights)
    callback_list.on_train_end(logs=epoch_logs)
    # The History callback holds the logs as every callback left them (e.g. "learning_rate").
    recorded = next(c for c in callback_list.callbacks if isinstance(c, keras.callbacks.History))
    history = {key: [float(v) for v in values] for key, values in recorded.history.items()}
    return history, initial_epoch
