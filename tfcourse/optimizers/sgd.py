"""Stochastic gradient descent, with heavy-ball or Nesterov momentum (notes 000, 001 §4.1-4.3).

Introduced in lesson L03.
"""

import keras
from keras import ops

from tfcourse._validation import check_bool
from tfcourse.optimizers._checks import check_learning_rate, check_rate


@keras.saving.register_keras_serializable(package="tfcourse")
class SGD(keras.optimizers.Optimizer):
    """Gradient descent, optionally with momentum; a drop-in for `keras.optimizers.SGD`.

    Introduced in lesson L03.

    Plain SGD (notes 001 §4.1, "x += - learning_rate * dx"):

        x = x - lr * dx

    Momentum, the "velocity" form of notes 001 §4.2 (this is what Keras implements):

        v = mu * v - lr * dx        # mu = `momentum`, v starts at 0
        x = x + v

    Nesterov momentum (notes 001 §4.3). The notes first write it with a look-ahead
    gradient, dx_ahead evaluated at x_ahead = x + mu * v, then change variables so that
    the stored parameters ARE the look-ahead point:

        v_prev = v
        v = mu * v - lr * dx
        x = x - mu * v_prev + (1 + mu) * v

    Keras writes the same position update as `x = x + mu * v - lr * dx`. The two are
    algebraically equal (both are `x + mu**2 * v_prev - (1 + mu) * lr * dx`), and the
    Keras form needs no copy of v_prev, so `update_step` uses it.

    The other two textbook momentum forms (notes 000: v = rho*v + dx, x -= lr*v; notes
    004 §2.2.5: v = beta*v + (1-beta)*dW, W -= lr*v) give the same trajectory as this one
    after a rescaling of the learning rate: see `tfcourse.optimizers.EWMAMomentum` and
    `tfcourse.optimizers.equivalent_learning_rate`.

    Args:
        learning_rate: float > 0, a `keras.optimizers.schedules.LearningRateSchedule`,
            or a zero-argument callable. Defaults to 0.01.
        momentum: mu, a float in [0, 1). 0 is plain SGD. Defaults to 0.0.
        nesterov: bool, use Nesterov momentum. Defaults to False.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name:
            passed through to `keras.optimizers.Optimizer`, same meaning as in Keras.
    """

    def __init__(
        self,
        learning_rate=0.01,
        momentum=0.0,
        nesterov=False,
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
            name=name,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            **kwargs,
        )
        self.momentum = check_rate("momentum", momentum)
        self.nesterov = check_bool("nesterov", nesterov)

    def build(self, variables):
        """One velocity slot `v` per variable (none when momentum is 0)."""
        if self.built:
            return
        super().build(variables)
        self._velocities = []
        if self.momentum != 0:
            self._velocities = self.add_optimizer_variables(variables, "velocity")

    def update_step(self, gradient, variable, learning_rate):
        """v = mu*v - lr*dx; x += v   (Nesterov: x += mu*v - lr*dx)."""
        lr = ops.cast(learning_rate, variable.dtype)
        dx = ops.cast(gradient, variable.dtype)
        if self.momentum == 0:
            self.assign_sub(variable, ops.multiply(dx, lr))
            return
        mu = ops.cast(self.momentum, variable.dtype)
        v = self._velocities[self._get_variable_index(variable)]
        self.assign(v, ops.subtract(ops.multiply(v, mu), ops.multiply(dx, lr)))
        if self.nesterov:
            self.assign_add(variable, ops.subtract(ops.multiply(v, mu), ops.multiply(dx, lr)))
        else:
            self.assign_add(variable, v)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
