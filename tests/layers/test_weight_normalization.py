import keras
import numpy as np
import pytest

from tfcourse.layers import WeightNormalization


def _x(shape, seed=0, dtype="float32"):
    return (np.random.RandomState(seed).randn(*shape) * 2.0 + 1.0).astype(dtype)


def _layers():
    return {
        "dense": (lambda: keras.layers.Dense(5, activation="tanh"), (8, 7), -1),
        "conv2d": (lambda: keras.layers.Conv2D(4, 3, padding="same"), (4, 6, 6, 3), -1),
        "conv2d_first": (lambda: keras.layers.Conv2D(4, 3, data_format="channels_first"), (4, 3, 6, 6), 1),
        "conv1d": (lambda: keras.layers.Conv1D(3, 2, strides=2), (4, 8, 2), -1),
    }


@pytest.mark.parametrize("name", list(_layers()))
def test_equals_wrapped_layer_with_w_equal_g_v_over_norm(name):
    make, shape, _ = _layers()[name]
    wrapped = WeightNormalization(make(), data_init=False)
    x = _x(shape)
    wrapped(x)
    # At build g = ||v||, so W == v and the output equals the plain layer's.
    np.testing.assert_allclose(wrapped(x).numpy(), wrapped.layer(x).numpy(), atol=1e-5)
    # After changing g: W = g * v / ||v||
    g = np.linspace(0.5, 2.0, wrapped.g.shape[0]).astype("float32")
    wrapped.g.assign(g)
    v = wrapped.layer.kernel.numpy()
    norm = np.sqrt((v.reshape(-1, v.shape[-1]) ** 2).sum(0))
    plain = make()
    plain.build(shape)
    plain.set_weights([v * g / norm, wrapped.layer.bias.numpy()])
    np.testing.assert_allclose(wrapped(x).numpy(), plain(x).numpy(), atol=1e-5)


@pytest.mark.parametrize("name", ["dense", "conv2d", "conv2d_first"])
def test_data_dependent_init(name):
    make, shape, channel_axis = _layers()[name]
    inner = make()
    inner.activation = keras.activations.linear
    wrapped = WeightNormalization(inner)
    x = _x(shape)
    y = wrapped(x, training=True).numpy()
    axes = tuple(i for i in range(y.ndim) if i != channel_axis % y.ndim)
    np.testing.assert_allclose(y.mean(axes), 0.0, atol=1e-4)
    np.testing.assert_allclose(y.std(axes), 1.0, atol=1e-3)
    assert wrapped.initialized.numpy() == 1.0
    g = wrapped.g.numpy().copy()
    wrapped(_x(shape, seed=5), training=True)  # no second init
    np.testing.assert_array_equal(wrapped.g.numpy(), g)


def test_data_init_inside_compiled_fit_and_jit():
    model = keras.Sequential([keras.Input((7,)), WeightNormalization(keras.layers.Dense(6)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse", jit_compile=True)
    x = _x((16, 7))
    model.fit(x, _x((16, 1)), batch_size=16, epochs=1, verbose=0)
    wn = model.layers[0]
    assert wn.initialized.numpy() == 1.0
    h = wn(x).numpy()  # same batch, lr 0: pre-activations standardized
    np.testing.assert_allclose(h.mean(0), 0.0, atol=1e-4)


@pytest.mark.parametrize("name", ["dense", "conv2d"])
def test_harness(harness, tmp_path, name):
    make_inner, shape, _ = _layers()[name]
    make = lambda: WeightNormalization(make_inner())  # noqa: E731
    out = tuple(make_inner().compute_output_shape(shape))
    harness.check_shapes_and_weights(make, shape, out, 3, 1, training=True)
    harness.check_config(make)
    harness.check_models_and_saving(make, shape, tmp_path)
    harness.check_training_step(make, shape)


def test_harness_float64_gradients(harness):
    make = lambda: WeightNormalization(keras.layers.Conv2D(2, 2, dtype="float64"), data_init=False, dtype="float64")  # noqa: E731
    harness.check_gradients_float64(make, (2, 4, 4, 2), samples=10)
    make_dense = lambda: WeightNormalization(keras.layers.Dense(3, activation="tanh", dtype="float64"), dtype="float64")  # noqa: E731
    harness.check_gradients_float64(make_dense, (4, 5), samples=10, training=False)


def test_harness_mirrored(harness, two_cpu_strategy):
    model = harness.check_mirrored(lambda: WeightNormalization(keras.layers.Conv2D(3, 3)), (4, 5, 5, 2),
                                   two_cpu_strategy)
    assert float(model.layers[0].initialized.numpy()) == 1.0


def test_invalid_arguments():
    with pytest.raises(ValueError, match="`layer` must be a `keras.layers.Dense`"):
        WeightNormalization(keras.layers.LSTM(3))
    with pytest.raises(ValueError, match="`data_init` must be a bool"):
        WeightNormalization(keras.layers.Dense(3), data_init="yes")
    with pytest.raises(ValueError, match="causal"):
        WeightNormalization(keras.layers.Conv1D(3, 2, padding="causal"))
