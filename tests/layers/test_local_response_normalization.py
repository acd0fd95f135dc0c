import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tfcourse.layers import LocalResponseNormalization, local_response_normalization_reference
from tfcourse.layers.local_response_normalization import FASTER_KERNEL

IMPLEMENTATIONS = ["auto", "reference"]
ARGS = [
    dict(depth_radius=5, bias=1.0, alpha=1.0, beta=0.5),
    dict(depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75),  # AlexNet
    dict(depth_radius=0, bias=1.5, alpha=0.3, beta=1.0),
]


def _x(shape, seed=0, dtype="float32"):
    return np.random.RandomState(seed).randn(*shape).astype(dtype)


def _numpy_lrn(x, depth_radius, bias, alpha, beta):
    """The notes' formula, loop by loop over channels."""
    channels = x.shape[-1]
    out = np.empty_like(x)
    for d in range(channels):
        lo, hi = max(0, d - depth_radius), min(channels, d + depth_radius + 1)
        sqr_sum = np.sum(x[..., lo:hi] ** 2, axis=-1)
        out[..., d] = x[..., d] / (bias + alpha * sqr_sum) ** beta
    return out


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("args", ARGS)
def test_identical_to_tf_op_float32(impl, args):
    x = _x((2, 4, 4, 13))
    ours = LocalResponseNormalization(implementation=impl, **args)(x).numpy()
    theirs = tf.nn.local_response_normalization(x, **args).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours, _numpy_lrn(x.astype("float64"), **args), rtol=1e-5, atol=1e-6)


