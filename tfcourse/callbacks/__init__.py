"""Training callbacks from the course notes, written on the public `keras.callbacks.Callback` API.

Introduced in lessons L03 (decay), L05 (early stopping) and L10 (monitoring, averaging).
They use only `self.model`, `logs`, `model.optimizer.learning_rate` and `model.stop_training`,
so they work under `model.fit` and under any loop that drives `keras.callbacks.CallbackList`.
"""

from tfcourse.callbacks.early_stopping import EarlyStopping
from tfcourse.callbacks.learning_rate_decay import LearningRateDecay
from tfcourse.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau

__all__ = [
    "EarlyStopping",
    "LearningRateDecay",
    "ReduceLROnPlateau",
]
