"""BahdanauAttention: closed form, parity with keras.layers.AdditiveAttention, masking, config, gradients."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.layers import BahdanauAttention


def _inputs(batch=3, tq=4, tv=6, dq=5, dv=7, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(batch, tq, dq).astype("float32"), rng.randn(batch, tv, dv).astype("float32")


def _mask(batch=3, tv=6):
    lengths = np.array([6, 4, 1])[:batch]
    return np.arange(tv)[None, :] < lengths[:, None]


def _numpy_reference(layer, query, value, mask):
    wq, wk, v = (np.asarray(w, "float64") for w in (layer.query_kernel, layer.key_kernel, layer.scale))
    scores = np.tanh((query @ wq)[:, :, None, :] + (value @ wk)[:, None, :, :]) @ v  # (B, Tq, Tv)
    scores = np.where(mask[:, None, :], scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return weights @ value, weights


def test_closed_form_against_numpy():
    query, value = _inputs()
    mask = _mask()
    layer = BahdanauAttention(8)
    context, weights = layer(query, value, mask=mask, return_attention_scores=True)
    expected_context, expected_weights = _numpy_reference(layer, query, value, mask)
    np.testing.assert_allclose(context, expected_context, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(weights, expected_weights, rtol=1e-5, atol=1e-6)
    assert context.shape == (3, 4, 7) and weights.shape == (3, 4, 6)


def test_one_key_gets_all_the_weight():
    # Golden value: with a single (unmasked) key, the context is that key's value whatever the scores.
    query, value = _inputs(tv=6)
    mask = np.zeros((3, 6), bool)
    mask[:, 2] = True
    context = BahdanauAttention(4)(query, value, mask=mask)
    np.testing.assert_allclose(context, np.repeat(value[:, 2:3], 4, axis=1), rtol=1e-6)


@pytest.mark.parametrize("masked", [False, True])
def test_equals_keras_additive_attention_on_the_same_weights(masked):
    query, value = _inputs()
    mask = _mask() if masked else None
    ours = BahdanauAttention(8)
    context, weights = ours(query, value, mask=mask, return_attention_scores=True)
    theirs = keras.layers.AdditiveAttention(use_scale=True)
    inputs = [query @ ours.query_kernel.numpy(), value, value @ ours.key_kernel.numpy()]
    theirs(inputs)
    theirs.scale.assign(ours.scale)
    keras_context, keras_weights = theirs(inputs, mask=[None, mask], return_attention_scores=True)
    np.testing.assert_allclose(context, keras_context, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(weights, keras_weights, rtol=1e-6, atol=1e-7)
    # Negative control: Keras's layer with its own (other) scale does not match.
    other = keras.layers.AdditiveAttention(use_scale=True)
    assert np.max(np.abs(other(inputs, mask=[None, mask]) - context)) > 1e-3


def test_mask_removes_padding_and_unmasked_padding_would_leak():
    query, value = _inputs()
    mask = _mask()
    layer = BahdanauAttention(8)
    _, weights = layer(query, value, mask=mask, return_attention_scores=True)
    assert np.all(weights.numpy()[~np.broadcast_to(mask[:, None, :], weights.shape)] == 0)
    changed = value.copy()
    changed[~mask] = 100.0  # whatever sits in the padding cannot change the context
    np.testing.assert_allclose(layer(query, changed, mask=mask), layer(query, value, mask=mask), rtol=1e-6)
    assert np.max(np.abs(layer(query, changed) - layer(query, value))) > 1.0  # without the mask it does


def test_config_round_trip_and_registration(harness):
    harness.check_config(lambda: BahdanauAttention(6, name="att"))


def test_functional_model_saves_and_reloads(tmp_path):
    query_in, value_in = keras.Input((None, 5)), keras.Input((None, 7))
    model = keras.Model([query_in, value_in], BahdanauAttention(4)(query_in, value_in))
    query, value = _inputs()
    path = tmp_path / "attention.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(reloaded([query, value]), model([query, value]), rtol=1e-6)


def test_gradients_float64_match_finite_differences():
    query, value = (x.astype("float64") for x in _inputs(batch=2, tq=2, tv=3, dq=3, dv=2))
    layer = BahdanauAttention(3, dtype="float64")
    layer(query, value)

    def loss():
        return tf.reduce_sum(tf.sin(layer(query, value)))

    with tf.GradientTape() as tape:
        value_ = loss()
    grads = tape.gradient(value_, layer.trainable_weights)
    step = 1e-6
    for variable, grad in zip(layer.trainable_weights, grads):
        flat = variable.numpy().reshape(-1)
        numeric = np.zeros_like(flat)
        for i in range(flat.size):
            for sign in (1, -1):
                shifted = flat.copy()
                shifted[i] += sign * step
                variable.assign(shifted.reshape(variable.shape))
                numeric[i] += sign * float(loss()) / (2 * step)
            variable.assign(flat.reshape(variable.shape))
        np.testing.assert_allclose(grad.numpy().reshape(-1), numeric, rtol=1e-6, atol=1e-9)


def test_units_validation():
    with pytest.raises(ValueError, match=r"`units` must be an integer >= 1. Received: units=0"):
        BahdanauAttention(0)
