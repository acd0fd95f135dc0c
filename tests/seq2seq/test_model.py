"""Seq2Seq: one-step decoding equals the teacher-forced pass, padding is ignored, config and saving."""

import keras
import numpy as np
import pytest

from tfcourse.seq2seq import Seq2Seq, build_seq2seq, teacher_forcing_inputs


def _batch(seed=0, width=7, lengths=(7, 5, 2)):
    rng = np.random.RandomState(seed)
    source = rng.randint(2, 30, (len(lengths), width)).astype("int32")
    for row, length in enumerate(lengths):
        source[row, length:] = 0
    target = rng.randint(1, 12, (len(lengths), 5)).astype("int32")
    return source, target


def test_teacher_forcing_inputs_golden():
    np.testing.assert_array_equal(teacher_forcing_inputs(np.array([[5, 6, 7], [1, 2, 3]])), [[0, 5, 6], [0, 1, 2]])
    np.testing.assert_array_equal(teacher_forcing_inputs(np.array([[5, 6]]), start=9), [[9, 5]])


@pytest.mark.parametrize("attention", [True, False])
def test_step_by_step_decoding_equals_the_teacher_forced_pass(attention):
    keras.utils.set_random_seed(0)
    model = build_seq2seq(30, 12, units=16, embedding_dim=8, attention=attention)
    source, target = _batch()
    target_in = teacher_forcing_inputs(target)
    full = model((source, target_in)).numpy()
    memory, state, mask = model.encode(source)
    steps = []
    for t in range(target.shape[1]):
        logits, state, weights = model.decode_step(target_in[:, t], state, memory, mask)
        steps.append(logits.numpy())
        assert (weights is None) == (not attention)
    np.testing.assert_allclose(np.stack(steps, axis=1), full, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("attention", [True, False])
def test_padding_does_not_change_the_output(attention):
    keras.utils.set_random_seed(1)
    model = build_seq2seq(30, 12, units=16, embedding_dim=8, attention=attention)
    source, target = _batch()
    target_in = teacher_forcing_inputs(target)
    padded = np.pad(source, ((0, 0), (0, 9)))
    np.testing.assert_allclose(model((padded, target_in)), model((source, target_in)), rtol=1e-5, atol=1e-6)
    changed = source.copy()
    changed[2, 0] = 3 if source[2, 0] != 3 else 4  # negative control: a real character does change it
    assert np.max(np.abs(model((changed, target_in))[2] - model((source, target_in))[2])) > 1e-4


def test_attention_weights_are_a_distribution_over_real_characters():
    keras.utils.set_random_seed(2)
    model = build_seq2seq(30, 12, units=16, embedding_dim=8)
    source, _ = _batch()
    memory, state, mask = model.encode(source)
    _, _, weights = model.decode_step(np.zeros(3, "int32"), state, memory, mask)
    weights = weights.numpy()
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)
    assert np.all(weights[source == 0] == 0) and np.all(weights[source != 0] > 0)


def test_config_and_keras_file_round_trip(tmp_path):
    keras.utils.set_random_seed(3)
    model = build_seq2seq(30, 12, units=8, embedding_dim=4, attention=True, name="dates")
    assert Seq2Seq.from_config(model.get_config()).get_config() == model.get_config()
    source, target = _batch()
    inputs = (source, teacher_forcing_inputs(target))
    model.save(tmp_path / "seq2seq.keras")
    reloaded = keras.saving.load_model(tmp_path / "seq2seq.keras")
    assert isinstance(reloaded, Seq2Seq) and reloaded.attention
    np.testing.assert_allclose(reloaded(inputs), model(inputs), rtol=1e-6)


def test_without_attention_has_no_attention_weights():
    with_attention = build_seq2seq(30, 12, units=8, embedding_dim=4, attention=True)
    without = build_seq2seq(30, 12, units=8, embedding_dim=4, attention=False)
    assert without.attention_layer is None
    # The attention layer's weights: W_q (8, 8), W_k (16, 8), v (8,); and `combine` reads [h, c] (8 + 16).
    assert with_attention.count_params() - without.count_params() == 8 * 8 + 16 * 8 + 8 + 16 * 8


def test_validation_errors():
    with pytest.raises(ValueError, match=r"`units` must be an integer >= 1. Received: units=0"):
        Seq2Seq(30, 12, units=0)
    with pytest.raises(ValueError, match=r"`attention` must be"):
        Seq2Seq(30, 12, attention="yes")
