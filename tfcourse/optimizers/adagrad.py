"""AdaGrad: per-parameter step sizes from the running sum of squared gradients
(notes 000, 001 §4.6.1).

Introduced in lesson L03.
"""

import keras
from keras import ops

from tfcourse.optimizers._checks import (
    check_epsilon,
    check_learning_rate,
    check_non_negative,
)
from tfcourse.optimizers._sparse import sum_duplicate_rows


@keras.saving.register_keras_serializable(package="tfcourse")
class Adagrad(keras.optimizers.Optimizer):
    """AdaGrad; a drop-in for `keras.optimizers.Adagrad` (also exported as `AdaGrad`).

    Introduced in lesson L03.

    The notes (001 §4.6.1; 000 spells the cache `grad_squared`):

        cache = 0
        cache = cache + dx**2
        x = x - lr * dx / (sqrt(cache) + eps)          # eps outside the root, ~1e-7

    What this class computes (Keras's conventions, kept so it is a drop-in):

        cache = initial_accumulator_value              # 0.1 by default, not 0
        cache = cache + dx**2
        x = x - lr * dx / sqrt(cache + epsilon)        # epsilon INSIDE the root

    Where they differ and what it changes numerically:
    - epsilon inside vs outside the root: sqrt(c + eps) = sqrt(c) * (1 + eps/(2c) + ...)
      while sqrt(c) + eps = sqrt(c) * (1 + eps/sqrt(c)). For c >> eps both are sqrt(c) to
      relative order eps/sqrt(c); they part only when the cache is tiny (c <~ eps**2
      for the notes, c <~ eps for Keras), where the inside form caps the step at
      lr*dx/sqrt(eps) and the outside form at lr*dx/eps. No single constant maps one onto
      the other exactly (the exact match, eps_in = 2*eps_out*sqrt(c) + eps_out**2, depends
      on c), so with eps -> 0 both reduce to x -= lr*dx/sqrt(cache).
    - the cache starts at 0.1 in Keras, which bounds the first steps by lr*dx/sqrt(0.1);
      `initial_accumulator_value=0` (with epsilon > 0) recovers the notes' start.

    Sparse gradients (`tf.IndexedSlices`, e.g. from an `Embedding`) give the same result
    as their dense equivalent: repeated rows are summed before squaring (Keras 3.15's
    built-in squares each piece, so it differs from dense when a batch repeats a token).

    Args:
        learning_rate: float > 0, a schedule, or a callable. Defaults to 0.001.
        initial_accumulator_value: starting value of the cache, float >= 0. Defaults to 0.1.
        epsilon: float > 0, added inside the square root. Defaults to 1e-7.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name:
            passed through to `keras.optimizers.Optimizer`.
    """

    def __init__(
        self,
        learning_rate=0.001,
        initial_accumulator_value=0.1,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(
            learning_rate=check_learning_rate(learning_rate),
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        self.initial_accumulator_value = check_non_negative("initial_accumulator_value", initial_accumulator_value)
        self.epsilon = check_epsilon(epsilon)

    def build(self, variables):
        """One `cache` slot per variable, filled with `initial_accumulator_value`."""
        if self.built:
            return
        super().build(variables)
        self._caches = self.add_optimizer_variables(
            variables,
            "accumulator",
            initializer=keras.initializers.Constant(self.initial_accumulator_value),
        )

    def update_step(self, gradient, variable, learning_rate):
        """cache += dx**2; x -= lr * dx / sqrt(cache + eps)."""
        lr = ops.cast(learning_rate, variable.dtype)
        dx = ops.cast(sum_duplicate_rows(gradient), variable.dtype)
        cache = self._caches[self._get_variable_index(variable)]
        self.assign_add(cache, ops.square(dx))
        self.assign_sub(
            variable,
            ops.divide(ops.multiply(lr, dx), ops.sqrt(ops.add(cache, self.epsilon))),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon,
            }
        )
        return config


AdaGrad = Adagrad
