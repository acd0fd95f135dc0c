"""Weight normalization [002 §20]: rewrite each kernel column as a length g times a direction v.

Introduced in lesson L06.
"""

import keras
import tensorflow as tf

from tfcourse._validation import check_bool

_SUPPORTED = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)


@keras.saving.register_keras_serializable(package="tfcourse")
class WeightNormalization(keras.layers.Wrapper):
    """Weight normalization wrapper for `Dense` and `Conv1D/2D/3D` (Salimans & Kingma 2016).

    Introduced in lesson L06.

        v = the wrapped layer's kernel (trainable), g = one trainable length per output unit
        W[..., o] = g[o] * v[..., o] / ||v[..., o]||       # norm over every axis but the last
        y = activation(layer_op(x, W) + b)                  # layer_op: matmul or convolution

    Since layer_op is linear in each output column, this is computed as
    `layer_op(x, v / ||v||) * g + b`. At build, g = ||v|| so W starts equal to v.

    Data-dependent init (`data_init=True`): on the first call with `training=True`,
        t = layer_op(x, v / ||v||)                  # pre-activation with g = 1, b = 0
        g = 1 / sqrt(var(t) + 1e-10);  b = -mean(t) * g   (per output unit, over the batch)
    so the first batch's pre-activations have mean 0 and variance 1; later calls do not re-init.
    (tensorflow-addons' `WeightNormalization`, which this replaces, does not work with Keras 3.)
    No statistics of the batch are kept afterwards, so unlike batch normalization it adds no
    noise and no inference-mode difference.
    """

    def __init__(self, layer, data_init=True, **kwargs):
        if not isinstance(layer, _SUPPORTED):
            raise ValueError(
                "`layer` must be a `keras.layers.Dense`, `Conv1D`, `Conv2D` or `Conv3D`. "
                f"Received: layer={layer!r}"
            )
        if isinstance(layer, keras.layers.Conv1D) and layer.padding == "causal":
            raise ValueError("`WeightNormalization` does not support `padding='causal'`. Received: padding='causal'")
        super().__init__(layer, **kwargs)
        self.data_init = check_bool("data_init", data_init)

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
        kernel = self.layer.kernel
        self._norm_axes = list(range(len(kernel.shape) - 1))
        self._is_conv = not isinstance(self.layer, keras.layers.Dense)
        channels_first = self._is_conv and self.layer.data_format == "channels_first"
        self._channel_axis = 1 if channels_first else -1
        units = kernel.shape[-1]

        def norm_of_kernel(shape, dtype=None):
            return tf.cast(tf.norm(tf.reshape(tf.convert_to_tensor(kernel), [-1, units]), axis=0), dtype)

        self.g = self.add_weight(shape=(units,), name="g", initializer=norm_of_kernel, trainable=True)
        self.initialized = self.add_weight(
            shape=(), name="initialized", initializer="zeros", trainable=False
        )
        if not self.data_init:
            self.initialized.assign(1.0)
        self.built = True

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def _broadcast(self, t, rank):
        if self._channel_axis == -1:
            return t
        shape = [1] * rank
        shape[1] = -1
        return tf.reshape(t, shape)

    def _direction(self):
        v = tf.convert_to_tensor(self.layer.kernel)
        return v / tf.sqrt(tf.reduce_sum(tf.square(v), axis=self._norm_axes, keepdims=True))

    def _linear(self, inputs, kernel):
        if self._is_conv:
            return self.layer.convolution_op(inputs, kernel)
        return tf.matmul(inputs, kernel) if inputs.shape.rank == 2 else tf.tensordot(inputs, kernel, 1)

    def call(self, inputs, training=None):
        v_hat = tf.cast(self._direction(), inputs.dtype)
        t = self._linear(inputs, v_hat)
        rank = t.shape.rank
        g = tf.cast(self.g, t.dtype)
        b = tf.cast(self.layer.bias, t.dtype) if self.layer.use_bias else None
        if self.data_init and training:
            g, b = self._data_dependent_init(t, g, b)
        outputs = t * self._broadcast(g, rank)
        if b is not None:
            outputs = outputs + self._broadcast(b, rank)
        if self.layer.activation is not None:
            outputs = self.layer.activation(outputs)
        return outputs

    def _data_dependent_init(self, t, g, b):
        """g, b from the batch while `initialized` is 0, written back; unchanged afterwards.

        Written without control flow (a blend with the 0/1 flag) so it runs the same eagerly, in
        `fit`, under `jit_compile` and inside `MirroredStrategy` replicas (where the statistics
        are all-reduced, so every replica initializes to the same values)."""
        rank = t.shape.rank
        channel_axis = self._channel_axis % rank
        axes = [i for i in range(rank) if i != channel_axis]
        t32 = tf.cast(tf.stop_gradient(t), tf.float32)
        count = tf.cast(tf.size(t32) // tf.shape(t32)[channel_axis], tf.float32)
        sums = tf.stack([tf.reduce_sum(t32, axes), tf.reduce_sum(tf.square(t32), axes),
                         tf.fill(tf.shape(t32)[channel_axis:channel_axis + 1], count)])
        replica = tf.distribute.get_replica_context()
        if replica is not None and tf.distribute.get_strategy().num_replicas_in_sync > 1:
            sums = replica.all_reduce(tf.distribute.ReduceOp.SUM, sums)
        mean = sums[0] / sums[2]
        variance = tf.maximum(sums[1] / sums[2] - tf.square(mean), 0.0)
        init_g = 1.0 / tf.sqrt(variance + 1e-10)
        flag = tf.cast(self.initialized, t.dtype)
        g = flag * g + (1.0 - flag) * tf.cast(init_g, t.dtype)
        self.g.assign(tf.cast(g, self.g.dtype))
        if b is not None:
            b = flag * b + (1.0 - flag) * tf.cast(-mean * init_g, t.dtype)
            self.layer.bias.assign(tf.cast(b, self.layer.bias.dtype))
        self.initialized.assign(tf.ones_like(self.initialized))
        return g, b

    def get_config(self):
        return {**super().get_config(), "data_init": self.data_init}
