"""Monitors of notes 001 §3: golden values from known tensors and scripted logs."""

import json
import math

import keras
import numpy as np
import pytest

from tfcourse.callbacks import (
    ActivationMonitor,
    FilterImages,
    NaNGuard,
    SanityCheck,
    TrainingCurves,
    UpdateRatioMonitor,
    activation_statistics,
    filter_grid,
)
from tfcourse.training import train

from .conftest import tiny_model


def _classifier_data(n=64, classes=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, rng.integers(0, classes, size=n)


def _classifier(classes=5, kernel_scale=0.01):
    keras.utils.set_random_seed(0)
    init = keras.initializers.RandomNormal(stddev=kernel_scale)
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(classes, activation="softmax", kernel_initializer=init)])


# ---- SanityCheck ---------------------------------------------------------------------------

def test_sanity_check_passes_a_small_init_and_flags_a_large_one():
    x, y = _classifier_data()
    for scale, flagged in ((0.01, False), (10.0, True)):
        model = _classifier(kernel_scale=scale)
        model.compile("sgd", "sparse_categorical_crossentropy")
        check = SanityCheck(num_classes=5, action="stop")
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[check])
        assert check.chance_loss == pytest.approx(math.log(5))
        # Small weights: loss within 0.05 of ln 5 = 1.609; large weights: far off, stopped.
        assert (abs(check.first_loss - math.log(5)) < 0.05) is not flagged
        assert bool(check.problems) is flagged and model.stop_training is flagged


def test_sanity_check_detects_loss_stuck_at_chance():
    check = SanityCheck(num_classes=5, stuck_epochs=3)
    check.set_model(tiny_model())
    with pytest.warns(UserWarning, match="stuck at chance"):
        for epoch, loss in enumerate([1.609, 1.61, 1.608, 1.6094]):  # the notes' ln 5 symptom
            check.on_epoch_end(epoch, {"loss": loss})
    assert len(check.problems) == 1
    learning = SanityCheck(num_classes=5, stuck_epochs=3)
    learning.set_model(tiny_model())
    for epoch, loss in enumerate([1.609, 1.61, 1.2, 1.609, 0.9]):  # negative control: it moves
        learning.on_epoch_end(epoch, {"loss": loss})
    assert learning.problems == []


def test_sanity_check_first_batch_warning_is_a_warning():
    check = SanityCheck(num_classes=10)
    check.set_model(tiny_model())
    with pytest.warns(UserWarning, match="not near ln\\(10\\) = 2.3026"):
        check.on_train_batch_end(0, {"loss": 4.0})
    check.on_train_batch_end(1, {"loss": 9.0})  # only the first batch is judged
    assert check.first_loss == 4.0 and len(check.problems) == 1


# ---- UpdateRatioMonitor --------------------------------------------------------------------

def test_update_ratio_golden_value(tmp_path):
    # Dense(1, no bias), w = 1 (d = 4 inputs), x = 1, y = 0, mse: pred = 4, dL/dw_i = 2*4*1 = 8.
    # ||update|| = lr * 8 * sqrt(4), ||w|| = sqrt(4): ratio = 8 * lr = 8e-3 with lr = 1e-3.
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
    model.compile(keras.optimizers.SGD(1e-3), "mse")
    monitor = UpdateRatioMonitor(low=1e-4, high=1e-2, json_path=tmp_path / "ratios.json")
    history = model.fit(np.ones((8, 4), "float32"), np.zeros((8, 1), "float32"), batch_size=8, epochs=1,
                        verbose=0, callbacks=[monitor])
    path = model.layers[0].kernel.path
    assert monitor.history[0][path] == pytest.approx(8e-3, rel=1e-5)
    assert history.history[f"update_ratio/{path}"] == [pytest.approx(8e-3, rel=1e-5)]
    assert json.loads((tmp_path / "ratios.json").read_text())[0][path] == pytest.approx(8e-3, rel=1e-5)


