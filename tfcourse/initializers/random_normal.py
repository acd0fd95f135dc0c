"""N(0, 0.02): the small fixed-scale Gaussian the notes name as the common default [000].

Introduced in lesson L04.
"""

import keras

from tfcourse._validation import check_in_range, check_positive
from tfcourse.initializers._base import SeededInitializer


@keras.saving.register_keras_serializable(package="tfcourse")
class RandomNormal(SeededInitializer):
    """Fixed-scale Gaussian, default N(0, 0.02). Introduced in lesson L04.

        w ~ N(mean, stddev)        # mean = 0, stddev = 0.02 (DCGAN's default)

    The notes say "mean 0, variance 0.02"; the widespread default (DCGAN, and what the notes
    refer to) is standard deviation 0.02, used here. Unlike Xavier/He the scale ignores the
    fan-in, so a deep stack of such layers shrinks its activations (lesson L04 shows it).
    Same draws as `keras.initializers.RandomNormal(mean, stddev, seed)` given the same seed.
    """

    def __init__(self, mean=0.0, stddev=0.02, seed=None):
        self.mean = float(check_in_range("mean", mean))
        self.stddev = float(check_positive("stddev", stddev))
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        return keras.random.normal(shape, mean=self.mean, stddev=self.stddev, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}
