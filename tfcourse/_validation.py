"""Argument checks shared by the library, with Keras-style error messages.

Every check raises `ValueError` naming the argument, the accepted range and the value
received, e.g. "`momentum` must be in [0, 1). Received: momentum=1.5".
"""

import math
import numbers


def is_real_number(value):
    """A real number that is not a bool (True/False are ints in Python)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_in_range(name, value, low=None, high=None, *, low_inclusive=True, high_inclusive=True):
    """Raise `ValueError` unless `low <(=) value <(=) high`; `None` bounds are open."""
    left = ("[" if low_inclusive else "(") if low is not None else "("
    right = ("]" if high_inclusive else ")") if high is not None else ")"
    interval = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
    ok = is_real_number(value) and not math.isnan(value)
    if ok and low is not None:
        ok = value >= low if low_inclusive else value > low
    if ok and high is not None:
        ok = value <= high if high_inclusive else value < high
    if not ok:
        raise ValueError(f"`{name}` must be in {interval}. Received: {name}={value!r}")
    return value


def check_positive(name, value):
    """`value > 0` (a learning rate, an epsilon)."""
    return check_in_range(name, value, 0, None, low_inclusive=False)


def check_fraction(name, value):
    """`0 <= value < 1` (a momentum, a decay rate, a beta)."""
    return check_in_range(name, value, 0, 1, high_inclusive=False)


def check_int(name, value, low=None):
    """An integer (not a bool), optionally `>= low`."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and low is not None:
        ok = value >= low
    if not ok:
        bound = f" >= {low}" if low is not None else ""
        raise ValueError(f"`{name}` must be an integer{bound}. Received: {name}={value!r}")
    return int(value)


def check_positive_int(name, value):
    """An integer `>= 1` (a batch size, a number of units)."""
    return check_int(name, value, low=1)


def check_bool(name, value):
    """`True` or `False`, nothing merely truthy."""
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be a bool (True or False). Received: {name}={value!r}")
    return value


def check_one_of(name, value, choices):
    """`value` is one of `choices`."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}` must be one of {options}. Received: {name}={value!r}")
    return value
