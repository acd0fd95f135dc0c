import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.layers import BatchNormalization
from tfcourse.layers.batch_normalization import batch_norm_train

IMPLEMENTATIONS = ["auto", "reference"]


def _x(shape, seed=0):
    return (np.random.RandomState(seed).randn(*shape) * 3.0 + 1.5).astype("float32")


def _pair(impl, **kwargs):
    return BatchNormalization(implementation=impl, **kwargs), keras.layers.BatchNormalization(**kwargs)


def _run_steps(layer, batches, training=True):
    outs = []
    for x in batches:
        outs.append(layer(x, training=training).numpy())
    return outs


# ------------------------------------------------------------------ parity with Keras
@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize(
    "shape, axis",
    [((16, 5), -1), ((8, 6, 6, 4), -1), ((8, 4, 6, 6), 1), ((8, 6, 5, 4), 2), ((4, 3, 4, 5, 2), -1)],
    ids=["dense", "nhwc", "nchw", "conv-axis2", "conv3d"],
)
def test_matches_keras_outputs_and_moving_statistics(impl, shape, axis):
    ours, theirs = _pair(impl, axis=axis, momentum=0.9)
    batches = [_x(shape, seed=s) for s in range(3)]
    for a, b in zip(_run_steps(ours, batches), _run_steps(theirs, batches)):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(ours.moving_mean.numpy(), theirs.moving_mean.numpy(), atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(ours.moving_variance.numpy(), theirs.moving_variance.numpy(), atol=1e-5, rtol=1e-5)
    for training in (False, None):
        np.testing.assert_allclose(
            ours(batches[0], training=training).numpy(), theirs(batches[0], training=training).numpy(), atol=1e-5
        )


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("center, scale", [(False, True), (True, False), (False, False)])
def test_center_scale_flags_match_keras(impl, center, scale):
    ours, theirs = _pair(impl, center=center, scale=scale, gamma_initializer="random_normal")
    x = _x((4, 3, 3, 6))
    theirs.build(x.shape)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours(x, training=True), theirs(x, training=True), atol=1e-5)
    assert len(ours.trainable_weights) == int(center) + int(scale)


@pytest.mark.parametrize("axis, shape", [(-1, (8, 5, 5, 3)), (1, (8, 3, 5, 5))])
@pytest.mark.parametrize("training", [True, False])
def test_fused_and_reference_paths_agree(axis, shape, training):
    """Outputs, gradients (inputs, gamma, beta) and moving statistics of the two paths."""
    x = tf.constant(_x(shape))
    results = {}
    for impl in IMPLEMENTATIONS:
        layer = BatchNormalization(axis=axis, momentum=0.8, implementation=impl)
        layer.build(shape)
        layer.set_weights([np.linspace(0.5, 1.5, shape[axis]).astype("float32"),
                           np.linspace(-1, 1, shape[axis]).astype("float32"),
                           np.full(shape[axis], 0.3, "float32"), np.full(shape[axis], 2.0, "float32")])
        probe = tf.constant(_x(shape, seed=9))
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=training)
            loss = tf.reduce_sum(y * probe)
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        results[impl] = [y.numpy()] + [g.numpy() for g in grads] + [
            layer.moving_mean.numpy(), layer.moving_variance.numpy()
        ]
    for a, b in zip(results["auto"], results["reference"]):
        np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-5)


def test_fused_path_is_taken_for_4d_float32():
    layer = BatchNormalization()
    x = tf.constant(_x((2, 3, 3, 4)))
    layer.build(x.shape)
    assert layer._use_fused(x, None, True)
    assert not layer._use_fused(tf.cast(x, tf.float64), None, True)
    assert not layer._use_fused(x, tf.ones((2, 3, 3), tf.bool), True)
    assert not BatchNormalization(implementation="reference")._use_fused(x, None, True)

    graph = tf.function(lambda t: layer(t, training=True)).get_concrete_function(x).graph
    assert "FusedBatchNormV3" in {op.type for op in graph.get_operations()}


def test_small_epsilon_uses_reference_path_and_matches_keras():
    ours, theirs = _pair("auto", epsilon=1e-7)
    x = _x((8, 3, 3, 4)) * 1e-3
    np.testing.assert_allclose(ours(x, training=True), theirs(x, training=True), atol=1e-4, rtol=1e-4)


