"""Stop training when a monitored quantity stops improving (notes 002 §25, lesson L05).

Introduced in lesson L05.
"""

import warnings

import keras

from tfcourse._validation import check_bool, check_int, is_real_number
from tfcourse.callbacks._monitor import check_monitor_arguments, improves, resolve_direction


class EarlyStopping(keras.callbacks.Callback):
    """Early stopping with Keras's arguments and behaviour, written from the rule (lesson L05).

    Introduced in lesson L05. Each epoch from `start_from_epoch` on, with `current` the
    monitored value (min mode; max mode flips the comparisons):

        wait += 1
        if current + min_delta < best:                 # an improvement (best starts at None)
            best, best_epoch = current, epoch
            keep a copy of the weights (restore_best_weights)
            if baseline is None or current + min_delta < baseline:
                wait = 0                               # beat the baseline too: start over
        elif wait >= patience and epoch > 0:
            stopped_epoch = epoch; model.stop_training = True
        at the end of training: if restore_best_weights, set the weights of best_epoch

    `mode="auto"` reads the direction from the name ("loss", "*_error" down; "accuracy",
    "auc", ... up). With `restore_best_weights=True` the best weights are restored at the
    end of training whether or not the callback fired, as in Keras 3; Keras 2
    (tf.keras) restored them only when it stopped training, so a run that used all its
    epochs kept its last weights. Identical to `keras.callbacks.EarlyStopping` (3.x) on any
    sequence of logs (tests/callbacks/test_early_stopping.py). All state is reset in
    `on_train_begin`, so one instance can serve several `fit` calls.

    Args:
        monitor: the logged quantity, e.g. "val_loss" (default) or "val_accuracy".
        min_delta: float >= 0, smallest change that counts as an improvement.
        patience: int >= 0, epochs without improvement before stopping.
        verbose: 0 or 1.
        mode: "auto", "min" or "max".
        baseline: float or None; training stops if the model does not beat it within
            `patience` epochs.
        restore_best_weights: bool.
        start_from_epoch: int >= 0, warm-up epochs not monitored.
    """

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__()
        self.min_delta = check_monitor_arguments(monitor, mode, min_delta)
        self.monitor = monitor
        self.mode = mode
        self.patience = check_int("patience", patience, low=0)
        self.verbose = check_int("verbose", verbose, low=0)
        if baseline is not None and not is_real_number(baseline):
            raise ValueError(f"`baseline` must be a number or None. Received: baseline={baseline!r}")
        self.baseline = None if baseline is None else float(baseline)
        self.restore_best_weights = check_bool("restore_best_weights", restore_best_weights)
        self.start_from_epoch = check_int("start_from_epoch", start_from_epoch, low=0)
        self.direction = None
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def _improves(self, current, reference):
        if self.direction is None:
            self.direction = resolve_direction(self.monitor, self.mode, "EarlyStopping")
        return improves(current, reference, self.direction, self.min_delta)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs)}",
                stacklevel=2,
            )
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._improves(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
        elif self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)
