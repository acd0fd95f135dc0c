"""Greedy decoding and beam search for an encoder-decoder with `encode` / `decode_step`.

Introduced in lesson L16 (`lessons/16_seq2seq_attention.py`). The model protocol:

    memory, state, mask = model.encode(source)                      # source (B, Tv)
    logits, state, weights = model.decode_step(previous, state, memory, mask)   # previous (B,)

Both decoders run a fixed number of steps (`length`, 10 for "YYYY-MM-DD"), so every candidate
has the same length and scores compare without a length penalty. A sequence's score is
sum_t log p(y_t | y_<t, source).
"""

import dataclasses

import numpy as np
import tensorflow as tf

from tfcourse._validation import check_int, check_positive_int

__all__ = ["BeamResult", "GreedyResult", "beam_search", "greedy_decode"]


@dataclasses.dataclass
class GreedyResult:
    """What `greedy_decode` returns (lesson L16): tokens (B, T), scores (B,), attention (B, T, Tv) or None."""

    tokens: tf.Tensor
    scores: tf.Tensor
    attention: tf.Tensor | None


@dataclasses.dataclass
class BeamResult:
    """What `beam_search` returns (lesson L16): tokens (B, K, T), scores (B, K), best first."""

    tokens: np.ndarray
    scores: np.ndarray


def greedy_decode(model, source, length, start=0):
    """Feed back the most likely token at each step (lesson L16). TF ops only: runs in a tf.function.

        y_0 = START ; for t = 1..length: y_t = argmax_v log p(v | y_<t) ; score += log p(y_t | y_<t)
    """
    length = check_positive_int("length", length)
    memory, state, mask = model.encode(source)
    previous = tf.fill(tf.shape(source)[:1], tf.constant(start, tf.int32))
    tokens, scores, attention = [], 0.0, []
    for _ in range(length):
        logits, state, weights = model.decode_step(previous, state, memory, mask)
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
        previous = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        scores += tf.gather(log_probs, previous, batch_dims=1)
        tokens.append(previous)
        attention.append(weights)
    stacked_attention = None if attention[0] is None else tf.stack(attention, axis=1)
    return GreedyResult(tf.stack(tokens, axis=1), scores, stacked_attention)


def beam_search(model, source, length, beam_width, start=0):
    """Keep the `beam_width` best partial sequences at every step (lesson L16).

        beams = {(START,): 0}
        for t = 1..length:
            candidates = {b + (v,): score(b) + log p(v | b) for b in beams, v in vocabulary}
            beams = the beam_width candidates with the highest scores
        return beams, best first

    Batched: the B * K beams run through `decode_step` together; each keeps its own decoder
    state, gathered from its parent beam after every step. Width 1 is greedy decoding. A wider
    beam usually finds a sequence at least as likely as greedy's, but not always: greedy's
    prefix can fall out of the beam at one step and its completion be missed.
    """
    length = check_positive_int("length", length)
    beam_width = check_positive_int("beam_width", beam_width)
    start = check_int("start", start, low=0)
    memory, state, mask = model.encode(source)
    batch = int(memory.shape[0])
    repeat = lambda t: tf.repeat(t, beam_width, axis=0)  # noqa: E731  (B, ...) -> (B*K, ...), beams of b adjacent
    memory, state, mask = repeat(memory), repeat(state), repeat(mask)
    scores = np.full((batch, beam_width), -np.inf, np.float32)  # float32 sums, as greedy_decode
    scores[:, 0] = 0.0  # one live beam at first, or the K copies of START would fill the beam
    history = np.zeros((batch, beam_width, 0), np.int32)
    previous = np.full(batch * beam_width, start, np.int32)
    rows = np.arange(batch)[:, None]
    for _ in range(length):
        logits, state, _ = model.decode_step(tf.constant(previous), state, memory, mask)
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1).numpy()
        vocabulary = log_probs.shape[-1]
        if beam_width > vocabulary:
            raise ValueError(f"`beam_width` must be at most the vocabulary size {vocabulary}. "
                             f"Received: beam_width={beam_width}")  # fmt: skip
        total = scores[:, :, None] + log_probs.reshape(batch, beam_width, vocabulary)
        best = tf.math.top_k(tf.constant(total.reshape(batch, -1)), k=beam_width)  # sorted; ties: lower index
        scores, flat = best.values.numpy(), best.indices.numpy()
        parent, token = flat // vocabulary, (flat % vocabulary).astype(np.int32)
        history = np.concatenate([history[rows, parent], token[:, :, None]], axis=-1)
        state = tf.gather(state, (rows * beam_width + parent).reshape(-1))
        previous = token.reshape(-1)
    return BeamResult(history, scores)
