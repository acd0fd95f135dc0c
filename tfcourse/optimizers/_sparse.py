"""Sparse-gradient helper shared by the adaptive optimizers (private).

An `Embedding` that looks a token up twice in one batch produces an `IndexedSlices`
gradient with that row twice. Linear updates (SGD, momentum) can scatter-add the pieces,
but AdaGrad / RMSProp / Adam square the gradient: squaring the pieces and adding gives
a**2 + b**2 where the dense gradient gives (a + b)**2. (Keras 3.15's built-in Adagrad,
RMSprop and Adam do exactly that; tfcourse sums the duplicates first, so a sparse
gradient gives the same result as its dense equivalent.)
"""

import tensorflow as tf


def sum_duplicate_rows(gradient):
    """An `IndexedSlices` with each row once (values of repeated rows summed); dense passes."""
    if not isinstance(gradient, tf.IndexedSlices):
        return gradient
    rows, positions = tf.unique(gradient.indices)
    values = tf.math.unsorted_segment_sum(gradient.values, positions, tf.shape(rows)[0])
    return tf.IndexedSlices(values, rows, gradient.dense_shape)
