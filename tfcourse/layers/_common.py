"""Small helpers shared by the tfcourse layers (argument checks, dtypes)."""

import tensorflow as tf

IMPLEMENTATIONS = ("auto", "reference")


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