def test_float64_golden_and_float16():
    args = ARGS[1]
    x64 = _x((2, 3, 3, 7), dtype="float64")
    layer = LocalResponseNormalization(dtype="float64", **args)
    y = layer(x64)
    assert y.dtype == tf.float64
    np.testing.assert_allclose(y.numpy(), _numpy_lrn(x64, **args), rtol=1e-12)
    x16 = x64.astype("float16")
    for impl in IMPLEMENTATIONS:
        y16 = LocalResponseNormalization(dtype="float16", implementation=impl, **args)(x16)
        assert y16.dtype == tf.float16
        np.testing.assert_allclose(y16.numpy().astype("float64"), _numpy_lrn(x16.astype("float64"), **args),
                                   rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("shape", [(2, 4, 4, 9), (3, 9)])
def test_channels_first_equals_channels_last(shape):
    x = _x(shape)
    last = LocalResponseNormalization(depth_radius=2)(x).numpy()
    moved = np.moveaxis(x, -1, 1)
    first = LocalResponseNormalization(depth_radius=2, axis=1)(moved).numpy()
    np.testing.assert_allclose(np.moveaxis(first, 1, -1), last, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_fused_and_reference_gradients_agree(dtype):
    x = tf.constant(_x((2, 3, 3, 11), dtype=dtype))
    probe = tf.constant(_x((2, 3, 3, 11), seed=1, dtype=dtype))
    grads = {}
    for impl in IMPLEMENTATIONS:
        layer = LocalResponseNormalization(depth_radius=3, bias=1.0, alpha=0.5, beta=0.75, implementation=impl,
                                           dtype=dtype)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            loss = tf.reduce_sum(tf.cast(y * probe, tf.float32))
        grads[impl] = (y.numpy().astype("float32"), tape.gradient(loss, x).numpy().astype("float32"))
    tol = 1e-5 if dtype == "float32" else 5e-3
    for a, b in zip(grads["auto"], grads["reference"]):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_fused_path_choice(monkeypatch):
    gpus = tf.config.list_logical_devices("GPU")
    layer = LocalResponseNormalization()
    layer.build((2, 3, 3, 4))
    assert layer._use_fused(tf.zeros((2, 3, 3, 4))) == bool(gpus)  # CPU: the reference formula
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: ["/gpu:0"] if kind == "GPU" else [])
    assert layer._use_fused(tf.zeros((2, 3, 3, 4)))
    assert not layer._use_fused(tf.zeros((2, 3, 3, 4), tf.float64))
    assert not LocalResponseNormalization(implementation="reference")._use_fused(tf.zeros((2, 3, 3, 4)))
    first = LocalResponseNormalization(axis=1)
    first.build((2, 4, 3, 3))
    assert not first._use_fused(tf.zeros((2, 4, 3, 3)))


def test_auto_kernel_on_cpu_is_the_one_the_benchmark_measured_faster():
    results = json.loads((Path(__file__).resolve().parents[2] / "benchmarks/results/layers.json").read_text())
    assert results["summary"]["lrn_faster_kernel_on_cpu"] == FASTER_KERNEL["CPU"]


@pytest.mark.parametrize("beta", [0.5, 0.75, 1.0, 0.6])
def test_cheap_exponents_equal_pow_float64(beta):
    x = tf.constant(_x((2, 3, 3, 9), dtype="float64"))
    args = dict(depth_radius=2, bias=1.5, alpha=0.3, beta=beta)
    np.testing.assert_allclose(local_response_normalization_reference(x, **args).numpy(),
                               _numpy_lrn(x.numpy(), **args), rtol=1e-12)
    with tf.GradientTape() as tape:
        tape.watch(x)
        ours = tf.reduce_sum(local_response_normalization_reference(x, **args) * x)
    band = tf.constant(np.abs(np.arange(9)[:, None] - np.arange(9)[None, :]) <= 2, tf.float64)
    with tf.GradientTape() as tape_pow:
        tape_pow.watch(x)
        sqr_sum = tf.einsum("...c,cd->...d", tf.square(x), band)
        theirs = tf.reduce_sum(x / tf.pow(1.5 + 0.3 * sqr_sum, beta) * x)
    np.testing.assert_allclose(tape.gradient(ours, x).numpy(), tape_pow.gradient(theirs, x).numpy(), rtol=1e-10)


def test_reference_function_any_axis():
    x = tf.constant(_x((2, 5, 3)))
    a = local_response_normalization_reference(x, depth_radius=1, axis=1)
    b = tf.transpose(local_response_normalization_reference(tf.transpose(x, [0, 2, 1]), depth_radius=1), [0, 2, 1])
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


# ------------------------------------------------------------------ shared harness
@pytest.mark.parametrize("axis, shape", [(-1, (4, 5, 5, 6)), (1, (4, 6, 5, 5))])
def test_harness(harness, tmp_path, axis, shape):
    make = lambda: LocalResponseNormalization(depth_radius=2, bias=2.0, alpha=0.1, beta=0.75, axis=axis)  # noqa: E731
    harness.check_shapes_and_weights(make, shape, shape, 0, 0)
    harness.check_config(make)
    harness.check_models_and_saving(make, shape, tmp_path)


def test_harness_float64_gradients(harness):
    make = lambda: LocalResponseNormalization(depth_radius=2, bias=1.0, alpha=0.5, beta=0.75, dtype="float64")  # noqa: E731
    harness.check_gradients_float64(make, (2, 3, 3, 7), samples=20)
    make_first = lambda: LocalResponseNormalization(depth_radius=1, axis=1, dtype="float64")  # noqa: E731
    harness.check_gradients_float64(make_first, (2, 5, 3, 3), samples=20)


def test_harness_training_and_mirrored(harness, two_cpu_strategy):
    import keras

    make = lambda: LocalResponseNormalization(depth_radius=2)  # noqa: E731
    # no weights of its own: check a model around it trains
    model = keras.Sequential([keras.Input((5, 5, 3)), keras.layers.Conv2D(4, 3), make(), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    loss = model.train_on_batch(_x((4, 5, 5, 3)), _x((4, 1)))
    assert np.isfinite(loss)
    harness.check_mirrored(make, (4, 5, 5, 3), two_cpu_strategy)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"depth_radius": -1}, "`depth_radius` must be an integer >= 0"),
        ({"depth_radius": 2.5}, "`depth_radius` must be an integer"),
        ({"bias": 0.0}, r"`bias` must be in \(0, inf\)"),
        ({"alpha": -1.0}, r"`alpha` must be in \[0, inf\)"),
        ({"beta": -0.5}, r"`beta` must be in \[0, inf\)"),
        ({"implementation": "gpu"}, "`implementation` must be one of"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LocalResponseNormalization(**kwargs)


def test_axis_out_of_bounds():
    with pytest.raises(ValueError, match="`axis` is out of bounds"):
        LocalResponseNormalization(axis=3).build((2, 3, 3))
