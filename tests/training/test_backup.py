"""Interrupt-and-resume: a run killed mid-epoch resumes at the first unfinished epoch (L11)."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.training import train

N, BATCH, EPOCHS = 96, 16, 3


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 12)).astype("float32")
    return x, x[:, :3].argmax(axis=1).astype("int64")


def _build():
    keras.utils.set_random_seed(5)
    return keras.Sequential(
        [keras.Input((12,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3, activation="softmax")]
    )


class _Crash(keras.callbacks.Callback):
    """Raise in the middle of epoch `epoch` (0-based), like a killed process."""

    def __init__(self, epoch, batch=2):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == self.batch:
            raise RuntimeError("simulated crash")


def test_fit_resumes_where_it_stopped(tmp_path):
    x, y = _data()
    kwargs = dict(epochs=EPOCHS, global_batch_size=BATCH, loop="fit", backup_dir=tmp_path / "backup")
    reference = train(_build, (x, y), epochs=EPOCHS, global_batch_size=BATCH, loop="fit")
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(_build, (x, y), callbacks=[_Crash(epoch=1)], **kwargs)
    resumed = train(_build, (x, y), **kwargs)
    assert resumed.initial_epoch == 1  # epoch 0 finished before the crash and is not redone
    assert len(resumed.history["loss"]) == EPOCHS - 1
    np.testing.assert_allclose(resumed.history["loss"], reference.history["loss"][1:], rtol=1e-6)
    for a, b in zip(resumed.model.get_weights(), reference.model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert train(_build, (x, y), **kwargs).initial_epoch == 0  # finished runs delete the backup


def _crashing_dataset(x, y, crash_at_batch):
    """The (x, y) batches, raising at global batch number `crash_at_batch` (mid-epoch)."""
    spec = (tf.TensorSpec((None, 12), tf.float32), tf.TensorSpec((None,), tf.int64))
    counter = iter(range(10**6))
    # A fresh generator per iteration: the warm-up draw (see tfcourse.training.fit), then one
    # per epoch; crash_at_batch counts batches over all of them.
    per_epoch = N // BATCH
    def epoch_gen():
        epoch = next(counter)
        for i in range(per_epoch):
            if epoch * per_epoch + i == crash_at_batch:
                raise RuntimeError("simulated crash")
            s = i * BATCH
            yield x[s : s + BATCH], y[s : s + BATCH]

    return tf.data.Dataset.from_generator(epoch_gen, output_signature=spec)


def test_custom_loop_resumes_where_it_stopped(tmp_path):
    x, y = _data()
    backup = tmp_path / "backup"
    kwargs = dict(epochs=EPOCHS, global_batch_size=BATCH, loop="custom", backup_dir=backup)
    reference = train(_build, (x, y), epochs=EPOCHS, global_batch_size=BATCH, loop="custom")
    with pytest.raises(Exception, match="simulated crash"):
        # Iteration 0 is the warm-up draw, 1 is epoch 1; crash at batch 2 of epoch 2.
        train(_build, _crashing_dataset(x, y, crash_at_batch=2 * (N // BATCH) + 2), **kwargs)
    assert json.loads((backup / "state.json").read_text())["epoch"] == 1
    resumed = train(_build, (x, y), **kwargs)
    assert resumed.initial_epoch == 1
    np.testing.assert_allclose(resumed.history["loss"], reference.history["loss"][1:], rtol=1e-6)
    for a, b in zip(resumed.model.get_weights(), reference.model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert not (backup / "state.json").exists()
