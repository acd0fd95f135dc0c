"""LeCun initialization: variance 1 / fan_in (SELU networks, and the notes' "Xavier" formula).

Introduced in lesson L04.
"""

import keras

from tfcourse.initializers._base import FanScaled


@keras.saving.register_keras_serializable(package="tfcourse")
class LecunNormal(FanScaled):
    """LeCun normal. Introduced in lesson L04.

        w ~ N(0, sqrt(1 / fan_in)) truncated at 2 stddev (rescaled so the variance stays 1 / fan_in)
    """

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed=seed)


@keras.saving.register_keras_serializable(package="tfcourse")
class LecunUniform(FanScaled):
    """LeCun uniform. Introduced in lesson L04.

        limit = sqrt(3 / fan_in)
        w ~ U(-limit, limit)          # variance 1 / fan_in
    """

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "uniform", seed=seed)
