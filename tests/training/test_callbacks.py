"""Any Keras callback runs the same under `fit` and the custom loop, on 1 and 2 devices (L11)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.training import train

TWO = ["/cpu:0", "/cpu:1"]


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 10)).astype("float32")
    return x, x[:, :3].argmax(axis=1).astype("int64")


def _build():
    keras.utils.set_random_seed(7)
    return keras.Sequential(
        [keras.Input((10,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3, activation="softmax")]
    )


class HookRecorder(keras.callbacks.Callback):
    """A user callback: records which hooks ran, in order, and the epoch-end log keys."""

    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(f"epoch_begin {epoch}")

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(f"batch_end {batch} {sorted(logs)}")

    def on_test_begin(self, logs=None):
        self.events.append("test_begin")

    def on_test_end(self, logs=None):
        self.events.append(f"test_end {sorted(logs)}")

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(f"epoch_end {epoch} {sorted(logs)}")

    def on_train_end(self, logs=None):
        self.events.append("train_end")


def _run(loop, strategy, callbacks, epochs=6, **kwargs):
    return train(
        _build, _data(), epochs=epochs, global_batch_size=32, loop=loop, strategy=strategy,
        validation_data=_data(64, seed=1), optimizer="sgd", callbacks=callbacks, **kwargs,
    )  # fmt: skip


def _assert_same_run(with_fit, custom):
    assert set(custom.history) == set(with_fit.history)
    for key in with_fit.history:
        np.testing.assert_allclose(custom.history[key], with_fit.history[key], rtol=1e-5, atol=1e-6, err_msg=key)
    for a, b in zip(with_fit.model.get_weights(), custom.model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.fixture(params=["one_device", "two_devices"])
def strategy(request, two_cpu_strategy):
    return "default" if request.param == "one_device" else two_cpu_strategy


def test_early_stopping_and_lr_schedule_same_on_both_loops(strategy):
    def callbacks():
        return [
            # No epoch improves `val_loss` by 0.5: stop after epoch index 1 (patience 1).
            keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0.5, patience=1),
            keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.2 * 0.5**epoch),
        ]

    with_fit = _run("fit", strategy, callbacks())
    custom = _run("custom", strategy, callbacks())
    assert len(with_fit.history["loss"]) == len(custom.history["loss"]) == 2  # stopped early, not 6
    np.testing.assert_allclose(custom.history["learning_rate"], [0.2, 0.1], rtol=1e-6)
    assert float(keras.ops.convert_to_numpy(custom.model.optimizer.learning_rate)) == pytest.approx(0.1)
    _assert_same_run(with_fit, custom)


def test_without_early_stopping_all_epochs_run():
    """Negative control for the test above: the same run without EarlyStopping runs every epoch."""
    result = _run("custom", "default", [keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.2)], epochs=3)
    assert len(result.history["loss"]) == 3


def test_reduce_lr_on_plateau_and_user_callback_see_the_same_hooks(strategy):
    recorders = {"fit": HookRecorder(), "custom": HookRecorder()}
    results = {
        loop: _run(loop, strategy, [keras.callbacks.ReduceLROnPlateau("loss", factor=0.5, patience=0, min_delta=10),
                                    recorders[loop]], epochs=3)
        for loop in ("fit", "custom")
    }  # fmt: skip
    assert recorders["custom"].events == recorders["fit"].events
    assert recorders["custom"].events[:2] == ["train_begin", "epoch_begin 0"]
    assert "epoch_end 0 ['accuracy', 'learning_rate', 'loss', 'val_accuracy', 'val_loss']" in recorders["custom"].events
    # Epoch 0 improves on +inf; later epochs are plateaus (min_delta=10), so the rate halves at
    # the end of epoch 1 (logged before the reduction) and shows in epoch 2's logs.
    np.testing.assert_allclose(results["custom"].history["learning_rate"], [0.01, 0.01, 0.005], rtol=1e-6)
    np.testing.assert_allclose(results["fit"].history["learning_rate"], [0.01, 0.01, 0.005], rtol=1e-6)
    _assert_same_run(results["fit"], results["custom"])


def test_model_checkpoint_save_best_only_same_files(tmp_path):
    for loop in ("fit", "custom"):
        folder = tmp_path / loop
        folder.mkdir()
        checkpoint = keras.callbacks.ModelCheckpoint(str(folder / "best_{epoch}.keras"), monitor="val_loss",
                                                     save_best_only=True)  # fmt: skip
        _run(loop, "default", [checkpoint], epochs=3)
    names = sorted(p.name for p in (tmp_path / "fit").iterdir())
    assert names and names == sorted(p.name for p in (tmp_path / "custom").iterdir())


def _epoch_scalars(log_dir):
    """{(split, tag): [values by step]} read back from the TensorBoard event files."""
    found = {}
    for path in sorted(log_dir.rglob("events.out.tfevents*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                number = float(tf.make_ndarray(value.tensor))
                found.setdefault((path.parent.name, value.tag), {})[event.step] = number
    return {key: [steps[s] for s in sorted(steps)] for key, steps in found.items()}


@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_tensorboard_event_files_hold_the_epoch_scalars(tmp_path, loop):
    result = _run(loop, "default", [], epochs=2, tensorboard_dir=tmp_path / "tb")
    scalars = _epoch_scalars(tmp_path / "tb")
    assert set(scalars) == {("train", "epoch_loss"), ("train", "epoch_accuracy"),
                            ("validation", "epoch_loss"), ("validation", "epoch_accuracy")}  # fmt: skip
    np.testing.assert_allclose(scalars["train", "epoch_loss"], result.history["loss"], rtol=1e-6)
    np.testing.assert_allclose(scalars["validation", "epoch_accuracy"], result.history["val_accuracy"], rtol=1e-6)
