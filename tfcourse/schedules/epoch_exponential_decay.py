"""base^epoch * a0, e.g. 0.95^epoch * a0 (notes 004 §2.2.9).

Introduced in lesson L03.
"""

import keras
from keras import ops

from tfcourse._validation import check_in_range
from tfcourse.schedules._common import (
    Schedule,
    checked_initial_learning_rate,
    checked_steps_per_epoch,
    epoch_of,
)


@keras.saving.register_keras_serializable(package="tfcourse")
class EpochExponentialDecay(Schedule):
    """base ** epoch_num * a0, the notes' 0.95^epoch_num * a0 (lesson L03).

    Introduced in lesson L03. Notes 004 §2.2.9:

        epoch_num = floor(step / steps_per_epoch)
        lr(step) = initial_learning_rate * base ** epoch_num

    Equal to `keras.optimizers.schedules.ExponentialDecay(a0, decay_steps=steps_per_epoch,
    decay_rate=base, staircase=True)`.

    Args:
        initial_learning_rate: a0, float > 0.
        base: float in (0, 1]. Defaults to 0.95.
        steps_per_epoch: int >= 1. Defaults to 1 (step counts epochs).
        name: optional name.
    """

    _config_keys = ("initial_learning_rate", "base", "steps_per_epoch", "name")

    def __init__(self, initial_learning_rate, base=0.95, steps_per_epoch=1, name=None):
        self.initial_learning_rate = checked_initial_learning_rate(initial_learning_rate)
        self.base = float(check_in_range("base", base, 0, 1, low_inclusive=False))
        self.steps_per_epoch = checked_steps_per_epoch(steps_per_epoch)
        self.name = name

    def __call__(self, step):
        return self.initial_learning_rate * ops.power(self.base, epoch_of(step, self.steps_per_epoch))
