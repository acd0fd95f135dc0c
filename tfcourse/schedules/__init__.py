"""Learning-rate schedules (keras.optimizers.schedules.LearningRateSchedule subclasses).

Introduced in lesson L12 (warm-up + cosine, the one-cycle shape of the fast MNIST recipe).
"""

from tfcourse.schedules.warmup_cosine import WarmupCosine

__all__ = ["WarmupCosine"]
