"""EarlyStopping: identical to keras.callbacks.EarlyStopping on random scripted logs, and in fit/train."""

import warnings

import keras
import numpy as np
import pytest

from tfcourse.callbacks import EarlyStopping
from tfcourse.training import train

from .conftest import epoch_weights, tiny_model


def _drive(callback, model, script, monitor):
    """Run `callback` through the epochs of `script` as fit would: weights of epoch e are all e."""
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    last_epoch = None
    for epoch, value in enumerate(script):
        model.set_weights(epoch_weights(model, epoch))
        callback.on_epoch_begin(epoch)
        logs = {"loss": 1.0} if value is None else {"loss": 1.0, monitor: value}
        callback.on_epoch_end(epoch, logs)
        last_epoch = epoch
        if model.stop_training:
            break
    callback.on_train_end()
    return last_epoch, float(model.get_weights()[0].flat[0])


def _random_case(rng):
    monitor = str(rng.choice(["val_loss", "val_accuracy", "loss_like"]))
    mode = "auto" if monitor != "loss_like" and rng.random() < 0.5 else str(rng.choice(["min", "max"]))
    kwargs = dict(
        monitor=monitor,
        min_delta=float(rng.choice([0.0, 0.25, 0.5, 1.0])),
        patience=int(rng.integers(0, 5)),
        mode=mode,
        baseline=None if rng.random() < 0.5 else float(rng.integers(0, 9)) / 4,
        restore_best_weights=bool(rng.random() < 0.6),
        start_from_epoch=int(rng.choice([0, 0, 1, 3])),
    )
    # Values on a grid of quarters: ties and exact min_delta steps happen often, and float32
    # holds them exactly, so the test checks the boundary cases of the rule.
    script = list(rng.integers(0, 9, size=int(rng.integers(1, 14))) / 4)
    script = [None if rng.random() < 0.05 else float(v) for v in script]
    if rng.random() < 0.1:
        script[int(rng.integers(len(script)))] = float("nan")
    return kwargs, script


@pytest.mark.parametrize("seed", range(4))
def test_identical_to_keras_on_random_scripted_logs(seed):
    rng = np.random.default_rng(seed)
    ours_model, keras_model = tiny_model(), tiny_model()
    stopped_somewhere = restored_somewhere = 0
    for _ in range(75):
        kwargs, script = _random_case(rng)
        ours, theirs = EarlyStopping(**kwargs), keras.callbacks.EarlyStopping(**kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours_result = _drive(ours, ours_model, script, kwargs["monitor"])
            keras_result = _drive(theirs, keras_model, script, kwargs["monitor"])
        case = f"{kwargs} {script}"
        assert ours_result == keras_result, case  # same last epoch run, same final weights
        assert ours.stopped_epoch == theirs.stopped_epoch, case
        assert ours_model.stop_training == keras_model.stop_training, case
        assert ours.best_epoch == theirs.best_epoch, case
        stopped_somewhere += ours.stopped_epoch > 0
        restored_somewhere += kwargs["restore_best_weights"] and ours_result[1] != ours_result[0]
    # Negative control: the random cases do exercise stopping and restoring.
    assert stopped_somewhere > 8 and restored_somewhere > 8


def test_golden_script_stops_and_restores():
    # val_loss 3, 2, 2.5, 2.5, 2.5: best at epoch 1; patience 2 -> stops at epoch 3, weights of epoch 1.
    model = tiny_model()
    callback = EarlyStopping(patience=2, restore_best_weights=True)
    assert _drive(callback, model, [3.0, 2.0, 2.5, 2.5, 2.5], "val_loss") == (3, 1.0)
    assert callback.stopped_epoch == 3 and model.stop_training


def test_restores_best_weights_even_when_it_never_fired():
    model = tiny_model()
    callback = EarlyStopping(patience=10, restore_best_weights=True)
    last, weight = _drive(callback, model, [3.0, 1.0, 2.0, 2.5], "val_loss")
    assert (last, callback.stopped_epoch, model.stop_training) == (3, 0, False)
    assert weight == 1.0  # epoch 1's weights, not the last epoch's


def test_state_resets_between_fits():
    model = tiny_model()
    callback = EarlyStopping(patience=1)
    _drive(callback, model, [1.0, 2.0, 3.0], "val_loss")
    assert callback.stopped_epoch == 1
    assert _drive(callback, model, [5.0, 4.0, 3.0], "val_loss")[0] == 2  # fresh best, runs to the end
    assert callback.stopped_epoch == 0


def test_fit_matches_keras_on_a_real_run():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = rng.integers(0, 2, size=64)  # random labels: the validation loss soon rises
    results = []
    for callback_class in (EarlyStopping, keras.callbacks.EarlyStopping):
        keras.utils.set_random_seed(0)
        model = tiny_model(keras.optimizers.SGD(0.5))
        callback = callback_class(monitor="val_loss", patience=1, restore_best_weights=True)
        history = model.fit(x[:48], y[:48], validation_data=(x[48:], y[48:]), epochs=30, batch_size=8,
                            shuffle=False, verbose=0, callbacks=[callback])
        results.append((len(history.history["loss"]), callback.stopped_epoch, model.get_weights()))
    assert results[0][:2] == results[1][:2]
    assert 0 < results[0][1] < 29  # it fired
    for a, b in zip(results[0][2], results[1][2]):
        np.testing.assert_array_equal(a, b)


def test_train_fit_loop_under_two_cpu_strategy(two_cpu_strategy):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")

    def build():
        keras.utils.set_random_seed(2)
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])

    callback = EarlyStopping(monitor="loss", min_delta=10.0, patience=2)  # nothing improves by 10
    result = train(build, (x, y), epochs=10, global_batch_size=16, loop="fit", strategy=two_cpu_strategy,
                   callbacks=[callback])
    assert len(result.history["loss"]) == 3 and callback.stopped_epoch == 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(monitor=""), "`monitor` must be the name"),
        (dict(mode="up"), "`mode` must be one of 'auto', 'min', 'max'"),
        (dict(min_delta=float("nan")), "`min_delta` must be in"),
        (dict(patience=-1), "`patience` must be an integer >= 0"),
        (dict(patience=1.5), "`patience` must be an integer"),
        (dict(baseline="0.5"), "`baseline` must be a number or None"),
        (dict(restore_best_weights=1), "`restore_best_weights` must be a bool"),
        (dict(start_from_epoch=-2), "`start_from_epoch` must be an integer >= 0"),
    ],
)
def test_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EarlyStopping(**kwargs)


def test_auto_mode_refuses_an_unknown_direction():
    model = tiny_model()
    callback = EarlyStopping(monitor="val_something")
    callback.set_model(model)
    with pytest.raises(ValueError, match="Pass `mode='max'` or `mode='min'`"):
        callback.on_epoch_end(0, {"val_something": 1.0})
