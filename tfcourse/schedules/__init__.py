"""Learning-rate decay schedules from the course notes (notes 000, 001 §4.4, 004 §2.2.9).

Introduced in lesson L03. Each is a `keras.optimizers.schedules.LearningRateSchedule` (pass
it as any optimizer's `learning_rate`, evaluated per step), registered with `keras.saving`
(package "tfcourse"). `tfcourse.callbacks.LearningRateDecay` applies any of them per epoch.

    StepDecay(a0, factor, every_epochs)        a0 * factor ** floor(epoch / every_epochs)
    ExponentialDecay(a0, k)                    a0 * exp(-k t)
    InverseTimeDecay(a0, k)                    a0 / (1 + k t)
    EpochInverseTimeDecay(a0, decay_rate)      a0 / (1 + decay_rate * epoch)
    EpochExponentialDecay(a0, base=0.95)       base ** epoch * a0
    WarmupCosine(...)                          linear warm-up, then cosine decay (lesson L12)
"""

from tfcourse.schedules.epoch_exponential_decay import EpochExponentialDecay
from tfcourse.schedules.epoch_inverse_time_decay import EpochInverseTimeDecay
from tfcourse.schedules.exponential_decay import ExponentialDecay
from tfcourse.schedules.inverse_time_decay import InverseTimeDecay
from tfcourse.schedules.step_decay import StepDecay
from tfcourse.schedules.warmup_cosine import WarmupCosine

__all__ = [
    "EpochExponentialDecay",
    "EpochInverseTimeDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
    "StepDecay",
    "WarmupCosine",
]
