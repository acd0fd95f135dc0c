"""The course notes' literal initialization formulas [000]:

    Xavier:  w = randn(channel_in, channel_out) / sqrt(channel_in)
    He:      w = randn(channel_in, channel_out) / sqrt(channel_in / 2)

(The notes print `np.random.rand`, a uniform [0, 1) draw; that is a typo: with it every weight
is positive and the mean is not zero. The formulas are meant with `randn`, a unit Gaussian.)
These are untruncated Gaussians with variance 1 / fan_in and 2 / fan_in, i.e. LeCun normal and
He normal without Keras's truncation. Introduced in lesson L04.
"""

import math

import keras

from tfcourse.initializers._base import SeededInitializer, compute_fans


class _NotesFormula(SeededInitializer):
    _divisor_factor = 1.0  # w = randn / sqrt(fan_in * factor)

    def stddev_for(self, shape):
        fan_in, _ = compute_fans(shape)
        return 1.0 / math.sqrt(max(1, fan_in) * self._divisor_factor)

    def __call__(self, shape, dtype=None):
        randn = keras.random.normal(shape, mean=0.0, stddev=1.0, dtype=dtype, seed=self.seed)
        return randn * self.stddev_for(shape)


@keras.saving.register_keras_serializable(package="tfcourse")
class NotesXavier(_NotesFormula):
    """The notes' Xavier formula, literally. Introduced in lesson L04.

        w = randn(*shape) / sqrt(fan_in)        # fan_in = channel_in * receptive field
    """

    _divisor_factor = 1.0


@keras.saving.register_keras_serializable(package="tfcourse")
class NotesHe(_NotesFormula):
    """The notes' He-ReLU formula, literally. Introduced in lesson L04.

        w = randn(*shape) / sqrt(fan_in / 2)
    """

    _divisor_factor = 0.5
