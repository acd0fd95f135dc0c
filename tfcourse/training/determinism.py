"""Deterministic mode: the same seed gives bit-identical weights on the same machine.

Introduced in lesson L11.

    enable_determinism(seed):
        keras.utils.set_random_seed(seed)              # Python, NumPy and backend RNGs
        tf.config.experimental.enable_op_determinism()  # no nondeterministic kernels

Op determinism is process-wide and cannot be switched off again; it may make GPU
training slower. Two seeded CPU runs of `tfcourse.training.train` then produce exactly
the same weights.
"""

import keras
import tensorflow as tf

from tfcourse._validation import check_in_range


def enable_determinism(seed):
    """Seed every RNG with `seed` and turn on TensorFlow op determinism (lesson L11)."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"`seed` must be an integer in [0, 2**32). Received: seed={seed!r}")
    check_in_range("seed", seed, 0, 2**32, high_inclusive=False)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return seed
