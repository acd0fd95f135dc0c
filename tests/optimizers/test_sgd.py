import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.optimizers import SGD
from tfcourse.optimizers.reference import MomentumRef, NesterovRef, SGDRef

# Keras casts the learning rate (a float32 variable) and Python-float hyperparameters through
# float32, so float64 comparisons at 1e-12 use values float32 holds exactly.
LR = 2.0**-6
MU = 0.875


def _constant_gradient_run(optimizer, steps, g=1.0, x0=1.0):
    var = keras.Variable(np.array([x0]), dtype="float64")
    for _ in range(steps):
        optimizer.apply_gradients([(tf.constant([g], dtype="float64"), var)])
    return float(var.numpy()[0])


# Keras keeps the learning rate in a float32 variable, so golden tests use learning rates
# that float32 holds exactly (powers of two) and compare float64 results at 1e-12.
# Hand-computed, constant gradient g=1, x0=1, lr=0.25, mu=0.5:
# plain:    x_k = 1 - 0.25*k                                  -> x_1 = 0.75, x_5 = -0.25
# momentum: v_k = -0.25*(1 - 0.5^k)/(1 - 0.5) = -0.5*(1 - 0.5^k)
#           sum_{k<=5} v_k = -0.5*(5 - (0.5+0.25+0.125+0.0625+0.03125)) = -2.015625
#           x_1 = 0.75, x_5 = 1 - 2.015625 = -1.015625
# nesterov: x += mu*v_k - lr*g: x_1 = 1 - 0.125 - 0.25 = 0.625
#           x_5 = 1 + 0.5*(-2.015625) - 5*0.25 = -1.2578125
@pytest.mark.parametrize(
    "momentum, nesterov, one_step, five_steps",
    [
        (0.0, False, 0.75, -0.25),
        (0.5, False, 0.75, -1.015625),
        (0.5, True, 0.625, -1.2578125),
    ],
    ids=["plain", "momentum", "nesterov"],
)
def test_golden_constant_gradient(momentum, nesterov, one_step, five_steps):
    make = lambda: SGD(0.25, momentum=momentum, nesterov=nesterov)  # noqa: E731
    np.testing.assert_allclose(_constant_gradient_run(make(), 1), one_step, rtol=1e-12)
    np.testing.assert_allclose(_constant_gradient_run(make(), 5), five_steps, rtol=1e-12)


def test_golden_quadratic_closed_form():
    # f = 0.5*x^2, lr = 0.125: x_k = 0.875^k x_0 (plain GD on a quadratic is geometric).
    var = keras.Variable(np.array([2.0]), dtype="float64")
    opt = SGD(0.125)
    for _ in range(5):
        opt.apply_gradients([(tf.identity(var.value), var)])
    np.testing.assert_allclose(var.numpy(), [2.0 * 0.875**5], rtol=1e-12)


def test_nesterov_golden_on_quadratic_uses_momentum():
    # f = 0.5*x^2 (dx = x), x0 = 1, lr = 0.125, mu = 0.5, by hand:
    # t1: v = -0.125;                      x = 1 + 0.5*(-0.125) - 0.125 = 0.8125
    # t2: v = 0.5*(-0.125) - 0.125*0.8125 = -0.1640625
    #     x = 0.8125 + 0.5*(-0.1640625) - 0.125*0.8125 = 0.62890625
    var = keras.Variable(np.array([1.0]), dtype="float64")
    opt = SGD(0.125, momentum=0.5, nesterov=True)
    expected = [0.8125, 0.62890625]
    for want in expected:
        opt.apply_gradients([(tf.identity(var.value), var)])
        np.testing.assert_allclose(var.numpy(), [want], rtol=1e-12)
    # ... and it is not plain momentum (0.875, then 0.875 - 0.0625 - 0.109375 = 0.703125).
    assert abs(var.numpy()[0] - 0.703125) > 0.05


@pytest.mark.parametrize(
    "kwargs", [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True}], ids=["plain", "momentum", "nesterov"]
)
def test_parity_with_keras(kwargs, quadratic, mlp, rel_diff):
    ours = quadratic(SGD(0.02, **kwargs))
    theirs = quadratic(keras.optimizers.SGD(0.02, **kwargs))
    assert rel_diff(ours, theirs) <= 1e-6
    assert rel_diff(mlp(SGD(0.05, **kwargs)), mlp(keras.optimizers.SGD(0.05, **kwargs))) <= 1e-6


@pytest.mark.parametrize(
    "kwargs, ref",
    [
        ({}, lambda: SGDRef(LR)),
        ({"momentum": MU}, lambda: MomentumRef(LR, MU, form="velocity")),
        ({"momentum": MU, "nesterov": True}, lambda: NesterovRef(LR, MU)),
    ],
    ids=["plain", "momentum", "nesterov"],
)
def test_parity_with_notes_pseudocode(kwargs, ref, quadratic, reference_run, rel_diff):
    # Nesterov: the notes' "x += -mu*v_prev + (1+mu)*v" equals Keras's "x += mu*v - lr*dx".
    assert rel_diff(quadratic(SGD(LR, **kwargs)), reference_run(ref())) <= 1e-12


def test_momentum_slots_only_when_needed():
    var = keras.Variable(np.zeros(3, dtype="float32"))
    plain, heavy = SGD(0.1), SGD(0.1, momentum=0.5)
    plain.build([var])
    heavy.build([var])
    assert len(plain.variables) < len(heavy.variables)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"learning_rate": 0.0}, r"`learning_rate` must be in \(0, inf\)\. Received: learning_rate=0\.0"),
        ({"learning_rate": -1}, r"`learning_rate` must be in \(0, inf\)\. Received: learning_rate=-1"),
        ({"momentum": 1.0}, r"`momentum` must be in \[0, 1\)\. Received: momentum=1\.0"),
        ({"momentum": -0.1}, r"`momentum` must be in \[0, 1\)\. Received: momentum=-0\.1"),
        ({"nesterov": "yes"}, r"`nesterov` must be a bool .*Received: nesterov='yes'"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SGD(**kwargs)


def test_defaults_match_keras():
    ours, theirs = SGD().get_config(), keras.optimizers.SGD().get_config()
    for key in theirs:
        if key != "name":
            assert ours[key] == theirs[key], key


def test_config_round_trip():
    opt = SGD(0.05, momentum=0.8, nesterov=True, clipnorm=1.0)
    clone = SGD.from_config(opt.get_config())
    assert clone.get_config() == opt.get_config()
