"""Momentum as an exponentially weighted average of gradients (notes 004 §2.2.5), and how
the notes' three momentum forms map onto one another.

Introduced in lesson L03.
"""

import keras
from keras import ops

from tfcourse._validation import check_one_of, check_positive
from tfcourse.optimizers._checks import check_learning_rate, check_rate

MOMENTUM_FORMS = ("accumulate", "velocity", "ewma")


@keras.saving.register_keras_serializable(package="tfcourse")
class EWMAMomentum(keras.optimizers.Optimizer):
    """Gradient descent with momentum written as an exponentially weighted average (EWMA).

    Introduced in lesson L03.

    The form of notes 004 §2.2.5 (Andrew Ng's course):

        v = beta * v + (1 - beta) * dW      # v starts at 0
        W = W - lr * v

    v is the EWMA of the gradients (lesson L03 plots the same average on a noisy series),
    so its size does not grow with 1/(1-beta) the way the other forms' velocity does.

    The notes write momentum three ways. With the same momentum coefficient
    (rho = mu = beta) and a constant learning rate, they trace IDENTICAL trajectories when

        lr_accumulate = lr_velocity = (1 - beta) * lr_ewma

    where "accumulate" is notes 000 (v = rho*v + dx; x -= lr*v), "velocity" is notes 001
    §4.2 and `keras.optimizers.SGD` / `tfcourse.optimizers.SGD` (v = mu*v - lr*dx; x += v),
    and "ewma" is this class. Proof: by induction v_accumulate = v_ewma / (1 - beta) and
    v_velocity = -lr * v_accumulate. So `EWMAMomentum(lr, beta)` equals
    `SGD(lr * (1 - beta), momentum=beta)`; `equivalent_learning_rate` does the conversion.
    With a learning-rate SCHEDULE the "velocity" form differs from the other two: it bakes
    each step's lr into v, while "accumulate" and "ewma" apply the current lr to the whole
    accumulated v.

    Note that the notes 000 code prints `x += lr * Vx` (ascent); descent is `x -= lr * Vx`.
    There is no bias correction here (v is biased toward 0 for the first ~1/(1-beta)
    steps, exactly like the SGD velocity it equals).

    Args:
        learning_rate: float > 0, a schedule, or a callable. Defaults to 0.1
            (= 0.01 / (1 - 0.9), the step size of `SGD(0.01, momentum=0.9)`).
        beta: the EWMA coefficient, a float in [0, 1). Defaults to 0.9.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name:
            passed through to `keras.optimizers.Optimizer`.
    """

    def __init__(
        self,
        learning_rate=0.1,
        beta=0.9,
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
        self.beta = check_rate("beta", beta)

    def build(self, variables):
        """One EWMA slot `v` per variable."""
        if self.built:
            return
        super().build(variables)
        self._averages = self.add_optimizer_variables(variables, "average_gradient")

    def update_step(self, gradient, variable, learning_rate):
        """v = beta*v + (1-beta)*dW; W -= lr*v   (v updated as v += (1-beta)*(dW - v))."""
        lr = ops.cast(learning_rate, variable.dtype)
        dW = ops.cast(gradient, variable.dtype)
        beta = self.beta
        v = self._averages[self._get_variable_index(variable)]
        self.assign_add(v, ops.multiply(ops.subtract(dW, v), 1 - beta))
        self.assign_sub(variable, ops.multiply(v, lr))

    def get_config(self):
        config = super().get_config()
        config.update({"beta": self.beta})
        return config


def equivalent_learning_rate(learning_rate, beta, *, source, target):
    """The learning rate that makes momentum form `target` trace the same path as `source`.

    Introduced in lesson L03.

    Forms (same coefficient rho = mu = beta, v starts at 0, constant learning rate):

        "accumulate"  notes 000        v = rho*v + dx;            x = x - lr*v
        "velocity"    notes 001 §4.2   v = mu*v - lr*dx;          x = x + v    (Keras SGD)
        "ewma"        notes 004 §2.2.5 v = beta*v + (1-beta)*dx;  x = x - lr*v

    Rule: lr_accumulate = lr_velocity = (1 - beta) * lr_ewma.

        equivalent_learning_rate(0.1, 0.9, source="ewma", target="velocity")  # -> 0.01
    """
    check_positive("learning_rate", learning_rate)
    beta = check_rate("beta", beta)
    check_one_of("source", source, MOMENTUM_FORMS)
    check_one_of("target", target, MOMENTUM_FORMS)
    scale = {"accumulate": 1.0, "velocity": 1.0, "ewma": 1.0 - beta}
    return learning_rate * scale[source] / scale[target]
