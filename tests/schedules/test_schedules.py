"""tfcourse.schedules: closed forms, parity with the Keras schedules, config round trips, training."""

import math

import keras
import numpy as np
import pytest

import tfcourse
from tfcourse.schedules import (
    EpochExponentialDecay,
    EpochInverseTimeDecay,
    ExponentialDecay,
    InverseTimeDecay,
    StepDecay,
)

STEPS = np.arange(0, 60)


def _values(schedule, steps=STEPS):
    return np.array([float(schedule(int(s))) for s in steps])


def test_step_decay_closed_form_halve_every_5():
    # per epoch: 0.1 for epochs 0-4, 0.05 for 5-9, 0.025 for 10-14 ...
    values = _values(StepDecay(0.1, factor=0.5, every_epochs=5), range(15))
    np.testing.assert_allclose(values, [0.1] * 5 + [0.05] * 5 + [0.025] * 5, rtol=1e-6)


def test_step_decay_counts_epochs_through_steps_per_epoch():
    # x0.1 every 20 epochs, 3 steps per epoch: the first drop happens at step 60.
    schedule = StepDecay(1.0, factor=0.1, every_epochs=20, steps_per_epoch=3)
    assert float(schedule(59)) == pytest.approx(1.0)
    assert float(schedule(60)) == pytest.approx(0.1)
    assert float(schedule(120)) == pytest.approx(0.01)


def test_step_decay_equals_keras_piecewise_constant():
    ours = StepDecay(0.2, factor=0.5, every_epochs=2, steps_per_epoch=3)
    boundaries = [6 * i for i in range(1, 10)]
    keras_schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
        boundaries=[b - 1 for b in boundaries],  # Keras switches after step > boundary
        values=[0.2 * 0.5**i for i in range(len(boundaries) + 1)],
    )
    np.testing.assert_allclose(_values(ours), _values(keras_schedule), rtol=1e-6)


def test_exponential_closed_form_and_keras_parity():
    ours = ExponentialDecay(0.1, k=0.05)
    np.testing.assert_allclose(_values(ours), 0.1 * np.exp(-0.05 * STEPS), rtol=1e-5)
    keras_schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=math.exp(-0.05))
    np.testing.assert_allclose(_values(ours), _values(keras_schedule), rtol=1e-5)


def test_inverse_time_closed_form_and_keras_parity():
    ours = InverseTimeDecay(0.1, k=0.5)
    np.testing.assert_allclose(_values(ours), 0.1 / (1 + 0.5 * STEPS), rtol=1e-6)
    keras_schedule = keras.optimizers.schedules.InverseTimeDecay(0.1, decay_steps=1, decay_rate=0.5)
    np.testing.assert_allclose(_values(ours), _values(keras_schedule), rtol=1e-6)


def test_epoch_inverse_time_closed_form_and_keras_parity():
    ours = EpochInverseTimeDecay(0.2, decay_rate=1.0, steps_per_epoch=4)
    epochs = STEPS // 4
    np.testing.assert_allclose(_values(ours), 0.2 / (1 + epochs), rtol=1e-6)
    keras_schedule = keras.optimizers.schedules.InverseTimeDecay(0.2, decay_steps=4, decay_rate=1.0, staircase=True)
    np.testing.assert_allclose(_values(ours), _values(keras_schedule), rtol=1e-6)


def test_epoch_exponential_closed_form_and_keras_parity():
    ours = EpochExponentialDecay(0.2, base=0.95, steps_per_epoch=4)
    np.testing.assert_allclose(_values(ours), 0.2 * 0.95 ** (STEPS // 4), rtol=1e-5)
    keras_schedule = keras.optimizers.schedules.ExponentialDecay(0.2, decay_steps=4, decay_rate=0.95, staircase=True)
    np.testing.assert_allclose(_values(ours), _values(keras_schedule), rtol=1e-6)


def test_negative_control_step_decay_is_not_constant():
    values = _values(StepDecay(0.1, factor=0.5, every_epochs=5), range(15))
    assert not np.allclose(values, 0.1)


SCHEDULES = [
    StepDecay(0.1, factor=0.1, every_epochs=20, steps_per_epoch=7, name="step"),
    ExponentialDecay(0.1, k=0.01),
    InverseTimeDecay(0.1, k=0.01),
    EpochInverseTimeDecay(0.1, decay_rate=0.5, steps_per_epoch=3),
    EpochExponentialDecay(0.1, base=0.9, steps_per_epoch=3),
]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: type(s).__name__)
def test_get_config_round_trip(schedule):
    config = schedule.get_config()
    clone = type(schedule).from_config(config)
    assert clone.get_config() == config
    np.testing.assert_allclose(_values(clone), _values(schedule))
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert type(restored) is type(schedule)
    np.testing.assert_allclose(_values(restored), _values(schedule))


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("optimizer_class", [tfcourse.optimizers.SGD, keras.optimizers.SGD], ids=["tfcourse", "keras"])
def test_trains_with_tfcourse_and_keras_optimizers(schedule, optimizer_class):
    optimizer = optimizer_class(learning_rate=schedule)
    var = keras.Variable(np.array([1.0], dtype="float32"))
    expected = 1.0
    for step in range(5):
        optimizer.apply_gradients([(keras.ops.ones_like(var), var)])
        expected -= float(schedule(step))  # gradient 1: x -= lr(step)
    np.testing.assert_allclose(var.numpy(), [expected], rtol=1e-6)
    assert float(optimizer.learning_rate) == pytest.approx(float(schedule(5)), rel=1e-6)


def test_saved_model_file_round_trip(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=tfcourse.optimizers.SGD(StepDecay(0.1, every_epochs=2, steps_per_epoch=5)), loss="mse")
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    schedule = loaded.optimizer.get_config()["learning_rate"]
    assert isinstance(keras.saving.deserialize_keras_object(schedule), StepDecay)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: StepDecay(0.0), "`initial_learning_rate` must be in"),
        (lambda: StepDecay(0.1, factor=1.0), "`factor` must be in \\(0, 1\\)"),
        (lambda: StepDecay(0.1, every_epochs=0), "`every_epochs` must be an integer >= 1"),
        (lambda: StepDecay(0.1, steps_per_epoch=2.5), "`steps_per_epoch` must be an integer"),
        (lambda: ExponentialDecay(0.1, k=-1.0), "`k` must be in \\[0, inf\\)"),
        (lambda: InverseTimeDecay(-0.1, k=1.0), "`initial_learning_rate` must be in"),
        (lambda: EpochInverseTimeDecay(0.1, decay_rate=-0.5), "`decay_rate` must be in"),
        (lambda: EpochExponentialDecay(0.1, base=1.5), "`base` must be in \\(0, 1\\]"),
        (lambda: EpochExponentialDecay(0.1, base=0.0), "`base` must be in \\(0, 1\\]"),
    ],
)
def test_validation(make, message):
    with pytest.raises(ValueError, match=message):
        make()
