"""The Hessian's eigenvalues: minimum, maximum or saddle [003] (lessons L03, L10).

Introduced in lesson L10 (lesson L03 classifies the critical points of its test surfaces).
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from tfcourse._validation import check_in_range, check_one_of, check_positive_int
from tfcourse.diagnostics._model_loss import model_losses

__all__ = ["HessianReport", "classify_critical_point", "hessian_eigenvalues"]

# Above this many parameters the exact Hessian (n x n, n gradient passes) gives way to
# Hessian-vector products.
EXACT_LIMIT = 2_000


def classify_critical_point(eigenvalues, tol=1e-6):
    """Classify a critical point: "minimum" (all > tol), "maximum" (all < -tol), "saddle" (both signs) or "degenerate".

    Introduced in lesson L03 (critical points of a surface), used again in lesson L10.
    """
    eigenvalues = np.asarray(eigenvalues)
    if np.all(eigenvalues > tol):
        return "minimum"
    if np.all(eigenvalues < -tol):
        return "maximum"
    if eigenvalues.min() < -tol and eigenvalues.max() > tol:
        return "saddle"
    return "degenerate"


@dataclasses.dataclass
class HessianReport:
    """What `hessian_eigenvalues` found. Introduced in lesson L10.

    eigenvalues: all of them, ascending (method "exact"), or (most negative, largest) ("power").
    kind: `classify_critical_point` of those. method: "exact" or "power". iterations: power steps used.
    """

    eigenvalues: np.ndarray
    kind: str
    method: str
    iterations: int = 0

    @property
    def smallest(self):
        return float(self.eigenvalues[0])

    @property
    def largest(self):
        return float(self.eigenvalues[-1])


def _flat_tools(loss_fn, variables):
    shapes = [v.shape for v in variables]
    sizes = [int(np.prod(s)) for s in shapes]

    def split(vector):
        return [tf.reshape(part, shape) for part, shape in zip(tf.split(vector, sizes), shapes)]

    def gradient():
        with tf.GradientTape() as tape:
            value = loss_fn()
        return tape.gradient(value, variables)

    def hvp(vector):
        """H v = d/dw (grad(w) . v): double backprop, never forming H."""
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                value = loss_fn()
            grads = inner.gradient(value, variables)
            dot = tf.add_n([tf.reduce_sum(g * t) for g, t in zip(grads, split(vector))])
        return tf.concat([tf.reshape(h, [-1]) for h in outer.gradient(dot, variables)], 0)

    return sum(sizes), hvp, gradient


def _power_iteration(apply, size, dtype, iterations, tol, rng):
    """The dominant eigenvalue of a symmetric operator (largest magnitude), by power iteration."""
    vector = tf.constant(rng.standard_normal(size), dtype)
    vector /= tf.norm(vector)
    value = 0.0
    for step in range(1, iterations + 1):
        image = apply(vector)
        new_value = float(tf.reduce_sum(vector * image))
        norm = tf.norm(image)
        if float(norm) == 0.0:
            return 0.0, step
        vector = image / norm
        if step > 1 and abs(new_value - value) <= tol * max(abs(new_value), 1.0):
            return new_value, step
        value = new_value
    return value, iterations


def hessian_eigenvalues(fn_or_model, variables=None, *, inputs=None, targets=None, loss=None, method="auto",
                        iterations=200, tol=1e-6, seed=0):
    """Eigenvalues of the Hessian of a loss, and what they say about the point. Lesson L10.

        exact (n <= 2000 parameters): H[i, j] = d2 f / dw_i dw_j by nested tapes; eigvalsh(H)
        power (any n): H v by double backprop (Pearlmutter), never forming H;
            lambda_max = power iteration on v -> H v (then the dominant one; if it is negative it
            is the most negative eigenvalue and the largest comes from H - lambda I, and vice versa)
        minimum: all eigenvalues > 0; maximum: all < 0; saddle: both signs [003]

    `fn_or_model` is a function of no arguments returning a scalar, with its `variables`, or a
    Keras model with `inputs`, `targets` and `loss` (checked in float64, at its current weights).
    Returns a `HessianReport`.
    """
    check_one_of("method", method, ("auto", "exact", "power"))
    check_positive_int("iterations", iterations)
    check_in_range("tol", tol, 0, None, low_inclusive=False)
    if isinstance(fn_or_model, keras.Model):
        model, parts = model_losses(fn_or_model, inputs, targets, loss, False, "float64")
        loss_fn, variables = parts["data loss"], model.trainable_variables
    elif callable(fn_or_model):
        if not variables:
            raise ValueError(f"`variables` must list the variables of `fn_or_model`. Received: variables={variables!r}")
        loss_fn = fn_or_model
    else:
        raise ValueError(f"`fn_or_model` must be a keras.Model or a callable. Received: fn_or_model={fn_or_model!r}")
    size, hvp, _ = _flat_tools(loss_fn, variables)
    dtype = variables[0].dtype
    if method == "exact" or (method == "auto" and size <= EXACT_LIMIT):
        hessian = np.stack([hvp(tf.one_hot(i, size, dtype=dtype)).numpy() for i in range(size)])
        eigenvalues = np.linalg.eigvalsh(0.5 * (hessian + hessian.T))
        return HessianReport(eigenvalues, classify_critical_point(eigenvalues, tol), "exact")
    rng = np.random.default_rng(seed)
    dominant, used = _power_iteration(hvp, size, dtype, iterations, tol, rng)
    other, more = _power_iteration(lambda v: hvp(v) - dominant * v, size, dtype, iterations, tol, rng)
    pair = sorted([dominant, other + dominant])
    eigenvalues = np.array(pair)
    return HessianReport(eigenvalues, classify_critical_point(eigenvalues, tol * max(1.0, abs(dominant))),
                         "power", used + more)
