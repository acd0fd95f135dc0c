"""Maxout [000]: the max over groups of linear units; a generalized ReLU with no dead units.

Introduced in lesson L02 (activations) and used again in lesson L06.
"""

import keras
import tensorflow as tf

from tfcourse._validation import check_int, check_positive_int
from tfcourse.layers._common import check_axis


@keras.saving.register_keras_serializable(package="tfcourse")
class Maxout(keras.layers.Layer):
    """Maxout over the feature axis (Goodfellow et al. 2013). Introduced in lesson L02.

        C features along `axis`, k = C / num_units pieces per unit
        z = reshape(x, (..., num_units, k))       # consecutive features form one unit's pieces
        y[..., u] = max over j of z[..., u, j]

    After a Dense(num_units * k) this is max(w1.x + b1, ..., wk.x + bk): with k = 2 it has
    twice the parameters of a ReLU layer of the same width, and ReLU is the case
    max(w.x + b, 0). Same grouping as `tf.contrib.layers.maxout`.
    """

    def __init__(self, num_units, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.num_units = check_positive_int("num_units", num_units)
        self.axis = check_int("axis", axis)

    def build(self, input_shape):
        ndim = len(input_shape)
        axis = check_axis("axis", self.axis, ndim)
        channels = input_shape[axis]
        if channels is None or channels % self.num_units != 0:
            raise ValueError(
                f"The size of axis {self.axis} ({channels}) must be a known multiple of `num_units`. "
                f"Received: num_units={self.num_units}"
            )
        self._axis = axis
        self.input_spec = keras.layers.InputSpec(ndim=ndim, axes={axis: channels})

    def compute_output_shape(self, input_shape):
        axis = check_axis("axis", self.axis, len(input_shape))
        shape = list(input_shape)
        shape[axis] = self.num_units
        return tuple(shape)

    def call(self, inputs):
        rank, axis = inputs.shape.rank, self._axis
        pieces = inputs.shape[axis] // self.num_units
        dynamic = tf.shape(inputs)
        shape = [dynamic[i] for i in range(axis)] + [self.num_units, pieces] + [
            dynamic[i] for i in range(axis + 1, rank)
        ]
        return tf.reduce_max(tf.reshape(inputs, tf.stack(shape)), axis=axis + 1)

    def get_config(self):
        return {**super().get_config(), "num_units": self.num_units, "axis": self.axis}
