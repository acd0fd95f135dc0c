"""Shared checks run for every tfcourse layer.

Each `check_*` takes a zero-argument `make_layer` (a fresh layer each call) and an input shape
with the batch dimension first. Tests get this module through the `harness` fixture
(tests/layers/conftest.py), so its name never collides with another folder's helpers.

    check_shapes_and_weights   compute_output_shape == real output shape; weight counts
    check_config               get_config/from_config round trip, registered "tfcourse>" name
    check_models_and_saving    Sequential + functional, jit_compile, .keras and SavedModel
                               round trips with identical outputs
    check_training_step        one optimizer step changes the layer's trainable weights
    check_gradients_float64    tape gradients == central finite differences (float64)
    check_mirrored             fit + predict under MirroredStrategy over two logical CPUs equal
                               the single-device run (losses, weights, predictions)
"""

import copy

import keras
import numpy as np
import tensorflow as tf

from tfcourse.diagnostics import gradient_check


def random_inputs(shape, seed=0, dtype="float32", scale=1.0, shift=0.0):
    return (np.random.RandomState(seed).randn(*shape) * scale + shift).astype(dtype)


def check_shapes_and_weights(make_layer, input_shape, output_shape, n_trainable, n_non_trainable, **call_kwargs):
    layer = make_layer()
    assert tuple(layer.compute_output_shape((None,) + tuple(input_shape[1:]))) == (None,) + tuple(output_shape[1:])
    outputs = layer(random_inputs(input_shape), **call_kwargs)
    assert tuple(outputs.shape) == tuple(output_shape)
    assert tuple(layer.compute_output_shape(tuple(input_shape))) == tuple(output_shape)
    assert len(layer.trainable_weights) == n_trainable
    assert len(layer.non_trainable_weights) == n_non_trainable
    return layer


def check_config(make_layer):
    layer = make_layer()
    cls = type(layer)
    assert keras.saving.get_registered_name(cls) == f"tfcourse>{cls.__name__}"
    config = layer.get_config()
    clone = cls.from_config(copy.deepcopy(config))  # Keras's Wrapper.from_config pops keys
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is cls
    assert restored.get_config() == config


def _models(make_layer, input_shape):
    seq = keras.Sequential([keras.Input(input_shape[1:]), make_layer()])
    inputs = keras.Input(input_shape[1:])
    func = keras.Model(inputs, make_layer()(inputs))
    return seq, func


def check_models_and_saving(make_layer, input_shape, tmp_path, *, atol=1e-6, train_first=True):
    """Sequential and functional models; jit; .keras and SavedModel round trips."""
    x = random_inputs(input_shape, seed=1)
    seq, func = _models(make_layer, input_shape)
    for model in (seq, func):
        if train_first:  # so moving statistics / data-dependent init are not at their defaults
            model(x, training=True)
        eager = model(x, training=False).numpy()
        assert np.isfinite(eager).all()
        jitted = tf.function(lambda t, m=model: m(t, training=False), jit_compile=True)(tf.constant(x))
        np.testing.assert_allclose(jitted.numpy(), eager, atol=atol, rtol=1e-5)

    path = tmp_path / "model.keras"
    seq.save(path)
    loaded = keras.saving.load_model(path)
    reference = seq(x, training=False).numpy()
    np.testing.assert_allclose(loaded(x, training=False).numpy(), reference, atol=atol, rtol=1e-6)

    export_dir = str(tmp_path / "saved_model")
    seq.export(export_dir, verbose=False)
    reloaded = tf.saved_model.load(export_dir)  # keep a reference: its variables die with it
    served = reloaded.serve(tf.constant(x))
    np.testing.assert_allclose(served.numpy(), reference, atol=atol, rtol=1e-6)


def check_training_step(make_layer, input_shape, *, jit_compile=True):
    """One `train_on_batch` step (XLA-compiled by default): finite loss, trainable weights move."""
    layer = make_layer()
    model = keras.Sequential(
        [keras.Input(input_shape[1:]), layer, keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", jit_compile=jit_compile)
    x = random_inputs(input_shape, seed=2)
    y = random_inputs((input_shape[0], 1), seed=3)
    model(x, training=True)  # a data-dependent init (WeightNormalization) happens here
    before = [w.numpy().copy() for w in layer.trainable_weights]
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    after = [w.numpy() for w in layer.trainable_weights]
    for old, new in zip(before, after):
        assert not np.allclose(old, new), "a trainable weight did not change after one step"


def check_gradients_float64(make_layer, input_shape, *, training=False, samples=12, step=1e-6, rtol=1e-6, seed=0):
    """`tfcourse.diagnostics.gradient_check` in float64 [001 §1] on a sample of coordinates of
    the inputs and of every trainable weight (all of each bias). Returns the worst relative error."""
    layer = make_layer()
    x = tf.Variable(random_inputs(input_shape, seed=seed, dtype="float64"))
    layer(x, training=training)
    probe = tf.constant(random_inputs(layer(x, training=training).shape, seed=seed + 1, dtype="float64"))
    variables = [x] + [w.value if hasattr(w, "value") else w for w in layer.trainable_weights]
    for v in variables:
        assert v.dtype == tf.float64, f"{v.name} is {v.dtype}, expected float64"
    report = gradient_check(lambda: tf.reduce_sum(layer(x, training=training) * probe), variables=variables,
                            samples=samples, step=step, seed=seed)
    assert not report.kinks, f"unexpected kink crossings: {report.kinks}"
    assert report.max_error < rtol, f"gradient check failed:\n{report}"
    return report.max_error


def check_mirrored(make_layer, input_shape, strategy, *, rtol=1e-4, atol=1e-5):
    """fit + predict under MirroredStrategy (two logical CPUs) give the single-device values.

    Both models start from the same weights and see the same batches (each global batch split
    across the two replicas); their per-epoch losses, final weights and predictions must agree
    to float32 rounding (the replicas sum partial gradients in another order).
    """

    def build():
        model = keras.Sequential(
            [keras.Input(input_shape[1:]), make_layer(), keras.layers.Flatten(), keras.layers.Dense(1)]
        )
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        return model

    batch = 2 * input_shape[0]
    x = random_inputs((batch,) + tuple(input_shape[1:]), seed=4)
    y = random_inputs((batch, 1), seed=5)
    single = build()
    start = single.get_weights()
    with strategy.scope():
        model = build()
    model.set_weights(start)
    history = model.fit(x, y, batch_size=batch, epochs=2, shuffle=False, verbose=0)
    single_history = single.fit(x, y, batch_size=batch, epochs=2, shuffle=False, verbose=0)
    predictions = model.predict(x, batch_size=batch, verbose=0)
    assert np.isfinite(history.history["loss"]).all() and np.isfinite(predictions).all()
    np.testing.assert_allclose(history.history["loss"], single_history.history["loss"], rtol=rtol, atol=atol)
    for mirrored_weight, single_weight in zip(model.get_weights(), single.get_weights()):
        np.testing.assert_allclose(mirrored_weight, single_weight, rtol=rtol, atol=atol)
    np.testing.assert_allclose(predictions, single.predict(x, batch_size=batch, verbose=0), rtol=rtol, atol=atol)
    # Negative control: training moved the weights, so agreement is not two untouched copies.
    assert any(not np.allclose(w, s) for w, s in zip(model.get_weights(), start))
    return model
