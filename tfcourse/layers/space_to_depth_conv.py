"""A strided convolution computed as a stride-1 convolution on space-to-depth blocks.

Introduced in lesson L12 (the fast MNIST record's first layer).
"""

import keras
from keras import ops

from tfcourse._validation import check_bool, check_positive_int


@keras.saving.register_keras_serializable(package="tfcourse")
class SpaceToDepthConv2D(keras.layers.Layer):
    """`Conv2D(filters, kernel_size, strides, padding="valid")`, computed another way. Lesson L12.

    With s = strides and kernel_size = m * s, cut the image into s x s blocks and stack each
    block's pixels as channels (space-to-depth); the strided convolution is then an m x m
    stride-1 convolution of those blocks, with the same kernel rearranged:

        x:  (N, H, W, C)          -> x2: (N, H/s, W/s, s*s*C)     x2[i, j, (dy, dx, c)] = x[s*i+dy, s*j+dx, c]
        K:  (m*s, m*s, C, F)      -> K2: (m, m, s*s*C, F)         K2[a, b, (dy, dx, c)] = K[s*a+dy, s*b+dx, c]
        y = conv(x2, K2, stride 1, valid) + bias  ==  conv(x, K, stride s, valid) + bias

    Output (N, (H - m*s)/s + 1, (W - m*s)/s + 1, F), as Keras's layer gives. The weights are
    Keras's: the kernel is stored as K, with the same shape, initializer and order of creation,
    so a model built with this layer starts from the same weights as with `Conv2D`. Why: on a
    one-channel image oneDNN's strided convolution is slow, and its backward pass slower; with
    s*s*C channels the same multiply-adds run about twice as fast (lesson L12's first layer).

    Differences from `Conv2D`: channels-last and 'valid' padding only; the input's height and
    width must be known when the layer is built; `kernel_size` and `strides` are integers
    (square), not tuples; and it is not a `Conv2D` subclass (code that looks for Conv2D layers,
    such as `tfcourse.callbacks.FilterImages`, does not see it). Rows and columns past the last
    full window are dropped, as Conv2D's 'valid' padding drops them.

    Args:
        filters: output channels, an integer >= 1.
        kernel_size: side of the square kernel, an integer multiple of `strides`.
        strides: the stride and the block side, an integer >= 1.
        use_bias: add a bias per output channel. Defaults to True.
        kernel_initializer, bias_initializer: as in `keras.layers.Conv2D`.
    """

    def __init__(self, filters, kernel_size, strides, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        self.filters = check_positive_int("filters", filters)
        self.strides = check_positive_int("strides", strides)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        if self.kernel_size % self.strides:
            raise ValueError(
                f"`kernel_size` must be a multiple of `strides` ({self.strides}). Received: kernel_size={kernel_size}"
            )
        self.use_bias = check_bool("use_bias", use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(f"SpaceToDepthConv2D takes (batch, height, width, channels). Received: shape={input_shape}")
        height, width, channels = input_shape[1:]
        for name, size in (("height", height), ("width", width)):
            if size is None or size < self.kernel_size:
                raise ValueError(
                    f"The input {name} must be known and at least `kernel_size` ({self.kernel_size}). "
                    f"Received: input shape {tuple(input_shape)}"
                )
        self.kernel = self.add_weight(name="kernel", shape=(self.kernel_size, self.kernel_size, channels, self.filters),
                                      initializer=self.kernel_initializer)  # fmt: skip
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer)
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={-1: channels})

    def call(self, inputs):
        s, m = self.strides, self.kernel_size // self.strides
        _, height, width, channels = inputs.shape
        # the rows and columns the windows reach: a multiple of s (Conv2D 'valid' drops the rest)
        height, width = (s * ((size - self.kernel_size) // s) + self.kernel_size for size in (height, width))
        blocks = ops.reshape(inputs[:, :height, :width, :], (-1, height // s, s, width // s, s, channels))
        blocks = ops.reshape(ops.transpose(blocks, (0, 1, 3, 2, 4, 5)), (-1, height // s, width // s, s * s * channels))
        kernel = ops.reshape(self.kernel, (m, s, m, s, channels, self.filters))
        kernel = ops.reshape(ops.transpose(kernel, (0, 2, 1, 3, 4, 5)), (m, m, s * s * channels, self.filters))
        outputs = ops.conv(blocks, kernel, strides=1, padding="valid")
        return outputs if self.bias is None else outputs + self.bias

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        side = lambda size: None if size is None else (size - self.kernel_size) // self.strides + 1  # noqa: E731
        return (batch, side(height), side(width), self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
