"""Average the weights of several epochs: last K, or SWA from a start epoch (notes 001 §6).

Introduced in lesson L05.
"""

import collections

import keras
import numpy as np

from tfcourse._validation import check_bool, check_int, check_one_of, check_positive_int


def recompute_batch_norm_statistics(model, data):
    """Recompute every BatchNormalization layer's moving mean/variance on `data` (lesson L05).

    Introduced in lesson L05. After weights are averaged, the stored moving statistics
    belong to no model that ever ran, so they are measured again (SWA's "bn update"):

        moving_mean = 0, moving_variance = 1
        for batch i = 0, 1, ...:  momentum = i / (i + 1)
            model(batch, training=True)    # moving = momentum*moving + (1-momentum)*batch stat
        -> moving_mean/variance = the average of the per-batch statistics

    `data` is an iterable of input batches, or of (x, y) tuples. Returns the number of
    batches used.
    """
    layers = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers:
        return 0
    saved_momentum = [layer.momentum for layer in layers]
    for layer in layers:
        layer.moving_mean.assign(keras.ops.zeros_like(layer.moving_mean))
        layer.moving_variance.assign(keras.ops.ones_like(layer.moving_variance))
    count = 0
    try:
        for batch in data:
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            for layer in layers:
                layer.momentum = count / (count + 1)
            model(x, training=True)
            count += 1
    finally:
        for layer, momentum in zip(layers, saved_momentum):
            layer.momentum = momentum
    return count


def _all_layers(model):
    found = []
    for layer in model.layers:
        found.append(layer)
        if isinstance(layer, keras.Model):
            found.extend(_all_layers(layer))
    return found


class WeightAveraging(keras.callbacks.Callback):
    """Average the model's weights over epochs and load the average at the end (lesson L05).

    Introduced in lesson L05 (notes 001 §6: "average the parameters of the last few epochs,
    or keep a running average, and evaluate with that"). With w_e the weights after epoch e:

        mode="last_k":  w_avg = mean(w_e for the last k epochs run)
        mode="swa":     w_avg = mean(w_e for e >= start_epoch)     (kept as a running mean:
                        w_avg = w_avg + (w_e - w_avg) / (n + 1))

    Every weight is averaged except BatchNormalization moving statistics; at the end of
    training the average is loaded into the model (`apply=True`) and, with `bn_data`, the
    moving statistics are recomputed on it (`recompute_batch_norm_statistics`). The
    average is kept in `self.averaged_weights` (a `model.get_weights()`-style list) and
    `self.count` epochs went into it.

    Args:
        mode: "last_k" or "swa".
        k: int >= 1, epochs averaged in "last_k" mode. Defaults to 5.
        start_epoch: int >= 0, first epoch (0-based) averaged in "swa" mode. Defaults to 0.
        bn_data: optional iterable of batches (e.g. a tf.data.Dataset of (x, y)).
        apply: bool, load the average into the model at the end of training. Defaults to True.
    """

    def __init__(self, mode="last_k", k=5, start_epoch=0, bn_data=None, apply=True):
        super().__init__()
        self.mode = check_one_of("mode", mode, ("last_k", "swa"))
        self.k = check_positive_int("k", k)
        self.start_epoch = check_int("start_epoch", start_epoch, low=0)
        self.bn_data = bn_data
        self.apply = check_bool("apply", apply)
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self._recent = collections.deque(maxlen=self.k)
        self._running = None
        self.count = 0
        self.averaged_weights = None

    def _moving_statistic_mask(self):
        moving = set()
        for layer in _all_layers(self.model):
            if isinstance(layer, keras.layers.BatchNormalization):
                moving.update(id(v) for v in (layer.moving_mean, layer.moving_variance))
        return [id(v) in moving for v in self.model.weights]

    def on_epoch_end(self, epoch, logs=None):
        weights = [np.array(w, dtype="float64") for w in self.model.get_weights()]
        if self.mode == "last_k":
            self._recent.append(weights)
            self.count = len(self._recent)
        elif epoch >= self.start_epoch:
            if self._running is None:
                self._running = weights
            else:
                self._running = [a + (w - a) / (self.count + 1) for a, w in zip(self._running, weights)]
            self.count += 1

    def average(self):
        """The averaged weights (a list like `model.get_weights()`), or None before any epoch."""
        if self.mode == "last_k":
            if not self._recent:
                return None
            mean = [np.mean(stack, axis=0) for stack in zip(*self._recent)]
        else:
            mean = self._running
        if mean is None:
            return None
        current = self.model.get_weights()
        return [
            cur if keep_current else avg.astype(cur.dtype)
            for avg, cur, keep_current in zip(mean, current, self._moving_statistic_mask())
        ]

    def on_train_end(self, logs=None):
        self.averaged_weights = self.average()
        if self.apply and self.averaged_weights is not None:
            self.model.set_weights(self.averaged_weights)
            if self.bn_data is not None:
                recompute_batch_norm_statistics(self.model, self.bn_data)
