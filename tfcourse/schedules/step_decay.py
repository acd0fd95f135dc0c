"""Step decay: multiply the learning rate by a factor every N epochs (notes 001 §4.4).

Introduced in lesson L03.
"""

import keras
from keras import ops

from tfcourse._validation import check_in_range, check_positive_int
from tfcourse.schedules._common import (
    Schedule,
    checked_initial_learning_rate,
    checked_steps_per_epoch,
    epoch_of,
)


@keras.saving.register_keras_serializable(package="tfcourse")
class StepDecay(Schedule):
    """Multiply the learning rate by `factor` every `every_epochs` epochs (lesson L03).

    Introduced in lesson L03. Notes 001 §4.4: "halve every 5 epochs, or x0.1 every 20".

        epoch = floor(step / steps_per_epoch)
        lr(step) = initial_learning_rate * factor ** floor(epoch / every_epochs)

    `step` is the optimizer's iteration counter; with `steps_per_epoch=1` the schedule is
    evaluated per epoch (as `tfcourse.callbacks.LearningRateDecay` does).
    Same values as `keras.optimizers.schedules.PiecewiseConstantDecay` with boundaries at
    multiples of every_epochs * steps_per_epoch.

    Args:
        initial_learning_rate: a0, float > 0.
        factor: float in (0, 1), e.g. 0.5 (halve) or 0.1.
        every_epochs: int >= 1, epochs between two drops.
        steps_per_epoch: int >= 1. Defaults to 1 (step counts epochs).
        name: optional name.
    """

    _config_keys = ("initial_learning_rate", "factor", "every_epochs", "steps_per_epoch", "name")

    def __init__(self, initial_learning_rate, factor=0.5, every_epochs=5, steps_per_epoch=1, name=None):
        self.initial_learning_rate = checked_initial_learning_rate(initial_learning_rate)
        self.factor = float(check_in_range("factor", factor, 0, 1, low_inclusive=False, high_inclusive=False))
        self.every_epochs = check_positive_int("every_epochs", every_epochs)
        self.steps_per_epoch = checked_steps_per_epoch(steps_per_epoch)
        self.name = name

    def __call__(self, step):
        drops = ops.floor(epoch_of(step, self.steps_per_epoch) / float(self.every_epochs))
        return self.initial_learning_rate * ops.power(self.factor, drops)
