"""Xavier/Glorot initialization: keep the activation variance equal layer to layer (tanh).

Introduced in lesson L04.
"""

import keras

from tfcourse.initializers._base import FanScaled


@keras.saving.register_keras_serializable(package="tfcourse")
class GlorotNormal(FanScaled):
    """Xavier/Glorot normal (for tanh). Introduced in lesson L04.

        n = (fan_in + fan_out) / 2
        w ~ N(0, sqrt(1 / n)) truncated at 2 stddev (divided by 0.8796 so the variance stays 1 / n)

    Same draws as `keras.initializers.GlorotNormal(seed)` given the same integer seed.
    """

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed=seed)


@keras.saving.register_keras_serializable(package="tfcourse")
class GlorotUniform(FanScaled):
    """Xavier/Glorot uniform (Keras's default kernel initializer). Introduced in lesson L04.

        limit = sqrt(6 / (fan_in + fan_out))
        w ~ U(-limit, limit)          # variance limit^2 / 3 = 2 / (fan_in + fan_out)
    """

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed=seed)
