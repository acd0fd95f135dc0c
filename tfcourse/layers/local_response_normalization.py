"""Local response normalization (AlexNet), the notes' formula [002 §16].

Introduced in lesson L06.
"""

import keras
import tensorflow as tf

from tfcourse._validation import check_in_range, check_int, check_one_of, check_positive
from tfcourse.layers._common import IMPLEMENTATIONS, check_axis

_FUSED_DTYPES = (tf.float16, tf.float32)


def _band(channels, depth_radius, dtype):
    """C x C matrix with band[i, j] = 1 where |i - j| <= depth_radius."""
    index = tf.range(channels)
    distance = tf.abs(index[:, None] - index[None, :])
    return tf.cast(distance <= depth_radius, dtype)


def local_response_normalization_reference(x, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, axis=-1):
    """The notes' formula with plain ops (any float dtype, rank, channel axis). Introduced in lesson L06.

        sqr_sum[..., d] = sum(x[..., d - depth_radius : d + depth_radius + 1] ** 2)   # along `axis`
        output = x / (bias + alpha * sqr_sum) ** beta

    The window sum is one matmul with a 0/1 band matrix. float16/bfloat16 are computed in float32.
    """
    dtype = tf.float64 if x.dtype == tf.float64 else tf.float32
    xc = tf.cast(x, dtype)
    rank = xc.shape.rank
    axis = axis % rank
    if axis != rank - 1:
        perm = [i for i in range(rank) if i != axis] + [axis]
        xc_last = tf.transpose(xc, perm)
    else:
        xc_last = xc
    channels = xc_last.shape[-1]
    band = _band(channels, depth_radius, dtype)
    flat = tf.reshape(tf.square(xc_last), [-1, channels])
    sqr_sum = tf.reshape(tf.matmul(flat, band), tf.shape(xc_last))
    if axis != rank - 1:
        inverse = [0] * rank
        for i, p in enumerate(perm):
            inverse[p] = i
        sqr_sum = tf.transpose(sqr_sum, inverse)
    out = xc / tf.pow(bias + alpha * sqr_sum, beta)
    return tf.cast(out, x.dtype)


@keras.saving.register_keras_serializable(package="tfcourse")
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalization across channels (AlexNet). Introduced in lesson L06.

        sqr_sum[a, b, c, d] = sum(x[a, b, c, d - depth_radius : d + depth_radius + 1] ** 2)
        output = x / (bias + alpha * sqr_sum) ** beta

    (the notes' n/2 = depth_radius, k = bias; the window is clipped at the first and last
    channel). Identical to `tf.nn.local_response_normalization` on float32; also works in
    float64 (gradient checks) and float16, channels-last (`axis=-1`) or channels-first
    (`axis=1`), any rank. With `implementation="auto"` a 4-D float32/float16 channels-last input
    goes to TF's LRN kernel; everything else uses the reference (band-matmul) formula above.
    """

    def __init__(self, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, axis=-1, implementation="auto", **kwargs):
        super().__init__(**kwargs)
        self.depth_radius = check_int("depth_radius", depth_radius, low=0)
        self.bias = float(check_positive("bias", bias))
        self.alpha = float(check_in_range("alpha", alpha, 0, None))
        self.beta = float(check_in_range("beta", beta, 0, None))
        self.axis = check_int("axis", axis)
        self.implementation = check_one_of("implementation", implementation, IMPLEMENTATIONS)
        self.supports_masking = True

    def build(self, input_shape):
        ndim = len(input_shape)
        axis = check_axis("axis", self.axis, ndim)
        if input_shape[axis] is None:
            raise ValueError(f"Axis {self.axis} of the input must have a known size. Received: input_shape={input_shape}")
        self._axis = axis
        self.input_spec = keras.layers.InputSpec(ndim=ndim, axes={axis: input_shape[axis]})

    def compute_output_shape(self, input_shape):
        check_axis("axis", self.axis, len(input_shape))
        return tuple(input_shape)

    def _use_fused(self, inputs):
        return (
            self.implementation == "auto"
            and inputs.shape.rank == 4
            and self._axis == 3
            and inputs.dtype in _FUSED_DTYPES
        )

    def call(self, inputs):
        args = dict(depth_radius=self.depth_radius, bias=self.bias, alpha=self.alpha, beta=self.beta)
        if self._use_fused(inputs):
            return tf.nn.local_response_normalization(inputs, **args)
        return local_response_normalization_reference(inputs, axis=self._axis, **args)

    def get_config(self):
        config = {
            "depth_radius": self.depth_radius,
            "bias": self.bias,
            "alpha": self.alpha,
            "beta": self.beta,
            "axis": self.axis,
            "implementation": self.implementation,
        }
        return {**super().get_config(), **config}
