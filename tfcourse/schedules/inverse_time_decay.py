"""1/t decay a0 / (1 + k t) (notes 000, 001 §4.4).

Introduced in lesson L03.
"""

import keras

from tfcourse._validation import check_in_range
from tfcourse.schedules._common import Schedule, checked_initial_learning_rate, float_step


@keras.saving.register_keras_serializable(package="tfcourse")
class InverseTimeDecay(Schedule):
    """The notes' 1/t decay, a0 / (1 + k t) (lesson L03).

    Introduced in lesson L03. Notes 001 §4.4, "alpha = alpha_0 / (1 + k t)", t the iteration:

        lr(step) = initial_learning_rate / (1 + k * step)

    Equal to `keras.optimizers.schedules.InverseTimeDecay(a0, decay_steps=1, decay_rate=k)`.

    Args:
        initial_learning_rate: a0, float > 0.
        k: decay constant, float >= 0.
        name: optional name.
    """

    _config_keys = ("initial_learning_rate", "k", "name")

    def __init__(self, initial_learning_rate, k, name=None):
        self.initial_learning_rate = checked_initial_learning_rate(initial_learning_rate)
        self.k = float(check_in_range("k", k, 0, None))
        self.name = name

    def __call__(self, step):
        return self.initial_learning_rate / (1.0 + self.k * float_step(step))
