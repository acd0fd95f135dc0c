import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.layers import WeightNormalization


def _x(shape, seed=0, dtype="float32"):
    return (np.random.RandomState(seed).randn(*shape) * 2.0 + 1.0).astype(dtype)


def _layers():
    return {
        "dense": (lambda: keras.layers.Dense(5, activation="tanh"), (8, 7), -1),
        "conv2d": (lambda: keras.layers.Conv2D(4, 3, padding="same"), (4, 6, 6, 3), -1),
        "conv2d_first": (lambda: keras.layers.Conv2D(4, 3, data_format="channels_first"), (4, 3, 6, 6), 1),
        "conv1d": (lambda: keras.layers.Conv1D(3, 2, strides=2), (4, 8, 2), -1),
        "conv1d_causal": (lambda: keras.layers.Conv1D(3, 3, padding="causal", dilation_rate=2), (4, 9, 2), -1),
        "conv2d_transpose": (lambda: keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same"), (4, 5, 5, 3), -1),
        "conv2d_transpose_first": (lambda: keras.layers.Conv2DTranspose(4, 3, strides=2, data_format="channels_first"),
                                   (4, 3, 5, 5), 1),
        "depthwise_conv2d": (lambda: keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
                             (4, 6, 6, 3), -1),
        "separable_conv2d": (lambda: keras.layers.SeparableConv2D(5, 3, depth_multiplier=2), (4, 6, 6, 3), -1),
    }


def _kernel_with_g(wrapped, g):
    """W = g * v / ||v||, computed in NumPy per output unit in the wrapped layer's kernel layout."""
    layer = wrapped.layer
    name = "pointwise_kernel" if isinstance(layer, keras.layers.SeparableConv2D) else "kernel"
    v = getattr(layer, name).numpy()
    if isinstance(layer, keras.layers.Conv2DTranspose):  # (..., out, in): units on axis -2
        moved = np.moveaxis(v, -2, -1)
        columns = moved.reshape(-1, moved.shape[-1])
        return np.moveaxis((columns * g / np.sqrt((columns**2).sum(0))).reshape(moved.shape), -1, -2), name
    if isinstance(layer, keras.layers.DepthwiseConv2D):  # (..., in, multiplier): unit c * m_count + m
        columns = v.reshape(-1, v.shape[-2] * v.shape[-1])
        return (columns * g / np.sqrt((columns**2).sum(0))).reshape(v.shape), name
    columns = v.reshape(-1, v.shape[-1])
    return (columns * g / np.sqrt((columns**2).sum(0))).reshape(v.shape), name


@pytest.mark.parametrize("name", list(_layers()))
def test_equals_wrapped_layer_with_w_equal_g_v_over_norm(name):
    make, shape, _ = _layers()[name]
    wrapped = WeightNormalization(make(), data_init=False)
    x = _x(shape)
    wrapped(x)
    # At build g = ||v||, so W == v and the output equals the plain layer's.
    np.testing.assert_allclose(wrapped(x).numpy(), wrapped.layer(x).numpy(), atol=1e-5)
    # After changing g: W = g * v / ||v||, one length per output unit.
    g = np.linspace(0.5, 2.0, wrapped.g.shape[0]).astype("float32")
    wrapped.g.assign(g)
    kernel, name = _kernel_with_g(wrapped, g)
    plain = make()
    plain.build(shape)
    for weight in plain.weights:
        source = kernel if weight.path.endswith(name) else next(
            w for w in wrapped.layer.weights if w.path.split("/")[-1] == weight.path.split("/")[-1]).numpy()
        weight.assign(source)
    np.testing.assert_allclose(wrapped(x).numpy(), plain(x).numpy(), atol=1e-5)
    assert np.max(np.abs(wrapped(x).numpy() - wrapped.layer(x).numpy())) > 1e-3  # g really changed W


@pytest.mark.parametrize("name", ["dense", "conv2d", "conv2d_first", "conv1d_causal", "conv2d_transpose",
                                  "conv2d_transpose_first", "depthwise_conv2d", "separable_conv2d"])
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
    with pytest.raises(ValueError, match="`layer` must be a keras.layers `Dense`, `Conv1D/2D/3D`.*LSTM"):
        WeightNormalization(keras.layers.LSTM(3))
    with pytest.raises(ValueError, match="`data_init` must be a bool"):
        WeightNormalization(keras.layers.Dense(3), data_init="yes")
    with pytest.raises(ValueError, match="SeparableConv1D/2D"):
        WeightNormalization(keras.layers.Embedding(10, 3))


def test_causal_conv1d_sees_only_the_past():
    wrapped = WeightNormalization(keras.layers.Conv1D(2, 3, padding="causal"), data_init=False)
    x = _x((1, 8, 1))
    changed = x.copy()
    changed[0, 5:] += 10.0  # the future of step 4
    np.testing.assert_allclose(wrapped(x).numpy()[0, :5], wrapped(changed).numpy()[0, :5], atol=1e-6)
    assert np.max(np.abs(wrapped(x).numpy()[0, 5:] - wrapped(changed).numpy()[0, 5:])) > 1e-2


def test_mirrored_data_init_equals_one_device(two_cpu_strategy):
    """Data-dependent init under 2 replicas uses the global batch: the same g and b as one device."""
    x = _x((8, 5, 5, 2))
    single = WeightNormalization(keras.layers.Conv2D(3, 3))
    single.build(x.shape)
    v = single.layer.kernel.numpy()
    single(x, training=True)
    with two_cpu_strategy.scope():
        mirrored = WeightNormalization(keras.layers.Conv2D(3, 3))
        mirrored.build(x.shape)
        mirrored.layer.kernel.assign(v)
    dataset = two_cpu_strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices(x).batch(8))
    two_cpu_strategy.run(tf.function(lambda t: mirrored(t, training=True)), args=(next(iter(dataset)),))
    np.testing.assert_allclose(mirrored.g.numpy(), single.g.numpy(), rtol=1e-5)
    np.testing.assert_allclose(mirrored.layer.bias.numpy(), single.layer.bias.numpy(), rtol=1e-5, atol=1e-6)
    # Negative control: initializing on one replica's half of the batch gives other values.
    half = WeightNormalization(keras.layers.Conv2D(3, 3))
    half.build(x.shape)
    half.layer.kernel.assign(v)
    half(x[:4], training=True)
    assert np.max(np.abs(half.g.numpy() - single.g.numpy())) > 1e-3
