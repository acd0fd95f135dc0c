import keras
import numpy as np
import pytest

from tfcourse.layers import Maxout


def _x(shape, seed=0, dtype="float32"):
    return np.random.RandomState(seed).randn(*shape).astype(dtype)


def test_golden_values():
    x = np.array([[1.0, -2.0, 3.0, 0.5, -1.0, -4.0]], "float32")
    np.testing.assert_array_equal(Maxout(3)(x).numpy(), [[1.0, 3.0, -1.0]])
    np.testing.assert_array_equal(Maxout(2)(x).numpy(), [[3.0, 0.5]])
    np.testing.assert_array_equal(Maxout(6)(x).numpy(), x)


def test_channels_first_and_relu_special_case():
    x = _x((2, 6, 3, 3))
    y = Maxout(3, axis=1)(x).numpy()
    np.testing.assert_array_equal(y, x.reshape(2, 3, 2, 3, 3).max(2))
    # ReLU is maxout over (w.x + b, 0): pair every unit with a zero piece
    z = _x((4, 5))
    paired = np.stack([z, np.zeros_like(z)], -1).reshape(4, 10)
    np.testing.assert_array_equal(Maxout(5)(paired).numpy(), np.maximum(z, 0))


def test_twice_the_parameters_of_relu():
    relu = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu")])
    maxout = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32), Maxout(16)])
    assert maxout.count_params() == 2 * relu.count_params()


@pytest.mark.parametrize("shape, out", [((4, 12), (4, 4)), ((4, 3, 3, 6), (4, 3, 3, 2))])
def test_harness(harness, tmp_path, shape, out):
    make = lambda: Maxout(out[-1])  # noqa: E731
    harness.check_shapes_and_weights(make, shape, out, 0, 0)
    harness.check_config(make)
    harness.check_models_and_saving(make, shape, tmp_path)


def test_harness_gradients_training_mirrored(harness, two_cpu_strategy):
    harness.check_gradients_float64(lambda: Maxout(3, dtype="float64"), (3, 9), samples=20)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8), Maxout(4), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    assert np.isfinite(model.train_on_batch(_x((4, 6)), _x((4, 1))))
    harness.check_mirrored(lambda: Maxout(2), (4, 3, 3, 4), two_cpu_strategy)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_units": 0}, "`num_units` must be an integer >= 1"),
        ({"num_units": 2, "axis": "x"}, "`axis` must be an integer"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Maxout(**kwargs)


def test_not_divisible():
    with pytest.raises(ValueError, match="multiple of `num_units`"):
        Maxout(4)(np.zeros((2, 6), "float32"))
