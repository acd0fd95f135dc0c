"""Cut the learning rate when a monitored quantity stops improving (notes 001 §4.4).

Introduced in lesson L03.
"""

import warnings

import keras
import numpy as np

from tfcourse._validation import check_in_range, check_int
from tfcourse.callbacks._monitor import check_monitor_arguments, improves, resolve_direction


class ReduceLROnPlateau(keras.callbacks.Callback):
    """Multiply the learning rate by `factor` when `monitor` stops improving (lesson L03).

    Introduced in lesson L03. The notes' rule (001 §4.4): "watch the validation error and,
    whenever it stops falling, multiply the learning rate by a constant (e.g. 0.5)".
    Each epoch, with `current` the monitored value (min mode; max flips the comparison):

        logs["learning_rate"] = lr
        if cooldown_left > 0: cooldown_left -= 1; wait = 0
        if current + min_delta < best (best starts at None):  best = current; wait = 0
        elif cooldown_left == 0:
            wait += 1
            if wait >= patience and lr > min_lr:
                lr = max(lr * factor, min_lr); cooldown_left = cooldown; wait = 0

    The cooldown counter is decremented before the check, so `cooldown=c` blocks cuts for
    the c - 1 epochs after a cut (Keras counts the same way).
    Same learning-rate sequence as `keras.callbacks.ReduceLROnPlateau` on any logs
    (tests/callbacks/test_reduce_lr_on_plateau.py). State is reset in `on_train_begin`.

    Args:
        monitor: the logged quantity. Defaults to "val_loss".
        factor: float in [0, 1), new_lr = lr * factor.
        patience: int >= 0, epochs without improvement before a cut.
        verbose: 0 or 1.
        mode: "auto", "min" or "max".
        min_delta: float >= 0, smallest change that counts as an improvement.
        cooldown: int >= 0, see above.
        min_lr: float >= 0, lower bound on the learning rate.
    """

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
    ):
        super().__init__()
        self.min_delta = check_monitor_arguments(monitor, mode, min_delta)
        self.monitor = monitor
        self.mode = mode
        self.factor = float(check_in_range("factor", factor, 0, 1, high_inclusive=False))
        self.patience = check_int("patience", patience, low=0)
        self.verbose = check_int("verbose", verbose, low=0)
        self.cooldown = check_int("cooldown", cooldown, low=0)
        self.min_lr = float(check_in_range("min_lr", min_lr, 0, None))
        self.direction = None
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.best = None
        self.wait = 0
        self.cooldown_left = 0

    def _cut(self, epoch):
        optimizer = self.model.optimizer
        old = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        if not old > np.float32(self.min_lr):  # the rate is held in float32
            return False
        new = max(old * self.factor, self.min_lr)
        optimizer.learning_rate = new
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
        return True

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(logs)}.",
                stacklevel=2,
            )
            return
        if self.direction is None:
            self.direction = resolve_direction(self.monitor, self.mode, "ReduceLROnPlateau")
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if improves(current, self.best, self.direction, self.min_delta):
            self.best, self.wait = current, 0
        elif self.cooldown_left == 0:
            self.wait += 1
            if self.wait >= self.patience and self._cut(epoch):
                self.cooldown_left, self.wait = self.cooldown, 0
