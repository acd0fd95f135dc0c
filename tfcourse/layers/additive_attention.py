"""Additive (Bahdanau) attention written out, with its own query and key projections.

Introduced in lesson L16 (`lessons/16_seq2seq_attention.py`).
"""

import keras
from keras import ops

from tfcourse._validation import check_positive_int

# Keras's AdditiveAttention pushes masked scores down by this much (not -inf, which gives NaN
# when a whole row is masked); the same constant keeps the two layers equal.
_MASKED_SCORE = 1.0e9


@keras.saving.register_keras_serializable(package="tfcourse")
class BahdanauAttention(keras.layers.Layer):
    """Additive attention of Bahdanau et al. (2015). Introduced in lesson L16.

        query (B, Tq, Dq), value (B, Tv, Dv), mask (B, Tv) True where value is real
        score[b, i, j] = v . tanh(query[b, i] @ W_query + value[b, j] @ W_key)   # v, W: learned
        score[b, i, j] -= 1e9 where mask[b, j] is False
        weights[b, i, :] = softmax_j(score[b, i, :])
        context[b, i] = sum_j weights[b, i, j] * value[b, j]                      # (B, Tq, Dv)

    W_query is (Dq, units), W_key is (Dv, units), v is (units,), no biases. The same computation
    as keras.layers.AdditiveAttention(use_scale=True) called on the projected inputs:

        AdditiveAttention()([query @ W_query, value, value @ W_key], mask=[None, mask])
        with its `scale` (units,) set to v

    Keras's layer has no projections of its own (its query and key must already share a
    width); here they are part of the layer, as in the paper. `return_attention_scores=True`
    also returns `weights` (B, Tq, Tv), what the lesson's heat-maps draw.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        # The encoder's padding mask arrives as `mask`; no mask flows on past the context.
        self.supports_masking = True

    def build(self, query_shape, value_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        self.query_kernel = self.add_weight(name="query_kernel", shape=(query_shape[-1], self.units),
                                            initializer="glorot_uniform")
        self.key_kernel = self.add_weight(name="key_kernel", shape=(value_shape[-1], self.units),
                                          initializer="glorot_uniform")
        self.scale = self.add_weight(name="scale", shape=(self.units,), initializer="glorot_uniform")

    def call(self, query, value, mask=None, return_attention_scores=False):
        projected_query = ops.expand_dims(ops.matmul(query, self.query_kernel), axis=-2)  # (B, Tq, 1, U)
        projected_key = ops.expand_dims(ops.matmul(value, self.key_kernel), axis=-3)  # (B, 1, Tv, U)
        scores = ops.sum(self.scale * ops.tanh(projected_query + projected_key), axis=-1)  # (B, Tq, Tv)
        if mask is not None:
            padding = ops.expand_dims(ops.logical_not(ops.cast(mask, "bool")), axis=-2)
            scores = ops.where(padding, scores - _MASKED_SCORE, scores)
        weights = ops.softmax(scores, axis=-1)
        context = ops.matmul(weights, value)
        return (context, weights) if return_attention_scores else context

    def compute_mask(self, *args, **kwargs):
        return None

    def compute_output_shape(self, query_shape, value_shape=None):
        value_shape = query_shape if value_shape is None else value_shape
        return (*query_shape[:-1], value_shape[-1])

    def compute_output_spec(self, query, value, mask=None, return_attention_scores=False):
        context = keras.KerasTensor((*query.shape[:-1], value.shape[-1]), dtype=self.compute_dtype)
        if not return_attention_scores:
            return context
        return context, keras.KerasTensor((*query.shape[:-1], value.shape[1]), dtype=self.compute_dtype)

    def get_config(self):
        return {**super().get_config(), "units": self.units}
