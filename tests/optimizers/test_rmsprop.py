import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.optimizers import RMSProp, RMSprop
from tfcourse.optimizers.reference import RMSPropRef

LR, RHO = 2.0**-5, 0.875  # float32-exact


def _constant_gradient_run(optimizer, steps):
    var = keras.Variable(np.array([1.0]), dtype="float64")
    for _ in range(steps):
        optimizer.apply_gradients([(tf.constant([1.0], dtype="float64"), var)])
    return float(var.numpy()[0])


def _closed_form(steps, momentum, centered, lr=0.25, rho=0.5, eps=1e-7):
    # dx = 1 at every step, x0 = 1:
    #   s_k = (1 - rho^k)                 (EWMA of 1, from 0)
    #   g_k = (1 - rho^k)                 (centered only)
    #   step_k = lr / sqrt(s_k - g_k^2 + eps) = lr / sqrt(rho^k (1 - rho^k) + eps)   if centered
    #   step_k = lr / sqrt(s_k + eps)                                                  otherwise
    #   m_k = momentum * m_{k-1} + step_k;  x -= m_k  (x -= step_k when momentum = 0)
    x, m = 1.0, 0.0
    for k in range(1, steps + 1):
        s = 1 - rho**k
        denom = np.sqrt(s - s**2 + eps) if centered else np.sqrt(s + eps)
        step = lr / denom
        m = momentum * m + step
        x -= m if momentum else step
    return x


@pytest.mark.parametrize("steps", [1, 5])
@pytest.mark.parametrize(
    "momentum, centered",
    [(0.0, False), (0.5, False), (0.0, True), (0.5, True)],
    ids=["plain", "momentum", "centered", "both"],
)
def test_golden_constant_gradient(steps, momentum, centered):
    opt = RMSprop(0.25, rho=0.5, momentum=momentum, epsilon=1e-7, centered=centered)
    np.testing.assert_allclose(_constant_gradient_run(opt, steps), _closed_form(steps, momentum, centered), rtol=1e-12)


def test_golden_first_step_by_hand():
    # s_1 = 0.5, x_1 = 1 - 0.25/sqrt(0.5000001) = 1 - 0.35355335... = 0.64644665
    np.testing.assert_allclose(_constant_gradient_run(RMSprop(0.25, rho=0.5), 1), 0.64644665, rtol=1e-7)
    # centered: s_1 - g_1^2 = 0.5 - 0.25 = 0.25 -> x_1 = 1 - 0.25/sqrt(0.2500001) = 0.5000001
    np.testing.assert_allclose(_constant_gradient_run(RMSprop(0.25, rho=0.5, centered=True), 1), 0.5000001, rtol=1e-7)


KWARGS = [{}, {"momentum": 0.9}, {"centered": True}, {"momentum": 0.5, "centered": True, "rho": 0.95}]
IDS = ["plain", "momentum", "centered", "momentum_centered"]


@pytest.mark.parametrize("kwargs", KWARGS, ids=IDS)
def test_parity_with_keras(kwargs, quadratic, mlp, rel_diff):
    assert rel_diff(quadratic(RMSprop(0.01, **kwargs)), quadratic(keras.optimizers.RMSprop(0.01, **kwargs))) <= 1e-6
    assert rel_diff(mlp(RMSprop(0.003, **kwargs)), mlp(keras.optimizers.RMSprop(0.003, **kwargs))) <= 1e-6


@pytest.mark.parametrize("momentum, centered", [(0.0, False), (0.875, False), (0.0, True), (0.5, True)])
def test_parity_with_notes_in_keras_convention(momentum, centered, quadratic, reference_run, rel_diff):
    ours = quadratic(RMSprop(LR, rho=RHO, momentum=momentum, centered=centered))
    ref = RMSPropRef(LR, RHO, 1e-7, epsilon_inside=True, momentum=momentum, centered=centered)
    assert rel_diff(ours, reference_run(ref)) <= 1e-12


def test_notes_form_epsilon_outside_the_root(quadratic, reference_run, rel_diff):
    # notes 000 / 001: eps outside the root. Coincides with ours as eps -> 0; at 1e-7 the
    # difference is O(eps / sqrt(cache)), tiny where gradients are O(1).
    assert rel_diff(quadratic(RMSprop(LR, rho=RHO, epsilon=1e-30)), reference_run(RMSPropRef(LR, RHO, 1e-30))) <= 1e-12
    diff = rel_diff(quadratic(RMSprop(LR, rho=RHO, epsilon=1e-7)), reference_run(RMSPropRef(LR, RHO, 1e-7)))
    assert 0 < diff <= 1e-5


def test_alias_and_slots():
    assert RMSProp is RMSprop
    var = keras.Variable(np.zeros(4, dtype="float32"))
    counts = []
    for kwargs in [{}, {"momentum": 0.5}, {"momentum": 0.5, "centered": True}]:
        opt = RMSprop(**kwargs)
        opt.build([var])
        counts.append(sum(tuple(v.shape) == (4,) for v in opt.variables))
    assert counts == [1, 2, 3]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rho": 1.0}, r"`rho` must be in \[0, 1\)\. Received: rho=1\.0"),
        ({"rho": -0.1}, r"`rho` must be in \[0, 1\)\. Received: rho=-0\.1"),
        ({"momentum": 1.5}, r"`momentum` must be in \[0, 1\)\. Received: momentum=1\.5"),
        ({"epsilon": -1e-7}, r"`epsilon` must be in \(0, inf\)\. Received: epsilon=-1e-07"),
        ({"learning_rate": 0.0}, r"`learning_rate` must be in \(0, inf\)\. Received: learning_rate=0\.0"),
        ({"centered": 1}, r"`centered` must be a bool .*Received: centered=1"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RMSprop(**kwargs)


def test_defaults_and_config_match_keras():
    ours, theirs = RMSprop().get_config(), keras.optimizers.RMSprop().get_config()
    assert {k: v for k, v in ours.items() if k != "name"} == {k: v for k, v in theirs.items() if k != "name"}
    opt = RMSprop(0.2, rho=0.8, momentum=0.3, centered=True, weight_decay=0.01)
    assert RMSprop.from_config(opt.get_config()).get_config() == opt.get_config()
