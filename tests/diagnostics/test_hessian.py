"""hessian_eigenvalues on quadratics with known eigenvalues, and on a small MNIST-shaped MLP."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.diagnostics import classify_critical_point, hessian_eigenvalues


def _quadratic(eigenvalues, seed=0):
    """f(w) = 0.5 (w - c)^T A (w - c) with A = Q diag(eigenvalues) Q^T, at a random w."""
    rng = np.random.RandomState(seed)
    q, _ = np.linalg.qr(rng.randn(len(eigenvalues), len(eigenvalues)))
    a = tf.constant(q @ np.diag(eigenvalues) @ q.T)
    w = tf.Variable(rng.randn(len(eigenvalues)))
    center = tf.constant(rng.randn(len(eigenvalues)))
    return (lambda: 0.5 * tf.tensordot(w - center, tf.linalg.matvec(a, w - center), 1)), [w]


@pytest.mark.parametrize("eigenvalues, kind", [([1.0, 3.0, 50.0], "minimum"), ([-2.0, -0.5, -7.0], "maximum"),
                                               ([-2.0, 2.0, 0.5], "saddle")])
def test_exact_eigenvalues_of_a_quadratic(eigenvalues, kind):
    fn, variables = _quadratic(eigenvalues)
    report = hessian_eigenvalues(fn, variables, method="exact")
    np.testing.assert_allclose(report.eigenvalues, sorted(eigenvalues), atol=1e-10)
    assert report.kind == kind and report.method == "exact"


@pytest.mark.parametrize("eigenvalues", [[0.5, 1.0, 4.0, 9.0, -3.0, 2.0], [-10.0, -1.0, -2.0, 0.3]])
def test_power_iteration_finds_both_ends(eigenvalues):
    fn, variables = _quadratic(eigenvalues, seed=1)
    report = hessian_eigenvalues(fn, variables, method="power", iterations=2000, tol=1e-12)
    np.testing.assert_allclose([report.smallest, report.largest], [min(eigenvalues), max(eigenvalues)], rtol=1e-4)
    assert report.kind == classify_critical_point(eigenvalues)


def test_classify_degenerate_and_bands():
    assert classify_critical_point([0.0, 1.0]) == "degenerate"
    assert classify_critical_point([1e-9, 1.0], tol=1e-6) == "degenerate"
    assert classify_critical_point([-1.0, 1.0]) == "saddle"


def test_model_power_matches_exact_on_a_small_mlp():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(3)])
    rng = np.random.RandomState(0)
    x, y = rng.randn(16, 6), rng.randint(0, 3, 16)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    exact = hessian_eigenvalues(model, inputs=x, targets=y, loss=loss, method="exact")
    power = hessian_eigenvalues(model, inputs=x, targets=y, loss=loss, method="power", iterations=3000, tol=1e-12)
    assert len(exact.eigenvalues) == 6 * 4 + 4 + 4 * 3 + 3
    np.testing.assert_allclose(power.largest, exact.largest, rtol=1e-4)
    np.testing.assert_allclose(power.smallest, exact.smallest, rtol=1e-3, atol=1e-6)
    # Near a random init the loss surface has negative curvature: a saddle region, not a minimum.
    assert exact.smallest < 0 < exact.largest and exact.kind == "saddle"


def test_clear_errors():
    with pytest.raises(ValueError, match="`method` must be one of"):
        hessian_eigenvalues(lambda: 0.0, [tf.Variable(1.0)], method="lanczos")
    with pytest.raises(ValueError, match="`variables` must list"):
        hessian_eigenvalues(lambda: 0.0)
    with pytest.raises(ValueError, match="`iterations` must be an integer >= 1"):
        hessian_eigenvalues(lambda: 0.0, [tf.Variable(1.0)], iterations=0)
