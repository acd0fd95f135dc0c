"""Stop on a non-finite loss and put back the last good weights (lesson L05).

Introduced in lesson L05.
"""

import math

import keras
import numpy as np


class NaNGuard(keras.callbacks.Callback):
    """Stop training at the first NaN/inf loss and restore the last good weights (lesson L05).

    Introduced in lesson L05. Unlike `keras.callbacks.TerminateOnNaN`, which only stops,
    the model keeps usable weights, so nothing trained before the blow-up is lost:

        on_train_begin and at each epoch end with a finite loss and finite weights:
            good = model weights
        after each batch:  if not isfinite(loss):  model weights = good; stop training

    `self.stopped_at` is (epoch, batch) of the first non-finite loss, or None.

    Args:
        monitor: the logged loss. Defaults to "loss".
    """

    def __init__(self, monitor="loss"):
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"`monitor` must be the name of a logged quantity. Received: monitor={monitor!r}")
        self.monitor = monitor
        self.stopped_at = None
        self.good_weights = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self.stopped_at = None
        self.good_weights = self.model.get_weights()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.stopped_at is not None or not logs or self.monitor not in logs:
            return
        if not math.isfinite(float(logs[self.monitor])):
            self.stopped_at = (self._epoch, batch)
            self.model.set_weights(self.good_weights)
            self.model.stop_training = True
            print(f"NaNGuard: non-finite {self.monitor} at epoch {self._epoch + 1}, batch {batch}; "
                  "restored the weights of the last finished epoch and stopped.")

    def on_epoch_end(self, epoch, logs=None):
        if self.stopped_at is not None or not logs or not math.isfinite(float(logs.get(self.monitor, 0.0))):
            return
        weights = self.model.get_weights()
        if all(np.isfinite(w).all() for w in weights if np.issubdtype(w.dtype, np.floating)):
            self.good_weights = weights
