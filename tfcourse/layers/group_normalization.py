"""Group normalization [002 §19]: batch-size-independent statistics over groups of channels.

Introduced in lesson L06.
"""

import keras
import tensorflow as tf

from tfcourse._validation import check_bool, check_int, check_positive
from tfcourse.layers._common import check_axis, statistics_dtype


@keras.saving.register_keras_serializable(package="tfcourse")
class GroupNormalization(keras.layers.Layer):
    """Group normalization (Wu & He 2018). Introduced in lesson L06.

        split the C channels into `groups` groups of C / groups channels
        for each example and each group g:
            mean_g = mean of x over (positions, channels of g)
            var_g  = mean of (x - mean_g) ** 2 over the same elements
            x_hat  = (x - mean_g) / sqrt(var_g + epsilon)
        y = gamma * x_hat + beta              # gamma, beta per channel

    Statistics never mix examples, so the result does not depend on the batch size (unlike
    batch normalization). groups = 1: layer normalization over (positions, channels);
    groups = -1 (= C): instance normalization. Same arguments and results as
    `keras.layers.GroupNormalization`; float16 inputs computed in float32.
    """

    def __init__(
        self,
        groups=32,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        groups = check_int("groups", groups)
        if groups < 1 and groups != -1:
            raise ValueError(f"`groups` must be an integer >= 1, or -1 (one group per channel). Received: groups={groups}")
        self.groups = groups
        self.axis = check_int("axis", axis)
        self.epsilon = float(check_positive("epsilon", epsilon))
        self.center = check_bool("center", center)
        self.scale = check_bool("scale", scale)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.beta_regularizer = keras.regularizers.get(beta_regularizer)
        self.gamma_regularizer = keras.regularizers.get(gamma_regularizer)
        self.beta_constraint = keras.constraints.get(beta_constraint)
        self.gamma_constraint = keras.constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = None
        self.beta = None

    def build(self, input_shape):
        ndim = len(input_shape)
        axis = check_axis("axis", self.axis, ndim)
        if axis == 0:
            raise ValueError("`axis` cannot be the batch axis 0. Received: axis=0")
        channels = input_shape[axis]
        if channels is None:
            raise ValueError(f"Axis {self.axis} of the input must have a known size. Received: input_shape={input_shape}")
        groups = channels if self.groups == -1 else self.groups
        if channels % groups != 0:
            raise ValueError(
                f"The number of channels ({channels}) must be a multiple of `groups`. Received: groups={self.groups}"
            )
        self._axis, self._groups = axis, groups
        if self.scale:
            self.gamma = self.add_weight(
                shape=(channels,), name="gamma", initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint, autocast=False,
            )
        if self.center:
            self.beta = self.add_weight(
                shape=(channels,), name="beta", initializer=self.beta_initializer,
                regularizer=self.beta_regularizer, constraint=self.beta_constraint, autocast=False,
            )
        self.input_spec = keras.layers.InputSpec(ndim=ndim, axes={axis: channels})

    def compute_output_shape(self, input_shape):
        check_axis("axis", self.axis, len(input_shape))
        return tuple(input_shape)

    def call(self, inputs):
        dtype = statistics_dtype(inputs.dtype)
        x = tf.cast(inputs, dtype)
        rank, axis, groups = x.shape.rank, self._axis, self._groups
        channels = x.shape[axis]
        dynamic = tf.shape(x)
        # (..., C, ...) -> (..., groups, C / groups, ...)
        grouped_shape = [dynamic[i] for i in range(axis)] + [groups, channels // groups] + [
            dynamic[i] for i in range(axis + 1, rank)
        ]
        xg = tf.reshape(x, tf.stack(grouped_shape))
        reduce_axes = [i for i in range(1, rank + 1) if i != axis]
        mean = tf.reduce_mean(xg, reduce_axes, keepdims=True)
        variance = tf.reduce_mean(tf.square(xg - mean), reduce_axes, keepdims=True)
        x_hat = tf.reshape((xg - mean) / tf.sqrt(variance + self.epsilon), dynamic)
        shape = [1] * rank
        shape[axis] = channels
        if self.scale:
            x_hat = x_hat * tf.reshape(tf.cast(self.gamma, dtype), shape)
        if self.center:
            x_hat = x_hat + tf.reshape(tf.cast(self.beta, dtype), shape)
        return tf.cast(x_hat, self.compute_dtype)

    def get_config(self):
        config = {
            "groups": self.groups,
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": keras.initializers.serialize(self.beta_initializer),
            "gamma_initializer": keras.initializers.serialize(self.gamma_initializer),
            "beta_regularizer": keras.regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": keras.regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": keras.constraints.serialize(self.beta_constraint),
            "gamma_constraint": keras.constraints.serialize(self.gamma_constraint),
        }
        return {**super().get_config(), **config}
