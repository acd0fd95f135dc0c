"""He (Kaiming) initialization: twice the LeCun variance, because ReLU zeroes half its inputs.

Introduced in lesson L04.
"""

import keras

from tfcourse.initializers._base import FanScaled


@keras.saving.register_keras_serializable(package="tfcourse")
class HeNormal(FanScaled):
    """He normal (for ReLU). Introduced in lesson L04.

        w ~ N(0, sqrt(2 / fan_in)) truncated at 2 stddev (rescaled so the variance stays 2 / fan_in)
    """

    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed=seed)


@keras.saving.register_keras_serializable(package="tfcourse")
class HeUniform(FanScaled):
    """He uniform (for ReLU). Introduced in lesson L04.

        limit = sqrt(6 / fan_in)
        w ~ U(-limit, limit)          # variance 2 / fan_in
    """

    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed=seed)
