import keras
import numpy as np
import pytest

from tfcourse.layers import SpaceToDepthConv2D


def _x(shape, seed=0, dtype="float32"):
    return np.random.RandomState(seed).randn(*shape).astype(dtype)


def _pair(filters, kernel_size, strides, channels, use_bias=True, seed=3):
    """The layer and Keras's Conv2D built the same way (same seed, same creation order)."""
    keras.utils.set_random_seed(seed)
    ours = SpaceToDepthConv2D(filters, kernel_size, strides, use_bias=use_bias, bias_initializer="random_normal")
    keras.utils.set_random_seed(seed)
    theirs = keras.layers.Conv2D(filters, kernel_size, strides=strides, use_bias=use_bias,
                                 bias_initializer="random_normal")  # fmt: skip
    return ours, theirs


def test_golden_values_from_the_definition():
    # y[i, j, f] = sum_{a, b, c} x[s*i + a, s*j + b, c] K[a, b, c, f] + bias[f], written as loops
    x = _x((2, 8, 6, 3))
    layer = SpaceToDepthConv2D(4, 4, 2, bias_initializer="random_normal")
    y = layer(x).numpy()
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    expected = np.zeros((2, 3, 2, 4))
    for i in range(3):
        for j in range(2):
            window = x[:, 2 * i : 2 * i + 4, 2 * j : 2 * j + 4, :]
            expected[:, i, j] = np.einsum("nabc,abcf->nf", window, kernel) + bias
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    assert np.abs(bias).min() > 0  # a bias that is all zeros would not test the bias


@pytest.mark.parametrize(
    "kernel_size, strides, channels, use_bias, size",
    [(6, 2, 1, True, (12, 18)), (4, 2, 3, False, (12, 18)), (6, 3, 2, True, (12, 18)),
     (6, 2, 1, True, (27, 29)), (6, 3, 2, False, (13, 20))],  # sizes not multiples of the stride
)  # fmt: skip
def test_same_weights_and_outputs_as_keras_conv2d(kernel_size, strides, channels, use_bias, size):
    ours, theirs = _pair(5, kernel_size, strides, channels, use_bias)
    x = _x((3, *size, channels))
    y_ours, y_theirs = ours(x).numpy(), theirs(x).numpy()
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)  # the same initial weights, drawn in the same order
    assert y_ours.shape == y_theirs.shape
    np.testing.assert_allclose(y_ours, y_theirs, rtol=1e-5, atol=1e-5)
    # negative control: the same weights with the kernel's rows and columns swapped give
    # another answer, so the comparison can tell a wrongly arranged kernel apart
    ours.kernel.assign(np.transpose(ours.kernel.numpy(), (1, 0, 2, 3)))
    assert np.abs(ours(x).numpy() - y_theirs).max() > 1e-2


def test_gradients_equal_keras_conv2d():
    import tensorflow as tf

    ours, theirs = _pair(4, 6, 2, 1)
    x = tf.constant(_x((2, 28, 28, 1)))
    grads = []
    for layer in (ours, theirs):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.sin(layer(x)))
        grads.append(tape.gradient(loss, [x, *layer.trainable_weights]))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)


def test_mixed_bfloat16_policy():
    layer = SpaceToDepthConv2D(8, 6, 2, bias_initializer=keras.initializers.RandomNormal(stddev=1.0), dtype="mixed_bfloat16")
    x = np.random.RandomState(0).uniform(0, 1, (2, 28, 28, 1)).astype("float32")  # images in [0, 1]
    y = layer(x)
    assert y.dtype == "bfloat16" and layer.kernel.dtype == "float32"
    reference = keras.layers.Conv2D(8, 6, strides=2, bias_initializer="random_normal")
    reference.build((None, 28, 28, 1))
    reference.set_weights(layer.get_weights())
    expected = reference(x).numpy()
    assert np.abs(layer.bias.numpy()).min() > 1e-3  # the bias is part of what is compared
    # bfloat16 keeps 8 bits of mantissa: about 0.4% of each product and sum
    np.testing.assert_allclose(np.asarray(y, "float32"), expected, rtol=1e-2, atol=2e-2)


@pytest.mark.parametrize("shape, out", [((2, 28, 28, 1), (2, 12, 12, 4)), ((3, 8, 6, 2), (3, 3, 2, 4))])
def test_harness(harness, tmp_path, shape, out):
    make = lambda: SpaceToDepthConv2D(4, 4 if shape[1] == 8 else 6, 2)  # noqa: E731
    harness.check_shapes_and_weights(make, shape, out, 2, 0)
    harness.check_config(make)
    harness.check_models_and_saving(make, shape, tmp_path)


def test_harness_gradients_training_mirrored(harness, two_cpu_strategy):
    harness.check_gradients_float64(lambda: SpaceToDepthConv2D(2, 4, 2, dtype="float64"), (2, 4, 4, 2), samples=20)
    harness.check_training_step(lambda: SpaceToDepthConv2D(3, 4, 2), (4, 8, 8, 1))
    harness.check_mirrored(lambda: SpaceToDepthConv2D(2, 4, 2), (4, 8, 8, 1), two_cpu_strategy)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"filters": 0, "kernel_size": 6, "strides": 2}, "`filters` must be an integer >= 1"),
        ({"filters": 4, "kernel_size": 6, "strides": 0}, "`strides` must be an integer >= 1"),
        ({"filters": 4, "kernel_size": 5, "strides": 2},
         r"`kernel_size` must be a multiple of `strides` \(2\)\. Received: kernel_size=5"),
        ({"filters": 4, "kernel_size": 6, "strides": 2, "use_bias": "yes"}, "`use_bias` must be a bool"),
    ],
)  # fmt: skip
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SpaceToDepthConv2D(**kwargs)


def test_input_too_small_unknown_or_not_an_image():
    with pytest.raises(ValueError, match=r"The input width must be known and at least `kernel_size` \(6\)"):
        SpaceToDepthConv2D(4, 6, 2)(_x((1, 28, 4, 1)))
    with pytest.raises(ValueError, match=r"The input height must be known .* Received: input shape \(None, None, 28, 1\)"):
        SpaceToDepthConv2D(4, 6, 2).build((None, None, 28, 1))
    with pytest.raises(ValueError, match=r"takes \(batch, height, width, channels\)"):
        SpaceToDepthConv2D(4, 6, 2)(_x((28, 28, 1)))
