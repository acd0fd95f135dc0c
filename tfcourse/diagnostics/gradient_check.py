"""Gradient checking: analytic gradients against centered finite differences [001 §1].

Introduced in lesson L10.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from tfcourse._validation import check_in_range, check_one_of, check_positive_int
from tfcourse.diagnostics._model_loss import model_losses

__all__ = ["GradientCheckReport", "gradient_check", "relative_error", "verdict"]

# The notes' bands for the relative error [001 §1], most severe first.
VERDICT_BANDS = (
    (1e-2, "wrong"),
    (1e-4, "suspicious"),
    (1e-7, "fine for kinked activations"),
    (0.0, "good"),
)
# Below this magnitude both gradients count as zero (float64 round-off of a loss of order 1
# divided by 2h is ~1e-10); without a floor 1e-20 vs 0 would read as a 100% error.
ZERO_FLOOR = 1e-8


def relative_error(analytic, numeric, floor=ZERO_FLOOR):
    """|a - n| / max(|a|, |n|), the notes' measure; 0 when both are below `floor`. Lesson L10."""
    scale = max(abs(analytic), abs(numeric))
    return 0.0 if scale < floor else abs(analytic - numeric) / scale


def verdict(error):
    """The notes' band for a relative error: wrong > 1e-2 > suspicious > 1e-4 > fine for kinked
    activations > 1e-7 > good [001 §1]. Introduced in lesson L10."""
    return next(label for bound, label in VERDICT_BANDS if error > bound or bound == 0.0)


@dataclasses.dataclass
class GradientCheckReport:
    """What `gradient_check` found. Introduced in lesson L10.

    rows: one dict per checked coordinate (part, variable, index, analytic, numeric,
    relative_error, verdict, kink). A kink row is a coordinate whose f(x+h) and f(x-h) lie on
    two sides of a kink (ReLU, max-pool, maxout): its one-sided difference matches the analytic
    gradient while the centered one does not; it is reported, not counted as an error.
    `max_error` is the worst relative error over the other rows, `passed` is max_error < 1e-4
    (the notes' "fine for kinked activations" or better).
    """

    rows: list
    dtype: str
    step: float

    @property
    def checked_rows(self):
        return [r for r in self.rows if not r["kink"]]

    @property
    def kinks(self):
        return [r for r in self.rows if r["kink"]]

    @property
    def max_error(self):
        return max((r["relative_error"] for r in self.checked_rows), default=0.0)

    @property
    def verdict(self):
        return verdict(self.max_error)

    @property
    def passed(self):
        return self.max_error < 1e-4

    def per_variable(self):
        """(part, variable) -> (coordinates checked, worst relative error, kinks)."""
        table = {}
        for r in self.rows:
            count, worst, kinks = table.get((r["part"], r["variable"]), (0, 0.0, 0))
            error = 0.0 if r["kink"] else r["relative_error"]
            table[(r["part"], r["variable"])] = (count + 1, max(worst, error), kinks + r["kink"])
        return table

    def __str__(self):
        lines = [f"gradient check ({self.dtype}, h={self.step:g}): {'passed' if self.passed else 'FAILED'}, "
                 f"worst relative error {self.max_error:.2e} ({self.verdict}), {len(self.kinks)} kink crossing(s)",
                 f"{'part':<15} {'variable':<40} {'checked':>7} {'worst error':>12}  {'verdict':<28} kinks"]
        for (part, name), (count, worst, kinks) in self.per_variable().items():
            lines.append(f"{part:<15} {name:<40} {count:>7} {worst:>12.2e}  {verdict(worst):<28} {kinks}")
        return "\n".join(lines)


def _coordinates(variable, samples, rng):
    """Every coordinate of a bias (1-D, at most 50), else a random sample of `samples`."""
    size = int(np.prod(variable.shape))
    count = min(size, 50) if len(variable.shape) <= 1 else min(samples, size)
    return [np.unravel_index(i, variable.shape) for i in sorted(rng.choice(size, count, replace=False))]


def gradient_check(model_or_fn, inputs=None, targets=None, *, loss=None, variables=None, training=False,
                   samples=10, step=1e-6, dtype="float64", seed=0):
    """Check tape gradients against centered differences [001 §1]. Introduced in lesson L10.

        numeric = (f(w + h) - f(w - h)) / (2h)          # per coordinate, h in [1e-6, 1e-4]
        relative_error = |analytic - numeric| / max(|analytic|, |numeric|)
        verdict: > 1e-2 wrong, > 1e-4 suspicious, > 1e-7 fine for kinked activations, else good

    `model_or_fn` is a Keras model (rebuilt in `dtype` with the same weights; checked on
    `loss(targets, model(inputs))` and apart from it on the regularization losses), or a function
    of no arguments returning a scalar loss, with the `variables` to check. Every coordinate of
    each bias and `samples` random coordinates of each other variable are checked. Dropout and
    other random layers see the same seeds in every evaluation (their generator state is
    restored), as do batch-norm statistics. Returns a `GradientCheckReport`.
    """
    check_positive_int("samples", samples)
    check_in_range("step", step, 0, 1e-2, low_inclusive=False)
    check_one_of("dtype", dtype, ("float64", "float32"))
    if isinstance(model_or_fn, keras.Model):
        model, parts = model_losses(model_or_fn, inputs, targets, loss, training, dtype)
        variables = model.trainable_variables
        state = model.non_trainable_variables
    elif callable(model_or_fn):
        if not variables:
            raise ValueError("`variables` must list the variables to check when `model_or_fn` is a function. "
                             f"Received: variables={variables!r}")
        parts, state = {"loss": model_or_fn}, []
    else:
        raise ValueError(f"`model_or_fn` must be a keras.Model or a callable. Received: model_or_fn={model_or_fn!r}")
    saved_state = [v.numpy() for v in state]

    def evaluate(part):
        for v, value in zip(state, saved_state):
            v.assign(value)
        return float(part())

    rng = np.random.RandomState(seed)
    rows = []
    for part_name, part in parts.items():
        for v, value in zip(state, saved_state):
            v.assign(value)
        with tf.GradientTape() as tape:
            value = part()
        grads = tape.gradient(value, variables)
        for variable, grad in zip(variables, grads):
            grad = np.zeros(variable.shape) if grad is None else tf.convert_to_tensor(grad).numpy()
            original = variable.numpy()
            center = evaluate(part)
            for coord in _coordinates(variable, samples, rng):
                shifted = original.copy()
                shifted[coord] += step
                variable.assign(shifted)
                plus = evaluate(part)
                shifted[coord] -= 2 * step
                variable.assign(shifted)
                minus = evaluate(part)
                variable.assign(original)
                analytic = float(grad[coord])
                numeric = (plus - minus) / (2 * step)
                error = relative_error(analytic, numeric)
                one_sided = min(relative_error(analytic, (plus - center) / step),
                                relative_error(analytic, (center - minus) / step))
                kink = error >= 1e-4 and one_sided <= 0.01 * error
                rows.append({"part": part_name, "variable": getattr(variable, "path", variable.name),
                             "index": tuple(int(i) for i in coord), "analytic": analytic, "numeric": numeric,
                             "relative_error": error, "verdict": verdict(error), "kink": kink})
    for v, value in zip(state, saved_state):
        v.assign(value)
    return GradientCheckReport(rows=rows, dtype=dtype, step=step)
