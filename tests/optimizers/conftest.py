"""Shared problems for the optimizer tests: a fixed noisy quadratic and a small float64 MLP.

Both return whole trajectories so a test can compare a tfcourse optimizer with its Keras
counterpart (or with the NumPy reference in `tfcourse.optimizers.reference`) step by step.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

# f(x) = 0.5 * (x - c)^T A (x - c), A symmetric positive definite and badly conditioned,
# plus a fixed gradient noise sequence (the "stochastic" in SGD), all float64.
_rng = np.random.default_rng(20261122)
_Q, _ = np.linalg.qr(_rng.normal(size=(4, 4)))
QUAD_A = _Q @ np.diag([10.0, 3.0, 1.0, 0.1]) @ _Q.T
QUAD_C = np.array([1.0, -2.0, 0.5, 3.0])
QUAD_NOISE = 0.3 * _rng.normal(size=(200, 4))
QUAD_X0 = np.array([2.0, 1.0, -1.0, 0.0])


def quadratic_grad(x, t):
    return QUAD_A @ (x - QUAD_C) + QUAD_NOISE[t]


def run_on_quadratic(optimizer, steps=100, x0=QUAD_X0, grad=quadratic_grad, dtype="float64"):
    """Apply `optimizer` for `steps` steps of `grad`; returns the (steps+1, n) trajectory."""
    var = keras.Variable(np.asarray(x0), dtype=dtype)
    trajectory = [np.array(var.numpy(), dtype="float64")]
    for t in range(steps):
        g = grad(np.array(var.numpy(), dtype="float64"), t)
        optimizer.apply_gradients([(tf.constant(g, dtype=dtype), var)])
        trajectory.append(np.array(var.numpy(), dtype="float64"))
    return np.stack(trajectory)


def run_reference(ref, steps=100, x0=QUAD_X0, grad=quadratic_grad):
    """Same as `run_on_quadratic` for a NumPy reference object with `step(x, dx)`."""
    x = np.array(x0, dtype="float64")
    trajectory = [x]
    for t in range(steps):
        x = ref.step(x, grad(x, t))
        trajectory.append(x)
    return np.stack(trajectory)


_MLP_X = _rng.normal(size=(64, 5))
_MLP_Y = np.sin(_MLP_X @ _rng.normal(size=(5, 1)))


def _mlp():
    keras.utils.set_random_seed(7)
    return keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(16, activation="tanh", dtype="float64"),
            keras.layers.Dense(1, dtype="float64"),
        ]
    )


def run_on_mlp(optimizer, steps=100, batch=16):
    """Train the fixed float64 MLP with `optimizer` on fixed mini-batches; final weights."""
    model = _mlp()
    x = tf.constant(_MLP_X)
    y = tf.constant(_MLP_Y)
    for t in range(steps):
        start = (t * batch) % len(_MLP_X)
        xb, yb = x[start : start + batch], y[start : start + batch]
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(xb) - yb))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return [w.numpy() for w in model.trainable_variables]


def max_rel_diff(a, b):
    """max |a - b| / max |b| over all arrays (a scale-aware relative difference)."""
    a = [np.asarray(x, dtype="float64") for x in (a if isinstance(a, list) else [a])]
    b = [np.asarray(x, dtype="float64") for x in (b if isinstance(b, list) else [b])]
    return max(float(np.max(np.abs(x - y)) / max(np.max(np.abs(y)), 1e-300)) for x, y in zip(a, b))


@pytest.fixture
def quadratic():
    return run_on_quadratic


@pytest.fixture
def reference_run():
    return run_reference


@pytest.fixture
def mlp():
    return run_on_mlp


@pytest.fixture
def rel_diff():
    return max_rel_diff


@pytest.fixture
def quad_grad():
    return quadratic_grad
