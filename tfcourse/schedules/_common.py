"""Pieces shared by the tfcourse learning-rate schedules (private)."""

import keras
from keras import ops

from tfcourse._validation import check_positive, check_positive_int


def float_step(step):
    """The optimizer's iteration counter as a float32 tensor."""
    return ops.cast(step, "float32")


def epoch_of(step, steps_per_epoch):
    """floor(step / steps_per_epoch): the epoch a step belongs to."""
    return ops.floor(float_step(step) / float(steps_per_epoch))


def checked_initial_learning_rate(value):
    return float(check_positive("initial_learning_rate", value))


def checked_steps_per_epoch(value):
    return check_positive_int("steps_per_epoch", value)


class Schedule(keras.optimizers.schedules.LearningRateSchedule):
    """Base: `get_config` returns the constructor arguments listed in `_config_keys`."""

    _config_keys = ()

    def get_config(self):
        return {key: getattr(self, key) for key in self._config_keys}