def test_mask_matches_keras():
    ours, theirs = _pair("auto", momentum=0.5)
    x = _x((4, 7, 3))
    mask = np.random.RandomState(1).rand(4, 7) > 0.3
    np.testing.assert_allclose(ours(x, training=True, mask=mask), theirs(x, training=True, mask=mask), atol=1e-5)
    np.testing.assert_allclose(ours.moving_mean.numpy(), theirs.moving_mean.numpy(), atol=1e-5)
    np.testing.assert_allclose(ours.moving_variance.numpy(), theirs.moving_variance.numpy(), atol=1e-5)


def test_mask_propagates_through_embedding():
    inputs = keras.Input((5,), dtype="int32")
    h = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    h = BatchNormalization()(h)
    out = keras.layers.GlobalAveragePooling1D()(h)
    model = keras.Model(inputs, out)
    x = np.array([[1, 2, 0, 0, 0], [3, 4, 5, 0, 0]])
    assert np.isfinite(model(x, training=True).numpy()).all()


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_trainable_false_means_inference_mode(impl):
    ours, theirs = _pair(impl)
    x = _x((8, 4, 4, 3))
    ours(x, training=True)
    theirs(x, training=True)
    ours.trainable = False
    theirs.trainable = False
    before = ours.moving_mean.numpy().copy()
    y = ours(x, training=True).numpy()
    np.testing.assert_array_equal(ours.moving_mean.numpy(), before)
    np.testing.assert_allclose(y, ours(x, training=False).numpy(), atol=1e-6)
    np.testing.assert_allclose(y, theirs(x, training=True).numpy(), atol=1e-5)
    assert not ours.trainable_weights


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("dtype", ["float16", "mixed_float16", "mixed_bfloat16"])
def test_half_precision_inputs_computed_in_float32(impl, dtype):
    ours = BatchNormalization(implementation=impl, dtype=dtype)
    theirs = keras.layers.BatchNormalization(dtype=dtype)
    x = _x((16, 4, 4, 3)) * 100.0  # sum of squares overflows float16 if computed in float16
    a, b = ours(x, training=True), theirs(x, training=True)
    assert a.dtype == b.dtype
    tol = 2e-2 if "bfloat16" in dtype else 3e-3
    np.testing.assert_allclose(np.asarray(a, "float32"), np.asarray(b, "float32"), atol=tol, rtol=tol)
    assert ours.moving_variance.dtype == theirs.moving_variance.dtype
    np.testing.assert_allclose(ours.moving_variance.numpy(), theirs.moving_variance.numpy(), rtol=1e-3)


def test_renorm_matches_keras():
    kwargs = dict(renorm=True, renorm_clipping={"rmax": 2.0, "rmin": 0.5, "dmax": 1.0}, momentum=0.9)
    ours, theirs = _pair("auto", **kwargs)
    batches = [_x((8, 3, 3, 4), seed=s) for s in range(3)]
    for a, b in zip(_run_steps(ours, batches), _run_steps(theirs, batches)):
        np.testing.assert_allclose(a, b, atol=1e-5)
    for name in ("moving_mean", "moving_variance", "moving_stddev", "renorm_mean", "renorm_stddev"):
        np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(theirs, name).numpy(), atol=1e-5)


def test_float64_reference_path():
    layer = BatchNormalization(dtype="float64")
    x = _x((8, 3, 3, 4)).astype("float64")
    y = layer(x, training=True).numpy()
    assert y.dtype == np.float64
    mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), atol=1e-12)


def test_golden_values_from_the_notes_formula():
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]], "float32")
    layer = BatchNormalization(momentum=0.5, epsilon=1e-3)
    y = layer(x, training=True).numpy()
    mean = x.mean(0)
    var = ((x - mean) ** 2).mean(0)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), atol=1e-6)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.5 * mean, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.5 + 0.5 * var, atol=1e-5)


