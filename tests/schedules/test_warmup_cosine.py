"""WarmupCosine: golden values from the closed form, parity with Keras's CosineDecay warm-up."""

import math

import keras
import numpy as np
import pytest

from tfcourse.schedules import WarmupCosine


def closed_form(step, peak, total, warmup, initial, final):
    if step < warmup:
        return initial + (peak - initial) * step / warmup
    progress = min(1.0, (step - warmup) / (total - warmup))
    return final + (peak - final) * 0.5 * (1 + math.cos(math.pi * progress))


@pytest.mark.parametrize("warmup, initial, final", [(20, 0.0, 0.0), (0, 0.0, 0.001), (37, 0.002, 0.0005)])
def test_matches_the_closed_form(warmup, initial, final):
    schedule = WarmupCosine(0.01, 100, warmup_steps=warmup, initial_learning_rate=initial, final_learning_rate=final)
    for step in [0, 1, 10, 19, 20, 21, 36, 37, 50, 99, 100, 150]:
        expected = closed_form(step, 0.01, 100, warmup, initial, final)
        assert float(schedule(step)) == pytest.approx(expected, rel=1e-5, abs=1e-9), step


def test_shape_peak_at_end_of_warmup_and_zero_at_the_end():
    schedule = WarmupCosine(0.01, 195, warmup_steps=39)
    rates = np.array([float(schedule(s)) for s in range(196)])
    assert int(np.argmax(rates)) == 39 and rates[39] == pytest.approx(0.01)
    assert np.all(np.diff(rates[:40]) > 0) and np.all(np.diff(rates[39:]) <= 0)
    assert rates[0] == 0 and rates[-1] == pytest.approx(0, abs=1e-9)


def test_parity_with_keras_cosine_decay_warmup():
    ours = WarmupCosine(0.01, 200, warmup_steps=40)
    keras_schedule = keras.optimizers.schedules.CosineDecay(0.0, 160, warmup_target=0.01, warmup_steps=40)
    for step in range(0, 201, 7):
        assert float(ours(step)) == pytest.approx(float(keras_schedule(step)), rel=1e-5, abs=1e-8)


def test_config_round_trip_and_optimizer_use():
    schedule = WarmupCosine(0.02, 50, warmup_steps=5, initial_learning_rate=0.001, final_learning_rate=0.0001)
    restored = WarmupCosine.from_config(schedule.get_config())
    assert restored.get_config() == schedule.get_config()
    serialized = keras.optimizers.schedules.serialize(schedule)
    again = keras.optimizers.schedules.deserialize(serialized)
    assert isinstance(again, WarmupCosine) and float(again(7)) == pytest.approx(float(schedule(7)))
    optimizer = keras.optimizers.Adam(schedule)
    variable = keras.Variable(np.ones(3, np.float32))
    for _ in range(5):
        optimizer.apply_gradients([(np.ones(3, np.float32), variable)])
    assert float(optimizer.learning_rate) == pytest.approx(closed_form(5, 0.02, 50, 5, 0.001, 0.0001))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(peak_learning_rate=0, total_steps=10), r"`peak_learning_rate` must be in \(0, inf\)"),
        (dict(peak_learning_rate=0.1, total_steps=0), "`total_steps` must be an integer >= 1"),
        (dict(peak_learning_rate=0.1, total_steps=10, warmup_steps=10), "`warmup_steps` must be < total_steps"),
        (dict(peak_learning_rate=0.1, total_steps=10, warmup_steps=-1), "`warmup_steps` must be an integer >= 0"),
        (dict(peak_learning_rate=0.1, total_steps=10, final_learning_rate=-1),
         r"`final_learning_rate` must be in \[0, inf\)"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WarmupCosine(**kwargs)
