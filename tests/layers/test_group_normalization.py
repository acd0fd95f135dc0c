import keras
import numpy as np
import pytest

from tfcourse.layers import GroupNormalization


def _x(shape, seed=0):
    return (np.random.RandomState(seed).randn(*shape) * 2.0 + 0.5).astype("float32")


@pytest.mark.parametrize(
    "groups, axis, shape",
    [(2, -1, (3, 4, 4, 6)), (3, 1, (3, 6, 4, 4)), (1, -1, (5, 8)), (-1, -1, (2, 5, 4)), (4, -1, (2, 3, 3, 3, 8))],
    ids=["nhwc", "nchw", "layernorm", "instancenorm", "conv3d"],
)
def test_matches_keras(groups, axis, shape):
    ours = GroupNormalization(groups=groups, axis=axis, gamma_initializer="random_normal",
                              beta_initializer="random_normal")
    theirs = keras.layers.GroupNormalization(groups=groups, axis=axis)
    x = _x(shape)
    ours.build(shape)
    theirs.build(shape)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(x).numpy(), theirs(x).numpy(), atol=1e-5, rtol=1e-5)


def test_golden_and_batch_size_independent():
    x = _x((4, 3, 3, 4))
    layer = GroupNormalization(groups=2, epsilon=1e-3)
    y = layer(x).numpy()
    g = x.reshape(4, 3, 3, 2, 2)
    mean = g.mean((1, 2, 4), keepdims=True)
    var = g.var((1, 2, 4), keepdims=True)
    np.testing.assert_allclose(y, ((g - mean) / np.sqrt(var + 1e-3)).reshape(x.shape), atol=1e-5)
    np.testing.assert_allclose(layer(x[:1]).numpy(), y[:1], atol=1e-6)  # one example alone: same result


def test_float16_computed_in_float32():
    x = _x((2, 3, 3, 4)) * 300.0
    y = GroupNormalization(groups=2, dtype="mixed_float16")(x)
    assert y.dtype == "float16"
    np.testing.assert_allclose(np.asarray(y, "float32"), GroupNormalization(groups=2)(x).numpy(), atol=5e-3)


@pytest.mark.parametrize("axis, shape", [(-1, (4, 5, 5, 4)), (1, (4, 4, 5, 5))])
def test_harness(harness, tmp_path, axis, shape):
    make = lambda: GroupNormalization(groups=2, axis=axis)  # noqa: E731
    harness.check_shapes_and_weights(make, shape, shape, 2, 0)
    harness.check_config(make)
    harness.check_models_and_saving(make, shape, tmp_path)
    harness.check_training_step(make, shape)


def test_harness_float64_gradients_and_mirrored(harness, two_cpu_strategy):
    make = lambda: GroupNormalization(groups=2, dtype="float64", gamma_initializer="random_normal")  # noqa: E731
    harness.check_gradients_float64(make, (2, 3, 3, 4), samples=15)
    harness.check_mirrored(lambda: GroupNormalization(groups=2), (4, 5, 5, 4), two_cpu_strategy)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"groups": 0}, "`groups` must be an integer >= 1, or -1"),
        ({"groups": 2.0}, "`groups` must be an integer"),
        ({"epsilon": -1.0}, r"`epsilon` must be in \(0, inf\)"),
        ({"scale": 1}, "`scale` must be a bool"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GroupNormalization(**kwargs)


def test_channels_not_divisible():
    with pytest.raises(ValueError, match="must be a multiple of `groups`"):
        GroupNormalization(groups=4).build((2, 3, 3, 6))
    with pytest.raises(ValueError, match="batch axis"):
        GroupNormalization(groups=1, axis=0).build((2, 3))