# ------------------------------------------------------------------ distribution
@pytest.mark.parametrize("synchronized", [True, False])
def test_mirrored_statistics_match_keras(two_cpu_strategy, synchronized):
    """Under MirroredStrategy with 2 replicas: synchronized = statistics of the global batch."""
    x = _x((8, 3, 3, 4))
    layers = {}
    with two_cpu_strategy.scope():
        for name, cls in (("ours", BatchNormalization), ("keras", keras.layers.BatchNormalization)):
            layer = cls(synchronized=synchronized, momentum=0.0)
            layer.build(x.shape)
            layers[name] = layer
    dataset = two_cpu_strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(x).unbatch().batch(8))
    batch = next(iter(dataset))

    @tf.function
    def step(t):
        return [layers[k](t, training=True) for k in ("ours", "keras")]

    outs = two_cpu_strategy.run(step, args=(batch,))
    local = [two_cpu_strategy.experimental_local_results(o) for o in outs]
    for a, b in zip(local[0], local[1]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    ours_mean = layers["ours"].moving_mean.numpy()
    np.testing.assert_allclose(ours_mean, layers["keras"].moving_mean.numpy(), atol=1e-5)
    np.testing.assert_allclose(layers["ours"].moving_variance.numpy(), layers["keras"].moving_variance.numpy(), atol=1e-4)
    if synchronized:
        np.testing.assert_allclose(ours_mean, x.mean((0, 1, 2)), atol=1e-5)
        np.testing.assert_allclose(layers["ours"].moving_variance.numpy(), x.var((0, 1, 2)), atol=1e-4)


# ------------------------------------------------------------------ shared harness
@pytest.mark.parametrize("shape", [(4, 6), (4, 5, 5, 3)], ids=["dense", "conv"])
def test_harness_shapes_config_training(harness, shape):
    make = lambda: BatchNormalization(momentum=0.5)  # noqa: E731
    harness.check_shapes_and_weights(make, shape, shape, 2, 2, training=True)
    harness.check_config(make)
    harness.check_training_step(make, shape)


@pytest.mark.parametrize("axis", [-1, 1])
def test_harness_models_jit_and_saving(harness, tmp_path, axis):
    harness.check_models_and_saving(lambda: BatchNormalization(axis=axis, momentum=0.5), (4, 5, 5, 3), tmp_path)


@pytest.mark.parametrize("training", [True, False])
def test_harness_float64_gradients(harness, training):
    """float64 takes the reference path: in training, the hand-derived backward pass."""
    make = lambda: BatchNormalization(dtype="float64", momentum=0.5, gamma_initializer="random_normal",  # noqa: E731
                                      moving_variance_initializer=keras.initializers.Constant(1.7))
    harness.check_gradients_float64(make, (6, 3, 3, 2), training=training)


def test_harness_mirrored(harness, two_cpu_strategy):
    harness.check_mirrored(lambda: BatchNormalization(synchronized=True), (4, 5, 5, 3), two_cpu_strategy)


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"momentum": 1.5}, r"`momentum` must be in \[0, 1\). Received: momentum=1.5"),
        ({"epsilon": 0.0}, r"`epsilon` must be in \(0, inf\)"),
        ({"axis": 1.5}, "`axis` must be an integer"),
        ({"center": "yes"}, "`center` must be a bool"),
        ({"implementation": "cuda"}, "`implementation` must be one of"),
        ({"renorm": True, "renorm_clipping": {"rmax": 1.0, "rmin": 2.0}}, "`rmax` must be >= `rmin`"),
        ({"renorm": True, "renorm_clipping": {"bogus": 1.0}}, "`renorm_clipping` keys"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchNormalization(**kwargs)


def test_axis_out_of_bounds_and_bad_mask():
    with pytest.raises(ValueError, match="`axis` is out of bounds"):
        BatchNormalization(axis=4).build((2, 3, 3, 4))
    with pytest.raises(ValueError, match="`axis` is out of bounds"):
        BatchNormalization(axis=-5).compute_output_shape((2, 3, 3, 4))
    layer = BatchNormalization()
    with pytest.raises(ValueError, match="one dimension less"):
        layer(_x((2, 3, 4)), mask=np.ones((2, 3, 4), bool), training=True)


def test_same_constructor_arguments_and_defaults_as_keras():
    import inspect

    ours = inspect.signature(BatchNormalization.__init__).parameters
    theirs = inspect.signature(keras.layers.BatchNormalization.__init__).parameters
    for name, param in theirs.items():
        assert name in ours, name
        assert ours[name].default == param.default, name


# ------------------------------------------------------------------ the derived backward pass
def _autodiff_batch_norm(x, gamma, beta, axes, epsilon):
    mean = tf.reduce_mean(x, axes, keepdims=True)
    var = tf.reduce_mean(tf.square(x - mean), axes, keepdims=True)
    return gamma * (x - mean) / tf.sqrt(var + epsilon) + beta


def _naive_backward_batch_norm(x, gamma, beta, axes, epsilon):
    """A wrong derivation for the negative control: treats mean and var as constants."""
    mean = tf.stop_gradient(tf.reduce_mean(x, axes, keepdims=True))
    var = tf.stop_gradient(tf.reduce_mean(tf.square(x - mean), axes, keepdims=True))
    return gamma * (x - mean) / tf.sqrt(var + epsilon) + beta


def _gradients(fn, x, gamma, beta, probe):
    with tf.GradientTape() as tape:
        tape.watch([x, gamma, beta])
        out = fn(x, gamma, beta)
        loss = tf.reduce_sum((out[0] if isinstance(out, tuple) else out) * probe)
    return tape.gradient(loss, [x, gamma, beta])


@pytest.mark.parametrize("shape, axes", [((6, 4, 4, 3), [0, 1, 2]), ((9, 5), [0]), ((3, 4, 5, 5), [0, 2, 3])])
def test_derived_backward_equals_autodiff_float64(shape, axes):
    """dx = gamma/sqrt(var+eps) * (dy - mean(dy) - x_hat * mean(dy * x_hat)) equals autodiff."""
    rng = np.random.RandomState(3)
    params_shape = [1 if i in axes else n for i, n in enumerate(shape)]
    x = tf.constant(rng.randn(*shape) * 3 + 1)
    gamma, beta = tf.constant(rng.randn(*params_shape)), tf.constant(rng.randn(*params_shape))
    probe = tf.constant(rng.randn(*shape))
    derived = _gradients(lambda *a: batch_norm_train(*a, axes, 1e-3), x, gamma, beta, probe)
    autodiff = _gradients(lambda *a: _autodiff_batch_norm(*a, axes, 1e-3), x, gamma, beta, probe)
    for ours, reference in zip(derived, autodiff):
        np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-11, atol=1e-12)
    # Negative control: dropping the paths through mean and var changes dx by far more than that.
    naive = _gradients(lambda *a: _naive_backward_batch_norm(*a, axes, 1e-3), x, gamma, beta, probe)
    assert np.max(np.abs(naive[0].numpy() - autodiff[0].numpy())) > 1e-2


