"""a0 / (1 + decay_rate * epoch) (notes 004 §2.2.9, "the most common decay").

Introduced in lesson L03.
"""

import keras

from tfcourse._validation import check_in_range
from tfcourse.schedules._common import (
    Schedule,
    checked_initial_learning_rate,
    checked_steps_per_epoch,
    epoch_of,
)


@keras.saving.register_keras_serializable(package="tfcourse")
class EpochInverseTimeDecay(Schedule):
    """a0 / (1 + decay_rate * epoch_num), constant within an epoch (lesson L03).

    Introduced in lesson L03. Notes 004 §2.2.9:

        epoch_num = floor(step / steps_per_epoch)
        lr(step) = initial_learning_rate / (1 + decay_rate * epoch_num)

    Equal to `keras.optimizers.schedules.InverseTimeDecay(a0, decay_steps=steps_per_epoch,
    decay_rate=decay_rate, staircase=True)`.

    Args:
        initial_learning_rate: a0, float > 0.
        decay_rate: float >= 0 (the notes' hyperparameter).
        steps_per_epoch: int >= 1. Defaults to 1 (step counts epochs).
        name: optional name.
    """

    _config_keys = ("initial_learning_rate", "decay_rate", "steps_per_epoch", "name")

    def __init__(self, initial_learning_rate, decay_rate, steps_per_epoch=1, name=None):
        self.initial_learning_rate = checked_initial_learning_rate(initial_learning_rate)
        self.decay_rate = float(check_in_range("decay_rate", decay_rate, 0, None))
        self.steps_per_epoch = checked_steps_per_epoch(steps_per_epoch)
        self.name = name

    def __call__(self, step):
        return self.initial_learning_rate / (1.0 + self.decay_rate * epoch_of(step, self.steps_per_epoch))
