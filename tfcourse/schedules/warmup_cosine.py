"""Linear warm-up, then cosine decay: the one-cycle learning-rate shape (lesson L12).

    progress = step / warmup_steps                                 (step < warmup_steps)
    lr       = initial + (peak - initial) * progress
    progress = min(1, (step - warmup_steps) / (total_steps - warmup_steps))   (afterwards)
    lr       = final + (peak - final) * 0.5 * (1 + cos(pi * progress))

With initial = 0 and final = 0 this equals Keras's
`CosineDecay(0, total_steps - warmup_steps, warmup_target=peak, warmup_steps=warmup_steps)`.
"""

import math

import keras
from keras import ops

from tfcourse._validation import check_in_range, check_int, check_positive

__all__ = ["WarmupCosine"]


@keras.saving.register_keras_serializable(package="tfcourse")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from `initial_learning_rate` to `peak_learning_rate`, then cosine decay.

    Introduced in lesson L12 (the fast MNIST record recipe warms up for a fifth of its one
    epoch, then decays to 0).

        step < warmup_steps:  lr = initial + (peak - initial) * step / warmup_steps
        otherwise:            p  = min(1, (step - warmup_steps) / (total_steps - warmup_steps))
                              lr = final + (peak - final) * 0.5 * (1 + cos(pi * p))

    Args:
        peak_learning_rate: the rate at the end of the warm-up, > 0.
        total_steps: optimizer steps of the whole run, an integer >= 1; the rate stays at
            `final_learning_rate` after it.
        warmup_steps: steps of the linear warm-up, an integer in [0, total_steps).
        initial_learning_rate: the rate at step 0, >= 0.
        final_learning_rate: the rate at `total_steps`, >= 0.
    """

    def __init__(
        self,
        peak_learning_rate,
        total_steps,
        warmup_steps=0,
        initial_learning_rate=0.0,
        final_learning_rate=0.0,
        name="WarmupCosine",
    ):
        check_positive("peak_learning_rate", peak_learning_rate)
        self.total_steps = check_int("total_steps", total_steps, low=1)
        self.warmup_steps = check_int("warmup_steps", warmup_steps, low=0)
        if self.warmup_steps >= self.total_steps:
            raise ValueError(
                f"`warmup_steps` must be < total_steps ({self.total_steps}). Received: warmup_steps={warmup_steps}"
            )
        check_in_range("initial_learning_rate", initial_learning_rate, 0, None)
        check_in_range("final_learning_rate", final_learning_rate, 0, None)
        self.peak_learning_rate = float(peak_learning_rate)
        self.initial_learning_rate = float(initial_learning_rate)
        self.final_learning_rate = float(final_learning_rate)
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak, warmup = self.peak_learning_rate, float(self.warmup_steps)
        warming = self.initial_learning_rate + (peak - self.initial_learning_rate) * step / max(warmup, 1.0)
        progress = ops.clip((step - warmup) / float(self.total_steps - self.warmup_steps), 0.0, 1.0)
        cosine = 0.5 * (1.0 + ops.cos(math.pi * progress))
        decaying = self.final_learning_rate + (peak - self.final_learning_rate) * cosine
        return ops.where(step < warmup, warming, decaying)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "initial_learning_rate": self.initial_learning_rate,
            "final_learning_rate": self.final_learning_rate,
            "name": self.name,
        }
