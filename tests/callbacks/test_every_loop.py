"""Every tfcourse callback behaves the same under `fit` and the custom loop, on one device and on
two logical devices (issue: callbacks on every training path). Two workers: test_multi_worker.py
runs tfcourse's EarlyStopping, ReduceLROnPlateau and LearningRateDecay on both workers."""

import keras
import numpy as np
import pytest

from tfcourse.callbacks import (
    ActivationMonitor,
    EarlyStopping,
    LearningRateDecay,
    NaNGuard,
    ReduceLROnPlateau,
    SanityCheck,
    TrainingCurves,
    UpdateRatioMonitor,
    WeightAveraging,
)
from tfcourse.schedules import EpochExponentialDecay
from tfcourse.training import train

EPOCHS, BATCH = 8, 16


def _data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 5)).astype("float32")
    return x, (x[:, :4].argmax(axis=1)).astype("int64")


def _build():
    keras.utils.set_random_seed(5)
    # Named layers: the update-ratio log keys carry the variable paths, equal in both runs.
    return keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu", name="hidden"),
                             keras.layers.Dense(4, activation="softmax", name="output")], name="net")  # fmt: skip


def _monitors(tmp_path):
    """Callbacks that only watch (and average): the run itself must not change with the loop."""
    return [SanityCheck(num_classes=4), UpdateRatioMonitor(low=1e-6, high=10.0, json_path=tmp_path / "ratios.json"),
            NaNGuard(), LearningRateDecay(EpochExponentialDecay(0.2, 0.5, steps_per_epoch=1)),
            WeightAveraging(k=2), ActivationMonitor(_data()[0][:16]), TrainingCurves(tmp_path / "curves.png")]  # fmt: skip


def _stoppers(tmp_path):
    """Callbacks that change the run: the learning rate halves on a plateau, training stops early."""
    return [ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=0.1),
            EarlyStopping(monitor="loss", min_delta=0.06, patience=1, restore_best_weights=True)]  # fmt: skip


def _numbers(tree):
    """Every number in nested dicts/lists/tuples, in a fixed order."""
    if isinstance(tree, dict):
        return [n for key in sorted(tree) for n in _numbers(tree[key])]
    if isinstance(tree, (list, tuple)):
        return [n for item in tree for n in _numbers(item)]
    return [] if tree is None else [float(tree)]  # None: a statistic that does not apply


def _run(loop, strategy, callbacks):
    return train(_build, _data(), epochs=EPOCHS, global_batch_size=BATCH, loop=loop, strategy=strategy,
                 optimizer=lambda: keras.optimizers.SGD(0.2), callbacks=callbacks)  # fmt: skip


@pytest.mark.parametrize(
    "make_callbacks, devices",
    [(_monitors, 2), (_stoppers, 1), (_stoppers, 2)],
    ids=["monitors-2", "stoppers-1", "stoppers-2"],
)
def test_same_history_and_weights_on_fit_and_custom_loop(devices, make_callbacks, tmp_path, request):
    strategy = request.getfixturevalue("two_cpu_strategy") if devices == 2 else "default"
    runs = {}
    for loop in ("fit", "custom"):
        callbacks = make_callbacks(tmp_path / loop)
        runs[loop] = (_run(loop, strategy, callbacks), callbacks)
    fit, custom = runs["fit"][0], runs["custom"][0]
    assert sorted(fit.history) == sorted(custom.history)
    for key in fit.history:
        np.testing.assert_allclose(custom.history[key], fit.history[key], rtol=1e-5, atol=1e-6, err_msg=key)
    for a, b in zip(custom.model.get_weights(), fit.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # Not vacuous: the callbacks acted in the run being compared.
    learning_rates = fit.history["learning_rate"]
    if make_callbacks is _monitors:
        np.testing.assert_allclose(learning_rates, 0.2 * 0.5 ** np.arange(EPOCHS), rtol=1e-6)
        assert any(key.startswith("update_ratio/net/hidden/kernel") for key in fit.history)
        assert (tmp_path / "custom" / "ratios.json").is_file() and (tmp_path / "custom" / "curves.png").is_file()
        activations = {loop: _numbers(runs[loop][1][5].history) for loop in runs}
        assert len(activations["fit"]) >= EPOCHS * 2  # statistics of both layers every epoch
        np.testing.assert_allclose(activations["custom"], activations["fit"], rtol=1e-5, atol=1e-6)
    else:
        stopper = runs["fit"][1][1]
        assert len(learning_rates) < EPOCHS and stopper.stopped_epoch > 0, "early stopping fired"
        assert min(learning_rates) < max(learning_rates) == pytest.approx(0.2), "the plateau rule lowered the rate"
        assert runs["custom"][1][1].stopped_epoch == stopper.stopped_epoch
