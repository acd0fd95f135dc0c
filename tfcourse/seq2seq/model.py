"""A GRU encoder-decoder, with or without additive attention, trained by teacher forcing.

Introduced in lesson L16 (`lessons/16_seq2seq_attention.py`).
"""

import keras
from keras import ops

from tfcourse._validation import check_bool, check_positive_int
from tfcourse.layers.additive_attention import BahdanauAttention


@keras.saving.register_keras_serializable(package="tfcourse")
class Seq2Seq(keras.Model):
    """Bidirectional GRU encoder, GRU decoder, optional Bahdanau attention. Introduced in lesson L16.

        encoder:  e = Embedding(source) ; (memory, h_fwd, h_bwd) = BiGRU(e)   # memory (B, Tv, 2U)
                  h_0 = tanh([h_fwd, h_bwd] @ W_init + b)                      # the decoder's start
        decoder:  y_0 = START ; for t = 1..T:
                  h_t = GRU(Embedding(y_{t-1}), h_{t-1})
                  c_t = BahdanauAttention(h_t, memory, mask)   (attention=True only)
                  o_t = tanh([h_t, c_t] @ W_o + b_o)          ([h_t] without attention)
                  logits_t = o_t @ W_out + b_out              # next-token scores (B, V)

    Teacher forcing: `call((source, target_in))` feeds the true previous tokens target_in =
    [START, y_1, ..., y_{T-1}] and returns logits (B, T, V) for y_1..y_T in one pass, so one GRU
    call covers the whole target. Decoding (`tfcourse.seq2seq.decoding`) instead feeds back the
    model's own tokens through `encode` and `decode_step`, the same layers one step at a time.
    Without attention the decoder sees the source only through h_0: the whole date squeezed
    into one vector. Attention is applied to the decoder's output, as in Luong et al. (2015)
    and TensorFlow's NMT tutorial, with Bahdanau's additive score.
    """

    def __init__(self, input_vocabulary, output_vocabulary, units=64, embedding_dim=32, attention=True, **kwargs):
        super().__init__(**kwargs)
        self.input_vocabulary = check_positive_int("input_vocabulary", input_vocabulary)
        self.output_vocabulary = check_positive_int("output_vocabulary", output_vocabulary)
        self.units = check_positive_int("units", units)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.attention = check_bool("attention", attention)
        self.source_embedding = keras.layers.Embedding(input_vocabulary, embedding_dim, name="source_embedding")
        self.encoder = keras.layers.Bidirectional(
            keras.layers.GRU(units, return_sequences=True, return_state=True), name="encoder"
        )
        self.initial_state = keras.layers.Dense(units, activation="tanh", name="initial_state")
        self.target_embedding = keras.layers.Embedding(output_vocabulary, embedding_dim, name="target_embedding")
        self.decoder = keras.layers.GRU(units, return_sequences=True, return_state=True, name="decoder")
        self.attention_layer = BahdanauAttention(units, name="attention") if attention else None
        self.combine = keras.layers.Dense(units, activation="tanh", name="combine")
        self.logits = keras.layers.Dense(output_vocabulary, name="logits")

    def encode(self, source):
        """source tokens (B, Tv), 0 = padding -> (memory (B, Tv, 2U), h_0 (B, U), mask (B, Tv))."""
        mask = ops.not_equal(source, 0)
        memory, forward, backward = self.encoder(self.source_embedding(source), mask=mask)
        return memory, self.initial_state(ops.concatenate([forward, backward], axis=-1)), mask

    def _head(self, outputs, memory, mask):
        if self.attention_layer is None:
            return self.logits(self.combine(outputs)), None
        context, weights = self.attention_layer(outputs, memory, mask=mask, return_attention_scores=True)
        return self.logits(self.combine(ops.concatenate([outputs, context], axis=-1))), weights

    def decode_step(self, previous_tokens, state, memory, mask):
        """One step: previous tokens (B,), state (B, U) -> (logits (B, V), new state, weights (B, Tv) or None)."""
        # The GRU layer's own cell, one step: the same weights and arithmetic as `call`'s GRU
        # pass, without the layer's loop over time (cheaper to run and to trace for export).
        outputs, state = self.decoder.cell(self.target_embedding(previous_tokens), state)
        state = state[0] if isinstance(state, (list, tuple)) else state
        logits, weights = self._head(ops.expand_dims(outputs, axis=1), memory, mask)
        return logits[:, 0], state, None if weights is None else weights[:, 0]

    def call(self, inputs):
        source, target_in = inputs
        memory, state, mask = self.encode(source)
        outputs, _ = self.decoder(self.target_embedding(target_in), initial_state=state)
        return self._head(outputs, memory, mask)[0]

    def get_config(self):
        return {**super().get_config(), "input_vocabulary": self.input_vocabulary,
                "output_vocabulary": self.output_vocabulary, "units": self.units,
                "embedding_dim": self.embedding_dim, "attention": self.attention}  # fmt: skip


def teacher_forcing_inputs(targets, start=0):
    """targets (N, T) -> decoder inputs [START, y_1, ..., y_{T-1}] (N, T) (lesson L16)."""
    targets = ops.convert_to_numpy(targets)
    shifted = targets.copy()
    shifted[:, 1:], shifted[:, 0] = targets[:, :-1], start
    return shifted


def build_seq2seq(input_vocabulary, output_vocabulary, *, units=64, embedding_dim=32, attention=True, name=None):
    """A `Seq2Seq` with its weights created (one call on a zero batch), ready for `train` (lesson L16).

        model = Seq2Seq(...) ; model((ones (1, 2), zeros (1, 1)))   # builds every layer
    """
    model = Seq2Seq(input_vocabulary, output_vocabulary, units=units, embedding_dim=embedding_dim,
                    attention=attention, name=name)  # fmt: skip
    model((ops.ones((1, 2), "int32"), ops.zeros((1, 1), "int32")))
    return model
