import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.optimizers import AdaGrad, Adagrad
from tfcourse.optimizers.reference import AdagradRef

LR = 2.0**-3  # float32-exact (Keras keeps the learning rate in a float32 variable)


def _constant_gradient_run(optimizer, steps, g=1.0):
    var = keras.Variable(np.array([1.0]), dtype="float64")
    for _ in range(steps):
        optimizer.apply_gradients([(tf.constant([g], dtype="float64"), var)])
    return float(var.numpy()[0])


@pytest.mark.parametrize("steps", [1, 5])
@pytest.mark.parametrize("initial", [0.1, 0.0], ids=["keras_init", "notes_init"])
def test_golden_constant_gradient(steps, initial):
    # Closed form for dx = g = 1, x0 = 1: cache_k = initial + k, so
    #   x_n = 1 - lr * sum_{k=1..n} 1 / sqrt(initial + k + eps)
    # e.g. initial=0.1, n=1: 1 - 0.25/sqrt(1.1000001) = 0.76163435...
    # (Keras's Constant initializer rounds the start value through float32: 0.1 -> 0.10000000149.)
    eps, start = 1e-7, float(np.float32(initial))
    want = 1 - 0.25 * sum(1 / np.sqrt(start + k + eps) for k in range(1, steps + 1))
    got = _constant_gradient_run(Adagrad(0.25, initial_accumulator_value=initial, epsilon=eps), steps)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    if steps == 1 and initial == 0.1:
        np.testing.assert_allclose(got, 0.7616343, rtol=1e-7)


@pytest.mark.parametrize(
    "kwargs", [{}, {"initial_accumulator_value": 0.0}, {"epsilon": 1e-3}], ids=["default", "zero_init", "big_eps"]
)
def test_parity_with_keras(kwargs, quadratic, mlp, rel_diff):
    assert rel_diff(quadratic(Adagrad(0.1, **kwargs)), quadratic(keras.optimizers.Adagrad(0.1, **kwargs))) <= 1e-6
    assert rel_diff(mlp(Adagrad(0.05, **kwargs)), mlp(keras.optimizers.Adagrad(0.05, **kwargs))) <= 1e-6


def test_parity_with_notes_in_keras_convention(quadratic, reference_run, rel_diff):
    ours = quadratic(Adagrad(LR, initial_accumulator_value=0.1, epsilon=1e-7))
    ref = AdagradRef(LR, 1e-7, epsilon_inside=True, initial_cache=float(np.float32(0.1)))
    assert rel_diff(ours, reference_run(ref)) <= 1e-12


def test_notes_form_epsilon_outside_the_root(quadratic, reference_run, rel_diff):
    # The notes: cache starts at 0, eps outside the root. With eps -> 0 the two placements
    # coincide (both are lr*dx/sqrt(cache)); at eps = 1e-7 they differ by O(eps/sqrt(cache)).
    ours_tiny = quadratic(Adagrad(LR, initial_accumulator_value=0.0, epsilon=1e-30))
    notes_tiny = reference_run(AdagradRef(LR, 1e-30, initial_cache=0.0))
    assert rel_diff(ours_tiny, notes_tiny) <= 1e-12
    ours = quadratic(Adagrad(LR, initial_accumulator_value=0.0, epsilon=1e-7))
    notes = reference_run(AdagradRef(LR, 1e-7, initial_cache=0.0))
    assert 0 < rel_diff(ours, notes) <= 1e-6


def test_alias_and_slot_initial_value():
    assert AdaGrad is Adagrad
    var = keras.Variable(np.zeros((2, 3), dtype="float32"))
    opt = Adagrad(initial_accumulator_value=0.25)
    opt.build([var])
    slots = [v for v in opt.variables if tuple(v.shape) == (2, 3)]
    assert len(slots) == 1
    np.testing.assert_array_equal(slots[0].numpy(), np.full((2, 3), 0.25))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"learning_rate": -0.1}, r"`learning_rate` must be in \(0, inf\)\. Received: learning_rate=-0\.1"),
        ({"epsilon": 0.0}, r"`epsilon` must be in \(0, inf\)\. Received: epsilon=0\.0"),
        (
            {"initial_accumulator_value": -1.0},
            r"`initial_accumulator_value` must be in \[0, inf\)\. Received: initial_accumulator_value=-1\.0",
        ),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Adagrad(**kwargs)


def test_defaults_and_config_match_keras():
    ours, theirs = Adagrad().get_config(), keras.optimizers.Adagrad().get_config()
    assert {k: v for k, v in ours.items() if k != "name"} == {k: v for k, v in theirs.items() if k != "name"}
    opt = Adagrad(0.2, initial_accumulator_value=0.3, epsilon=1e-5, global_clipnorm=2.0)
    assert Adagrad.from_config(opt.get_config()).get_config() == opt.get_config()
