"""Exponential decay a0 * e^(-k t) (notes 000, 001 §4.4).

Introduced in lesson L03.
"""

import keras
from keras import ops

from tfcourse._validation import check_in_range
from tfcourse.schedules._common import Schedule, checked_initial_learning_rate, float_step


@keras.saving.register_keras_serializable(package="tfcourse")
class ExponentialDecay(Schedule):
    """The notes' exponential decay, a0 * e^(-k t) (lesson L03).

    Introduced in lesson L03. Notes 001 §4.4, "alpha = alpha_0 e^(-k t)", t the iteration:

        lr(step) = initial_learning_rate * exp(-k * step)

    Equal to `keras.optimizers.schedules.ExponentialDecay(a0, decay_steps=1,
    decay_rate=exp(-k))`, which writes the same curve as a0 * decay_rate ** step.

    Args:
        initial_learning_rate: a0, float > 0.
        k: decay constant, float >= 0 (0 keeps the rate constant).
        name: optional name.
    """

    _config_keys = ("initial_learning_rate", "k", "name")

    def __init__(self, initial_learning_rate, k, name=None):
        self.initial_learning_rate = checked_initial_learning_rate(initial_learning_rate)
        self.k = float(check_in_range("k", k, 0, None))
        self.name = name

    def __call__(self, step):
        return self.initial_learning_rate * ops.exp(-self.k * float_step(step))
