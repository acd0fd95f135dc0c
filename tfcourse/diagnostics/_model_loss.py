"""A model's losses as functions of its variables, in a chosen float dtype (shared by the diagnostics)."""

import keras
import numpy as np
import tensorflow as tf


def _as_dtype(model, dtype):
    """A copy of `model` computing in `dtype` with the same weights; clear error when impossible."""
    def clone_layer(layer):
        config = layer.get_config()
        for key, value in config.items():
            attribute = getattr(layer, key, None)
            if isinstance(value, (dict, str)) and callable(attribute) and not isinstance(attribute, type):
                config[key] = attribute  # the live activation/regularizer, even one that cannot serialize
        return layer.__class__.from_config({**config, "dtype": dtype})

    try:
        clone = keras.models.clone_model(model, clone_function=clone_layer)
    except Exception as error:  # subclassed models cannot be cloned layer by layer
        raise ValueError(
            f"`model_or_fn` could not be rebuilt in {dtype} ({type(error).__name__}: {error}). "
            "Pass a function returning the loss and its `variables` instead."
        ) from error
    clone.set_weights([np.asarray(w).astype(dtype) if np.issubdtype(np.asarray(w).dtype, np.floating) else w
                       for w in model.get_weights()])
    for layer in clone.layers:
        for weight in layer.weights:
            if weight.dtype != dtype and "float" in str(weight.dtype):
                raise ValueError(f"Layer {layer.name!r} cannot run in {dtype}: its weight {weight.path} "
                                 f"stays {weight.dtype}. Received: dtype={dtype!r}")
    return clone


def model_losses(model, inputs, targets, loss, training, dtype):
    """The losses to check separately: the data loss and, if any, the regularization."""
    model = _as_dtype(model, dtype)
    x = tf.constant(np.asarray(inputs).astype(dtype))
    y = tf.constant(np.asarray(targets).astype(dtype) if np.asarray(targets).dtype.kind == "f" else targets)
    loss_fn = keras.losses.get(loss) if isinstance(loss, str) else loss
    if loss_fn is None:
        raise ValueError(f"`loss` is required when `model_or_fn` is a model. Received: loss={loss!r}")
    if isinstance(loss_fn, keras.losses.Loss):  # a Loss object casts to its own dtype (floatx by default)
        loss_fn = loss_fn.__class__.from_config({**loss_fn.get_config(), "dtype": dtype})
    parts = {"data loss": lambda: tf.cast(tf.reduce_mean(loss_fn(y, model(x, training=training))), dtype)}
    model(x, training=training)
    if model.losses:
        parts["regularization"] = lambda: tf.cast(tf.add_n([tf.reduce_sum(t) for t in _fresh_losses(model, x, training)]),
                                                  dtype)
    return model, parts


def _fresh_losses(model, x, training):
    model(x, training=training)  # activity regularizers are collected during the call
    return model.losses
