"""Greedy decoding and beam search: a toy chain with known answers, brute force, width 1 == greedy."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.seq2seq import beam_search, build_seq2seq, greedy_decode


class MarkovChain:
    """The decoder protocol with p(next | previous) from a fixed table; the source is ignored."""

    def __init__(self, transitions):
        self.log_table = tf.math.log(tf.constant(transitions, tf.float32))

    def encode(self, source):
        batch = tf.shape(source)[0]
        return tf.zeros((batch, 1, 1)), tf.zeros((batch, 1)), tf.ones((batch, 1), bool)

    def decode_step(self, previous, state, memory, mask):
        return tf.gather(self.log_table, previous), state + 1.0, None


# From START (0): token 1 with 0.6, token 2 with 0.4. After 1: a flat 0.3 / 0.35 / 0.35 (best path 0.6 * 0.35
# = 0.21); after 2: token 2 with 0.9 (0.4 * 0.9 = 0.36). Greedy takes 1 and misses the better sequence.
TRAP = [[1e-9, 0.6, 0.4], [0.3, 0.35, 0.35], [0.05, 0.05, 0.9]]
SOURCE = np.ones((1, 3), "int32")


def test_greedy_falls_into_the_trap_and_beam_search_escapes():
    greedy = greedy_decode(MarkovChain(TRAP), SOURCE, length=2)
    assert greedy.tokens.numpy().tolist() == [[1, 1]]
    np.testing.assert_allclose(greedy.scores.numpy(), [np.log(0.6 * 0.35)], rtol=1e-6)
    beam = beam_search(MarkovChain(TRAP), SOURCE, length=2, beam_width=2)
    assert beam.tokens[0].tolist() == [[2, 2], [1, 1]]
    np.testing.assert_allclose(beam.scores[0], np.log([0.36, 0.6 * 0.35]), rtol=1e-6)


def test_full_width_beam_equals_brute_force_for_two_steps():
    rng = np.random.RandomState(0)
    table = rng.dirichlet(np.ones(4), size=4)
    # With width = vocabulary, step 1 keeps every first token, so step 2 ranks all 16 sequences.
    beam = beam_search(MarkovChain(table), SOURCE, length=2, beam_width=4)
    scores = {(a, b): np.log(table[0, a] * table[a, b]) for a, b in itertools.product(range(4), repeat=2)}
    best = sorted(scores, key=scores.get, reverse=True)[:4]
    assert [tuple(row) for row in beam.tokens[0]] == best
    np.testing.assert_allclose(beam.scores[0], [scores[s] for s in best], rtol=1e-5)


@pytest.fixture(scope="module")
def random_model_and_source():
    keras.utils.set_random_seed(0)
    model = build_seq2seq(30, 12, units=16, embedding_dim=8)
    source = np.random.RandomState(0).randint(0, 30, (64, 9)).astype("int32")
    source[:, 0] = np.maximum(source[:, 0], 2)
    return model, source


def test_width_one_is_greedy(random_model_and_source):
    model, source = random_model_and_source
    greedy = greedy_decode(model, source, length=6)
    beam = beam_search(model, source, length=6, beam_width=1)
    np.testing.assert_array_equal(beam.tokens[:, 0], greedy.tokens.numpy())
    np.testing.assert_allclose(beam.scores[:, 0], greedy.scores.numpy(), rtol=1e-6, atol=1e-6)
    assert greedy.attention.shape == (64, 6, 9)


def test_wider_beam_scores_at_least_greedy_on_a_model(random_model_and_source):
    model, source = random_model_and_source
    greedy = greedy_decode(model, source, length=6).scores.numpy()
    beam = beam_search(model, source, length=6, beam_width=4)
    assert np.all(np.diff(beam.scores, axis=1) <= 0)  # best first
    assert np.all(beam.scores[:, 0] >= greedy - 1e-5)
    assert np.sum(beam.scores[:, 0] > greedy + 1e-4) > 0  # not vacuous: it finds better ones on this model
    # Each returned score is its sequence's log-probability, rescored by teacher forcing.
    tokens = beam.tokens[:, 1]
    target_in = np.concatenate([np.zeros((64, 1), "int32"), tokens[:, :-1]], axis=1)
    log_probs = tf.nn.log_softmax(model((source, target_in)), axis=-1).numpy()
    rescored = np.take_along_axis(log_probs, tokens[..., None], axis=-1)[..., 0].sum(-1)
    np.testing.assert_allclose(beam.scores[:, 1], rescored, rtol=1e-4, atol=1e-4)


def test_validation_errors(random_model_and_source):
    model, source = random_model_and_source
    with pytest.raises(ValueError, match=r"`beam_width` must be an integer >= 1. Received: beam_width=0"):
        beam_search(model, source, length=3, beam_width=0)
    with pytest.raises(ValueError, match=r"`beam_width` must be at most the vocabulary size 12"):
        beam_search(model, source, length=3, beam_width=13)
    with pytest.raises(ValueError, match=r"`length` must be an integer >= 1"):
        greedy_decode(model, source, length=0)