def test_update_ratio_warns_outside_the_band():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
    model.compile(keras.optimizers.SGD(1.0), "mse")  # ratio 8: far too large
    with pytest.warns(UserWarning, match="outside \\[0.0001, 0.01\\]"):
        model.fit(np.ones((8, 4), "float32"), np.zeros((8, 1), "float32"), batch_size=8, epochs=1, verbose=0,
                  callbacks=[UpdateRatioMonitor()])


def test_update_ratio_under_two_cpu_strategy(two_cpu_strategy):
    def build():
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])

    monitor = UpdateRatioMonitor()
    train(build, (np.ones((16, 4), "float32"), np.zeros((16, 1), "float32")), epochs=2, global_batch_size=16,
          loop="fit", strategy=two_cpu_strategy, optimizer=lambda: keras.optimizers.SGD(1e-3), loss="mse",
          metrics=(), callbacks=[monitor])
    assert len(monitor.history) == 2
    assert list(monitor.history[0].values())[0] == pytest.approx(8e-3, rel=1e-5)


# ---- ActivationMonitor ---------------------------------------------------------------------

def test_activation_statistics_golden():
    # Units [2, 0, 1] on every example: mean 1, std sqrt(2/3), one of three units dead.
    outputs = np.tile([2.0, 0.0, 1.0], (4, 1))
    stats = activation_statistics(outputs, relu=True)
    assert stats == pytest.approx({"mean": 1.0, "std": math.sqrt(2 / 3), "dead_fraction": 1 / 3})
    assert activation_statistics(outputs, relu=False)["dead_fraction"] is None
    # A unit is dead only if zero on EVERY example (negative control).
    outputs[0, 1] = 0.5
    assert activation_statistics(outputs, relu=True)["dead_fraction"] == 0.0


def test_activation_monitor_on_known_weights(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="relu", name="hidden"),
                              keras.layers.Dense(1, name="out")])
    model.get_layer("hidden").set_weights([np.array([[1.0, -1.0, 0.5], [1.0, -1.0, 0.5]]), np.zeros(3)])
    monitor = ActivationMonitor(np.ones((4, 2), "float32"), log_dir=tmp_path / "tb")
    monitor.set_model(model)
    monitor.on_epoch_end(0)
    stats = monitor.history[0][1]
    assert stats["hidden"] == pytest.approx({"mean": 1.0, "std": math.sqrt(2 / 3), "dead_fraction": 1 / 3})
    assert stats["out"]["dead_fraction"] is None
    table = monitor.format_table()
    assert "hidden" in table and "33.3%" in table
    assert any((tmp_path / "tb").iterdir())  # the histogram event file


# ---- NaNGuard ------------------------------------------------------------------------------

def test_nan_guard_restores_the_last_good_weights_on_a_real_blow_up():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(64, 4)) * 100).astype("float32")
    y = rng.normal(size=(64, 1)).astype("float32") * 100
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(1e-5), "mse")
    guard = NaNGuard()

    class RaiseLearningRate(keras.callbacks.Callback):  # stable for 2 epochs, then diverges
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                self.model.optimizer.learning_rate = 10.0

    snapshots = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(model.get_weights()))
    model.fit(x, y, batch_size=8, epochs=6, verbose=0, callbacks=[RaiseLearningRate(), guard, record])
    assert guard.stopped_at is not None and guard.stopped_at[0] >= 2 and model.stop_training
    good = snapshots[guard.stopped_at[0] - 1]  # the last epoch that finished with a finite loss
    for restored, expected in zip(model.get_weights(), good):
        np.testing.assert_array_equal(restored, expected)
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_nan_guard_scripted():
    model = tiny_model()
    guard = NaNGuard()
    guard.set_model(model)
    guard.on_train_begin()
    start = model.get_weights()
    model.set_weights([w + 1 for w in start])
    guard.on_epoch_end(0, {"loss": 0.5})
    model.set_weights([w * np.nan for w in start])
    guard.on_epoch_begin(1)
    guard.on_train_batch_end(0, {"loss": 0.4})
    assert guard.stopped_at is None
    guard.on_train_batch_end(1, {"loss": float("inf")})
    assert guard.stopped_at == (1, 1) and model.stop_training
    for restored, original in zip(model.get_weights(), start):
        np.testing.assert_array_equal(restored, original + 1)


