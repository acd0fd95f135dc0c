"""Hyperparameter checks shared by the tfcourse optimizers (private).

Plain Python numbers are validated with `tfcourse._validation` (Keras-style `ValueError`
naming the argument, the accepted range and the value). A learning rate may also be a
`keras.optimizers.schedules.LearningRateSchedule` or a zero-argument callable, exactly as
in Keras; those are passed through unchecked.
"""

from tfcourse._validation import (
    check_fraction,
    check_in_range,
    check_positive,
    is_real_number,
)


def check_learning_rate(value):
    """A float > 0, or a schedule / callable (checked by Keras when called)."""
    if is_real_number(value) or isinstance(value, (bool, str)) or value is None:
        return check_positive("learning_rate", value)
    return value


def check_rate(name, value):
    """A momentum / decay rate / beta: a float in [0, 1)."""
    return float(check_fraction(name, value))


def check_epsilon(value, name="epsilon"):
    """A float > 0 (the fuzz factor that keeps a denominator away from zero)."""
    return float(check_positive(name, value))


def check_non_negative(name, value):
    return float(check_in_range(name, value, 0, None))
