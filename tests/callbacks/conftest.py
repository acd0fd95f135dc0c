"""Helpers for driving callbacks with scripted logs: no training, weights set by hand."""

import keras
import numpy as np
import pytest


def tiny_model(optimizer=None):
    """A compiled 3 -> 2 softmax model whose metrics are built (so Keras 'auto' mode works)."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer or keras.optimizers.SGD(1.0), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.evaluate(np.zeros((2, 3), "float32"), np.zeros((2,), "int64"), verbose=0)
    return model


def epoch_weights(model, epoch):
    """Weights that name their epoch: every entry equals `epoch`."""
    return [np.full(w.shape, float(epoch), dtype=w.dtype) for w in model.get_weights()]


@pytest.fixture
def scripted_models():
    return tiny_model, epoch_weights
