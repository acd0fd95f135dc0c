"""Small helpers shared by the tfcourse layers (argument checks, dtypes)."""

import numbers

import tensorflow as tf

IMPLEMENTATIONS = ("auto", "reference")


def check_bool(name, value):
    if not isinstance(value, bool):
        raise ValueError(f"`{name}` must be a bool (True or False). Received: {name}={value!r}")
    return value


def check_int(name, value, low=None):
    """An integer (not a bool), optionally `>= low`."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and low is not None:
        ok = value >= low
    if not ok:
        bound = f" >= {low}" if low is not None else ""
        raise ValueError(f"`{name}` must be an integer{bound}. Received: {name}={value!r}")
    return int(value)


def check_axis(name, axis, ndim):
    """Normalize `axis` against a rank; raise `ValueError` when out of bounds."""
    if axis >= ndim or axis < -ndim:
        raise ValueError(
            f"`{name}` is out of bounds for an input of rank {ndim}: it must be in "
            f"[{-ndim}, {ndim - 1}]. Received: {name}={axis}"
        )
    return axis % ndim


def statistics_dtype(dtype):
    """float64 stays float64; float16/bfloat16/float32 compute statistics in float32."""
    return tf.float64 if tf.as_dtype(dtype) == tf.float64 else tf.float32