# ---- TrainingCurves ------------------------------------------------------------------------

def test_training_curves_plots_the_history(tmp_path):
    x, y = _classifier_data()
    model = _classifier()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    curves = TrainingCurves(tmp_path / "curves.png")
    history = model.fit(x[:48], y[:48], validation_data=(x[48:], y[48:]), batch_size=16, epochs=3, verbose=0,
                        callbacks=[curves])
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary file left behind
    fig = curves.draw()
    plotted = {line.get_label() + ax.get_ylabel(): list(line.get_ydata()) for ax in fig.axes for line in ax.lines}
    assert plotted["trainloss"] == pytest.approx(history.history["loss"])
    assert plotted["validationloss"] == pytest.approx(history.history["val_loss"])
    assert plotted["validationaccuracy"] == pytest.approx(history.history["val_accuracy"])


# ---- FilterImages --------------------------------------------------------------------------

def test_filter_grid_golden():
    kernel = np.zeros((2, 2, 1, 3))
    kernel[:, :, 0, 0] = [[0.0, 1.0], [2.0, 3.0]]  # scaled to 0, 1/3, 2/3, 1
    kernel[:, :, 0, 1] = 5.0  # constant -> 0.5
    kernel[:, :, 0, 2] = [[-1.0, 1.0], [1.0, -1.0]]
    grid = filter_grid(kernel, columns=2, padding=1)
    assert grid.shape == (2 * 3 + 1, 2 * 3 + 1)
    np.testing.assert_allclose(grid[1:3, 1:3], [[0, 1 / 3], [2 / 3, 1]])
    np.testing.assert_allclose(grid[1:3, 4:6], 0.5)
    np.testing.assert_allclose(grid[4:6, 1:3], [[0, 1], [1, 0]])
    np.testing.assert_allclose(grid[4:6, 4:6], 1.0)  # empty slot: padding colour
    assert grid[0].tolist() == [1.0] * 7


def test_filter_images_writes_the_first_conv_layer(tmp_path):
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, name="first"),
                              keras.layers.Conv2D(2, 3, name="second")])
    callback = FilterImages(tmp_path / "filters.png")
    callback.set_model(model)
    callback.on_train_end()
    grid = callback.write()
    assert grid.shape == (3 + 2, 4 * (3 + 1) + 1, 3)  # the 4 RGB 3x3 filters of "first", one row
    kernel = keras.ops.convert_to_numpy(model.get_layer("first").kernel)[:, :, :, 2]
    np.testing.assert_allclose(grid[1:4, 9:12], (kernel - kernel.min()) / (kernel.max() - kernel.min()), rtol=1e-6)
    assert (tmp_path / "filters.png").read_bytes()[:4] == b"\x89PNG"


# ---- validation ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: SanityCheck(num_classes=1), "`num_classes` must be an integer >= 2"),
        (lambda: SanityCheck(10, tolerance=0), "`tolerance` must be in \\(0, inf\\)"),
        (lambda: SanityCheck(10, action="raise"), "`action` must be one of 'warn', 'stop'"),
        (lambda: UpdateRatioMonitor(low=1e-2, high=1e-3), "`low` must be smaller than `high`"),
        (lambda: UpdateRatioMonitor(low=-1.0), "`low` must be in \\(0, inf\\)"),
        (lambda: ActivationMonitor(np.ones(3)), "`probe_x` must be a non-empty batch"),
        (lambda: ActivationMonitor(np.ones((2, 3)), every_epochs=0), "`every_epochs` must be an integer >= 1"),
        (lambda: NaNGuard(monitor=""), "`monitor` must be the name"),
        (lambda: TrainingCurves("x.png", metrics=()), "`metrics` must be a non-empty list"),
        (lambda: FilterImages("x.png", scale=0), "`scale` must be an integer >= 1"),
        (lambda: filter_grid(np.ones((3, 3, 1))), "`kernel` must have shape"),
    ],
)
def test_validation(make, message):
    with pytest.raises(ValueError, match=message):
        make()