def test_reference_training_path_uses_the_derived_gradient():
    """The custom gradient shows in the graph as IdentityN; renorm (autodiff) is the control."""

    def custom_gradient_ops(layer):
        x = tf.constant(_x((4, 3, 3, 2)))
        layer.build(x.shape)

        def input_gradient(t):
            with tf.GradientTape() as tape:
                tape.watch(t)
                y = layer(t, training=True)
            return tape.gradient(y, t)

        graph = tf.function(input_gradient).get_concrete_function(x).graph
        return [op for op in graph.get_operations() if op.type == "IdentityN"]

    assert custom_gradient_ops(BatchNormalization(implementation="reference"))
    assert not custom_gradient_ops(BatchNormalization(implementation="reference", renorm=True))


def test_synchronized_gradients_equal_one_device_on_the_global_batch(two_cpu_strategy):
    """Under 2 replicas the derived backward pass sums over the global batch, as autodiff does."""
    x = _x((8, 3, 3, 4))
    probe = _x((8, 3, 3, 4), seed=5)
    weights = [np.linspace(0.5, 1.5, 4).astype("float32"), np.linspace(-1, 1, 4).astype("float32"),
               np.zeros(4, "float32"), np.ones(4, "float32")]
    single = BatchNormalization(implementation="reference")
    single.build(x.shape)
    single.set_weights(weights)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(single(xt, training=True) * probe)
    expected_dx, expected_dgamma = tape.gradient(loss, [xt, single.gamma])

    with two_cpu_strategy.scope():
        layer = BatchNormalization(implementation="reference", synchronized=True)
        layer.build(x.shape)
        layer.set_weights(weights)
    dataset = two_cpu_strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices((x, probe)).batch(8))
    batch = next(iter(dataset))

    @tf.function
    def step(t, p):
        with tf.GradientTape() as tape:
            tape.watch(t)
            replica_loss = tf.reduce_sum(layer(t, training=True) * p)
        return tape.gradient(replica_loss, [t, layer.gamma])

    dx, dgamma = two_cpu_strategy.run(step, args=batch)
    dx = np.concatenate([t.numpy() for t in two_cpu_strategy.experimental_local_results(dx)])
    dgamma = sum(t.numpy() for t in two_cpu_strategy.experimental_local_results(dgamma))
    np.testing.assert_allclose(dx, expected_dx.numpy(), atol=1e-5)
    np.testing.assert_allclose(dgamma, expected_dgamma.numpy(), atol=1e-4)
