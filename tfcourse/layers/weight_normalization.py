"""Weight normalization [002 §20]: rewrite each kernel column as a length g times a direction v.

Introduced in lesson L06.
"""

import keras
import tensorflow as tf

from tfcourse._validation import check_bool

_CONV = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
_TRANSPOSE = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)
_DEPTHWISE = (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)
_SEPARABLE = (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)
_SUPPORTED = (keras.layers.Dense,) + _CONV + _TRANSPOSE + _DEPTHWISE + _SEPARABLE
_SUPPORTED_NAMES = (
    "`Dense`, `Conv1D/2D/3D` (causal too), `Conv1D/2D/3DTranspose`, `DepthwiseConv1D/2D` or `SeparableConv1D/2D`"
)


def _normalized_kernel_spec(layer):
    """(name of the kernel to normalize, how many trailing axes index one output unit).

    Dense/Conv: kernel (..., in, out), one unit per last index. ConvTranspose: kernel
    (..., out, in), so the unit axis is the second to last (moved last before normalizing).
    Depthwise: kernel (..., in, multiplier), output channel c * multiplier + m, so the last two
    axes together index a unit. Separable: the pointwise kernel (1.., in * multiplier, out), whose
    columns map the depthwise features linearly onto each output channel.
    """
    if isinstance(layer, _DEPTHWISE):
        return "kernel", 2
    if isinstance(layer, _SEPARABLE):
        return "pointwise_kernel", 1
    return "kernel", 1


@keras.saving.register_keras_serializable(package="tfcourse")
class WeightNormalization(keras.layers.Wrapper):
    """Weight normalization wrapper (Salimans & Kingma 2016). Introduced in lesson L06.

    Wraps `Dense`, `Conv1D/2D/3D` (causal padding too), `Conv1D/2D/3DTranspose`,
    `DepthwiseConv1D/2D` and `SeparableConv1D/2D` (whose pointwise kernel is normalized); any
    other layer is refused with a ValueError naming these.

        v = the wrapped layer's kernel (trainable), g = one trainable length per output unit
        W[..., o] = g[o] * v[..., o] / ||v[..., o]||       # norm over the kernel slice of unit o
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
            raise ValueError(f"`layer` must be a keras.layers {_SUPPORTED_NAMES}. Received: layer={layer!r}")
        super().__init__(layer, **kwargs)
        self.data_init = check_bool("data_init", data_init)

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
        self._kernel_name, unit_axes = _normalized_kernel_spec(self.layer)
        kernel = getattr(self.layer, self._kernel_name)
        rank = len(kernel.shape)
        self._transpose = isinstance(self.layer, _TRANSPOSE)
        if self._transpose:
            self._norm_axes = [i for i in range(rank) if i != rank - 2]
        else:
            self._norm_axes = list(range(rank - unit_axes))
        self._is_dense = isinstance(self.layer, keras.layers.Dense)
        channels_first = not self._is_dense and self.layer.data_format == "channels_first"
        self._channel_axis = 1 if channels_first else -1

        def norm_of_kernel(shape, dtype=None):
            v = tf.convert_to_tensor(kernel)
            return tf.cast(tf.reshape(tf.sqrt(tf.reduce_sum(tf.square(v), axis=self._norm_axes)), [-1]), dtype)

        units = int(tf.reduce_prod([kernel.shape[i] for i in range(rank) if i not in self._norm_axes]))
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
        v = tf.convert_to_tensor(getattr(self.layer, self._kernel_name))
        return v / tf.sqrt(tf.reduce_sum(tf.square(v), axis=self._norm_axes, keepdims=True))

    def _linear(self, inputs, kernel):
        """The wrapped layer's op without bias and activation, with `kernel` in place of its own."""
        layer = self.layer
        if self._is_dense:
            return tf.matmul(inputs, kernel) if inputs.shape.rank == 2 else tf.tensordot(inputs, kernel, 1)
        options = dict(strides=layer.strides, padding=layer.padding, dilation_rate=layer.dilation_rate,
                       data_format=layer.data_format)
        if isinstance(layer, _TRANSPOSE):
            return keras.ops.conv_transpose(inputs, kernel, output_padding=layer.output_padding, **options)
        if isinstance(layer, _DEPTHWISE):
            return keras.ops.depthwise_conv(inputs, kernel, **options)
        if isinstance(layer, _SEPARABLE):
            return keras.ops.separable_conv(inputs, layer.depthwise_kernel, kernel, **options)
        if layer.padding == "causal":  # pad the past only, as keras.layers.Conv1D does
            left = layer.dilation_rate[0] * (layer.kernel_size[0] - 1)
            time_axis = 2 if layer.data_format == "channels_first" else 1
            inputs = keras.ops.pad(inputs, [[left, 0] if i == time_axis else [0, 0] for i in range(3)])
            options["padding"] = "valid"
        return keras.ops.conv(inputs, kernel, **options)

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
