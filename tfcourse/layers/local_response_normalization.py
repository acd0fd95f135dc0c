"""Local response normalization (AlexNet), the notes' formula [002 §16].

Introduced in lesson L06.
"""

import keras
import tensorflow as tf

from tfcourse._validation import check_in_range, check_int, check_one_of, check_positive
from tfcourse.layers._common import IMPLEMENTATIONS, check_axis

_FUSED_DTYPES = (tf.float16, tf.float32)

# Which kernel `implementation="auto"` runs, per device type. "CPU": measured by
# benchmarks/layers.py (band matmul + rsqrt vs TF's LRN kernel on the small CNN; its JSON records
# the winner as `summary.lrn_faster_kernel_on_cpu`, and a test keeps this table equal to it).
# "GPU": TF's kernel (cuDNN), not measured here: no GPU was lent to this project's sessions.
FASTER_KERNEL = {"CPU": "reference", "GPU": "tf_op"}


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
    return tf.cast(xc * _inverse_power(bias + alpha * sqr_sum, beta), x.dtype)


def _inverse_power(d, beta):
    """d ** -beta, with the common exponents as cheap ops (pow is exp(log) forward and backward)."""
    if beta == 0.5:
        return tf.math.rsqrt(d)
    if beta == 0.75:  # AlexNet's; TF's own kernel does the same
        inverse_sqrt = tf.math.rsqrt(d)
        return inverse_sqrt * tf.sqrt(inverse_sqrt)
    if beta == 1.0:
        return tf.math.reciprocal(d)
    return tf.pow(d, -beta)


@keras.saving.register_keras_serializable(package="tfcourse")
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalization across channels (AlexNet). Introduced in lesson L06.

        sqr_sum[a, b, c, d] = sum(x[a, b, c, d - depth_radius : d + depth_radius + 1] ** 2)
        output = x / (bias + alpha * sqr_sum) ** beta

    (the notes' n/2 = depth_radius, k = bias; the window is clipped at the first and last
    channel). Identical to `tf.nn.local_response_normalization` on float32; also works in
    float64 (gradient checks) and float16, channels-last (`axis=-1`) or channels-first
    (`axis=1`), any rank. `implementation="auto"` runs whichever kernel was measured faster on the
    device (`FASTER_KERNEL`): on a CPU the reference formula above (a band matmul, and rsqrt for
    beta = 0.5), which beat TF's LRN kernel in `benchmarks/layers.py`; with a GPU, a 4-D
    float32/float16 channels-last input goes to TF's kernel. `implementation="reference"` always
    runs the formula.
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
        device = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
        return (
            self.implementation == "auto"
            and FASTER_KERNEL[device] == "tf_op"
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
