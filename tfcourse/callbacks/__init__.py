"""Training callbacks from the course notes, written on the public `keras.callbacks.Callback` API.

Introduced in lessons L03 (decay), L05 (early stopping) and L10 (monitoring, averaging).
They use only `self.model`, `logs`, `model.optimizer.learning_rate` and `model.stop_training`,
so they work under `model.fit` and under any loop that drives `keras.callbacks.CallbackList`.
"""

from tfcourse.callbacks.learning_rate_decay import LearningRateDecay

__all__ = [
    "LearningRateDecay",
]
