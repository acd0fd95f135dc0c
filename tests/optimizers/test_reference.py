import numpy as np
import pytest

from tfcourse.optimizers.reference import AdamRef, MomentumRef, NesterovRef, RMSPropRef, keras_adam_epsilon


def test_nesterov_change_of_variables(quad_grad, reference_run, rel_diff):
    # notes 001 §4.3: the look-ahead form evaluates the gradient at x_ahead = x + mu*v; the
    # stored-parameter form keeps phi = x + mu*v instead. Run the look-ahead form literally
    # and check that its x_ahead sequence is the reference's trajectory.
    lr, mu = 0.02, 0.9
    x, v = np.array([2.0, 1.0, -1.0, 0.0]), 0.0
    aheads = [x + mu * v]
    for t in range(100):
        dx_ahead = quad_grad(x + mu * v, t)
        v = mu * v - lr * dx_ahead
        x = x + v
        aheads.append(x + mu * v)
    assert rel_diff(np.stack(aheads), reference_run(NesterovRef(lr, mu))) <= 1e-12


def test_unknown_momentum_form():
    with pytest.raises(ValueError, match="unknown momentum form 'heavy'"):
        MomentumRef(0.1, 0.9, form="heavy").step(np.zeros(2), np.ones(2))


def test_rmsprop_first_step_is_lr_over_sqrt_one_minus_rho():
    # s_1 = (1 - rho) dx^2, so the first step is lr * sign(dx) / sqrt(1 - rho) (eps -> 0).
    x = RMSPropRef(0.01, 0.9, 1e-30).step(np.array([0.0]), np.array([3.0]))
    np.testing.assert_allclose(x, [-0.01 / np.sqrt(0.1)], rtol=1e-12)


def test_adam_first_step_is_lr_sign():
    # m_hat_1 = dx, v_hat_1 = dx^2: the first Adam step is lr * dx / (|dx| + eps).
    x = AdamRef(0.1, eps=1e-30).step(np.array([1.0, 1.0]), np.array([5.0, -0.01]))
    np.testing.assert_allclose(x, [0.9, 1.1], rtol=1e-12)
    np.testing.assert_allclose(keras_adam_epsilon(1e-7, 0.999)(1), 1e-7 / np.sqrt(0.001))
