"""Shared machinery for the fan-scaled initializers: fans, seeds, the three distributions."""

import math
import numbers
import random as _py_random

import keras

from tfcourse._validation import check_one_of, check_positive

_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")
_MODES = ("fan_in", "fan_out", "fan_avg")
# Standard deviation of a unit normal truncated to [-2, 2]; Keras divides by it so the
# truncated draw still has the requested variance.
_TRUNCATED_STDDEV = 0.87962566103423978


def compute_fans(shape):
    """(fan_in, fan_out) of a weight shape, exactly as Keras computes them. Introduced in lesson L04.

        rank 0:  fan_in = fan_out = 1
        rank 1:  fan_in = fan_out = shape[0]
        rank 2 (Dense kernel (in, out)):  fan_in = in, fan_out = out
        rank k > 2 (Conv kernel (*window, in, out)):
            receptive = prod(window)
            fan_in = in * receptive;  fan_out = out * receptive
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _check_seed(seed):
    if seed is None or isinstance(seed, keras.random.SeedGenerator):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return int(seed)
    raise ValueError(
        "`seed` must be None, an integer or a `keras.random.SeedGenerator`. "
        f"Received: seed={seed!r}"
    )


class SeededInitializer(keras.initializers.Initializer):
    """Base: holds `seed` (int = reproducible draws; None = a fresh int from Python's `random`,
    which `keras.utils.set_random_seed` seeds, as Keras does)."""

    def __init__(self, seed=None):
        self._init_seed = _check_seed(seed)
        self.seed = self._init_seed if self._init_seed is not None else _py_random.randint(1, int(1e9))

    def get_config(self):
        return {"seed": keras.saving.serialize_keras_object(self._init_seed)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("seed"), dict):
            config["seed"] = keras.saving.deserialize_keras_object(config["seed"])
        return cls(**config)


class FanScaled(SeededInitializer):
    """Variance `scale / n` with n = fan_in, fan_out or their mean (Keras's `VarianceScaling`).

        n = max(1, fan_in | fan_out | (fan_in + fan_out) / 2)
        truncated_normal:   w ~ N(0, sqrt(scale / n) / 0.8796) truncated to 2 stddev
        untruncated_normal: w ~ N(0, sqrt(scale / n))
        uniform:            w ~ U(-sqrt(3 * scale / n), +sqrt(3 * scale / n))
    """

    def __init__(self, scale, mode, distribution, seed=None):
        self.scale = float(check_positive("scale", scale))
        self.mode = check_one_of("mode", mode, _MODES)
        self.distribution = check_one_of("distribution", distribution, _DISTRIBUTIONS)
        super().__init__(seed=seed)

    def stddev_for(self, shape):
        """The standard deviation of the drawn weights for `shape`."""
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        return math.sqrt(self.scale / max(1.0, n))

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape)
        scale = self.scale
        if self.mode == "fan_in":
            scale /= max(1.0, fan_in)
        elif self.mode == "fan_out":
            scale /= max(1.0, fan_out)
        else:
            scale /= max(1.0, (fan_in + fan_out) / 2.0)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(scale) / _TRUNCATED_STDDEV
            return keras.random.truncated_normal(shape, mean=0.0, stddev=stddev, dtype=dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return keras.random.normal(shape, mean=0.0, stddev=math.sqrt(scale), dtype=dtype, seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return keras.random.uniform(shape, minval=-limit, maxval=limit, dtype=dtype, seed=self.seed)
