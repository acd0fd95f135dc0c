"""ReduceLROnPlateau: the same learning-rate sequence as Keras's on random scripted logs."""

import warnings

import keras
import numpy as np
import pytest

import tfcourse
from tfcourse.callbacks import ReduceLROnPlateau
from tfcourse.training import train

from .conftest import tiny_model


def _learning_rates(callback, model, script, monitor):
    callback.set_model(model)
    model.optimizer.learning_rate = 1.0
    callback.on_train_begin()
    rates = []
    for epoch, value in enumerate(script):
        logs = {"loss": 1.0} if value is None else {"loss": 1.0, monitor: value}
        callback.on_epoch_end(epoch, logs)
        rates.append((logs["learning_rate"], float(model.optimizer.learning_rate)))
    return rates


def _random_case(rng):
    monitor = str(rng.choice(["val_loss", "val_accuracy", "score"]))
    mode = "auto" if monitor != "score" and rng.random() < 0.5 else str(rng.choice(["min", "max"]))
    kwargs = dict(
        monitor=monitor,
        factor=float(rng.choice([0.1, 0.5, 0.25])),
        patience=int(rng.integers(0, 4)),
        mode=mode,
        min_delta=float(rng.choice([0.0, 0.25, 0.5])),
        cooldown=int(rng.integers(0, 3)),
        min_lr=float(rng.choice([0.0, 0.01, 0.2])),
    )
    script = [None if rng.random() < 0.05 else float(v) for v in rng.integers(0, 9, size=int(rng.integers(1, 16))) / 4]
    return kwargs, script


@pytest.mark.parametrize("seed", range(3))
def test_same_learning_rates_as_keras_on_random_scripted_logs(seed):
    rng = np.random.default_rng(seed)
    ours_model, keras_model = tiny_model(), tiny_model()
    cuts = 0
    for _ in range(60):
        kwargs, script = _random_case(rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = _learning_rates(ReduceLROnPlateau(**kwargs), ours_model, script, kwargs["monitor"])
            theirs = _learning_rates(keras.callbacks.ReduceLROnPlateau(**kwargs), keras_model, script, kwargs["monitor"])
        assert ours == theirs, f"{kwargs} {script}"
        cuts += ours[-1][1] < 1.0
    assert cuts > 20  # negative control: the cases do cut the rate


def test_golden_halve_when_validation_error_stops_improving():
    # patience 1, factor 0.5, cooldown 2: cut at epoch 2, no cut at epoch 3 (cooling down),
    # cut again at epoch 4. (The counter is decremented before the check, as in Keras, so
    # cooldown=c blocks c - 1 epochs: with cooldown=1 epoch 3 would cut too.)
    model = tiny_model()
    callback = ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2, min_delta=0.0)
    rates = [after for _, after in _learning_rates(callback, model, [1.0, 0.5, 0.6, 0.7, 0.8, 0.4], "val_loss")]
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]


def test_min_lr_is_a_floor():
    model = tiny_model()
    callback = ReduceLROnPlateau(factor=0.1, patience=0, min_delta=0.0, min_lr=0.05)
    rates = [after for _, after in _learning_rates(callback, model, [1.0, 1.0, 1.0, 1.0], "val_loss")]
    np.testing.assert_allclose(rates, [1.0, 0.1, 0.05, 0.05], rtol=1e-6)


def test_train_fit_loop_under_two_cpu_strategy(two_cpu_strategy):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")

    def build():
        keras.utils.set_random_seed(2)
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])

    callback = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)  # never improves by 10
    result = train(build, (x, y), epochs=4, global_batch_size=16, loop="fit", strategy=two_cpu_strategy,
                   optimizer=lambda: tfcourse.optimizers.SGD(0.4), callbacks=[callback])
    np.testing.assert_allclose(result.history["learning_rate"], [0.4, 0.4, 0.2, 0.1], rtol=1e-6)
    assert float(keras.ops.convert_to_numpy(result.model.optimizer.learning_rate)) == pytest.approx(0.05)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(factor=1.0), "`factor` must be in \\[0, 1\\)"),
        (dict(patience=-1), "`patience` must be an integer >= 0"),
        (dict(cooldown=0.5), "`cooldown` must be an integer"),
        (dict(min_lr=-1e-3), "`min_lr` must be in \\[0, inf\\)"),
        (dict(mode="maximize"), "`mode` must be one of"),
    ],
)
def test_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ReduceLROnPlateau(**kwargs)
