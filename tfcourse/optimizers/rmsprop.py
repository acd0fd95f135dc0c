"""RMSProp: divide by a moving root-mean-square of the gradients (notes 000, 001 §4.6.2,
004 §2.2.6).

Introduced in lesson L03.
"""

import keras
from keras import ops

from tfcourse._validation import check_bool
from tfcourse.optimizers._checks import (
    check_epsilon,
    check_learning_rate,
    check_rate,
)
from tfcourse.optimizers._sparse import sum_duplicate_rows


@keras.saving.register_keras_serializable(package="tfcourse")
class RMSprop(keras.optimizers.Optimizer):
    """RMSProp; a drop-in for `keras.optimizers.RMSprop` (also exported as `RMSProp`).

    Introduced in lesson L03.

    The notes (001 §4.6.2; 000 calls rho `delay_rate`; 004 §2.2.6 calls it beta and
    the cache s_dw):

        cache = rho * cache + (1 - rho) * dx**2
        x = x - lr * dx / (sqrt(cache) + eps)         # 000 / 001: eps outside the root
        x = x - lr * dx / sqrt(cache + eps)           # 004: eps inside the root

    What this class computes (Keras's conventions; 004's epsilon placement):

        s = rho * s + (1 - rho) * dx**2               # s starts at 0
        g = rho * g + (1 - rho) * dx                  # only if centered
        denom = sqrt(s - g**2 + epsilon)              # centered: an estimate of the variance
        denom = sqrt(s + epsilon)                     # otherwise
        step = lr * dx / denom
        m = momentum * m + step; x = x - m            # if momentum > 0
        x = x - step                                  # otherwise

    Epsilon inside vs outside the root: for s >> eps the two agree to relative order
    eps/sqrt(s); they differ only where s is tiny (a parameter whose gradient has been ~0
    for a while), where the inside form caps the step at lr*dx/sqrt(eps) (~3162*lr*dx for
    eps=1e-7) and the outside form at lr*dx/eps. There is no bias correction: s starts at
    0, so the first step is lr*dx/sqrt((1-rho)*dx**2) = lr*sign(dx)/sqrt(1-rho), about
    3.16*lr for rho=0.9.

    Sparse gradients (`tf.IndexedSlices`, e.g. from an `Embedding`) give the same result
    as their dense equivalent: repeated rows are summed before squaring (Keras 3.15's
    built-in squares each piece, so it differs from dense when a batch repeats a token).

    Args:
        learning_rate: float > 0, a schedule, or a callable. Defaults to 0.001.
        rho: decay of the squared-gradient average, float in [0, 1). Defaults to 0.9.
        momentum: float in [0, 1); 0 disables the momentum slot. Defaults to 0.0.
        epsilon: float > 0, added inside the square root. Defaults to 1e-7.
        centered: bool, divide by an estimate of the gradient's variance instead of its
            second moment. Defaults to False.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name:
            passed through to `keras.optimizers.Optimizer`.
    """

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
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
        self.rho = check_rate("rho", rho)
        self.momentum = check_rate("momentum", momentum)
        self.epsilon = check_epsilon(epsilon)
        self.centered = check_bool("centered", centered)

    def build(self, variables):
        """Slots: `s` always, `m` if momentum > 0, `g` if centered."""
        if self.built:
            return
        super().build(variables)
        self._mean_squares = self.add_optimizer_variables(variables, "velocity")
        self._momentums = []
        if self.momentum > 0:
            self._momentums = self.add_optimizer_variables(variables, "momentum")
        self._mean_grads = []
        if self.centered:
            self._mean_grads = self.add_optimizer_variables(variables, "average_gradient")

    def update_step(self, gradient, variable, learning_rate):
        """s = rho*s + (1-rho)*dx**2; x -= lr * dx / sqrt(s + eps)  (+ centering, momentum)."""
        lr = ops.cast(learning_rate, variable.dtype)
        dx = ops.cast(sum_duplicate_rows(gradient), variable.dtype)
        index = self._get_variable_index(variable)
        rho = self.rho
        s = self._mean_squares[index]
        self.assign(s, ops.add(ops.multiply(rho, s), ops.multiply(1 - rho, ops.square(dx))))
        if self.centered:
            g = self._mean_grads[index]
            self.assign(g, ops.add(ops.multiply(rho, g), ops.multiply(1 - rho, dx)))
            denom = ops.sqrt(s - ops.square(g) + self.epsilon)
        else:
            denom = ops.sqrt(ops.add(s, self.epsilon))
        step = ops.divide(ops.multiply(lr, dx), denom)
        if self.momentum > 0:
            m = self._momentums[index]
            self.assign(m, ops.add(ops.multiply(self.momentum, m), step))
            self.assign_sub(variable, m)
        else:
            self.assign_sub(variable, step)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "rho": self.rho,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "centered": self.centered,
            }
        )
        return config


RMSProp = RMSprop
