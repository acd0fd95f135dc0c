"""Adam: momentum on the gradient plus RMSProp on its square, with bias correction
(notes 000, 001 §4.6.3, 004 §2.2.7-8).

Introduced in lesson L03.
"""

import keras
import tensorflow as tf
from keras import ops

from tfcourse._validation import check_bool
from tfcourse.optimizers._checks import (
    check_epsilon,
    check_learning_rate,
    check_rate,
)
from tfcourse.optimizers._sparse import sum_duplicate_rows


@keras.saving.register_keras_serializable(package="tfcourse")
class Adam(keras.optimizers.Optimizer):
    """Adam; a drop-in for `keras.optimizers.Adam` (same arguments, defaults, meaning).

    Introduced in lesson L03.

    The notes (000; 004 §2.2.7 with v_dW, s_dW; t counts steps from 1):

        m = beta_1 * m + (1 - beta_1) * dx            # first moment (momentum)
        v = beta_2 * v + (1 - beta_2) * dx**2         # second moment (RMSProp)
        m_hat = m / (1 - beta_1**t)                   # bias correction
        v_hat = v / (1 - beta_2**t)
        x = x - lr * m_hat / (sqrt(v_hat) + eps_notes)

    What `update_step` computes (Keras's folded form; fewer elementwise passes):

        alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)     # a scalar per step
        m = m + (1 - beta_1) * (dx - m)                        # = beta_1*m + (1-beta_1)*dx
        v = v + (1 - beta_2) * (dx**2 - v)
        v_max = max(v_max, v); v = v_max                       # only if amsgrad
        x = x - alpha * m / (sqrt(v) + epsilon)

    Equality of the two: lr * m_hat / (sqrt(v_hat) + eps_notes)
        = lr * m / (1 - beta_1**t) / (sqrt(v) / sqrt(1 - beta_2**t) + eps_notes)
        = alpha * m / (sqrt(v) + eps_notes * sqrt(1 - beta_2**t)).
    So the two are identical when epsilon = eps_notes * sqrt(1 - beta_2**t): Keras's
    `epsilon` is the paper's "epsilon hat" and stays fixed, which means the notes' eps is
    effectively epsilon / sqrt(1 - beta_2**t): 31.6 * epsilon at t=1 (beta_2=0.999),
    decaying to epsilon. The difference only shows where sqrt(v) is comparable to epsilon
    (gradients ~1e-7); otherwise the folded form is the notes' update to rounding.
    Here eps sits outside the root (notes and Keras agree on that for Adam).

    The d2l TensorFlow version adds eps to the parameter and never advances t; here t is
    `self.iterations + 1`, so the correction decays as training goes on.

    Sparse gradients (`tf.IndexedSlices`, e.g. from an `Embedding`) give the same result
    as their dense equivalent: repeated rows are summed before squaring (Keras 3.15's
    built-in squares each piece, so it differs from dense when a batch repeats a token).

    `fused=True` computes the same update with TensorFlow's fused kernel
    (`tf.raw_ops.ResourceApplyAdam`): one op per variable that reads and writes x, m and v
    once, in place of about ten elementwise ops, each a pass over the memory, that the graph
    also has to trace. Equal to the formula above up to rounding (lesson L12 uses it for the
    fast MNIST record). Sparse gradients still take the formula path.

    Args:
        learning_rate: float > 0, a schedule, or a callable. Defaults to 0.001.
        beta_1: decay of the first moment, float in [0, 1). Defaults to 0.9.
        beta_2: decay of the second moment, float in [0, 1). Defaults to 0.999.
        epsilon: float > 0 ("epsilon hat", see above). Defaults to 1e-7.
        amsgrad: bool, divide by the running maximum of v (AMSGrad). Defaults to False.
        weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum,
        ema_overwrite_frequency, loss_scale_factor, gradient_accumulation_steps, name:
            passed through to `keras.optimizers.Optimizer`.
        fused: keyword only (Keras's positional order is kept), bool: update dense gradients
            with TensorFlow's fused Adam kernel (above). Needs the TensorFlow backend and
            amsgrad=False. Defaults to False.
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
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
        *,
        fused=False,
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
        self.beta_1 = check_rate("beta_1", beta_1)
        self.beta_2 = check_rate("beta_2", beta_2)
        self.epsilon = check_epsilon(epsilon)
        self.amsgrad = check_bool("amsgrad", amsgrad)
        self.fused = check_bool("fused", fused)
        if self.fused and self.amsgrad:
            raise ValueError(
                "`fused=True` needs amsgrad=False (TensorFlow's fused kernel has no AMSGrad). Received: amsgrad=True"
            )
        if self.fused and keras.backend.backend() != "tensorflow":
            raise ValueError(
                f"`fused=True` needs the TensorFlow backend (it calls TensorFlow's ResourceApplyAdam). "
                f"Received: fused=True with backend={keras.backend.backend()!r}"
            )

    def build(self, variables):
        """Slots: `m`, `v`, and `v_max` if amsgrad."""
        if self.built:
            return
        super().build(variables)
        self._first_moments, self._second_moments = self.add_optimizer_variables(variables, ["momentum", "velocity"])
        self._second_moment_maxes = []
        if self.amsgrad:
            self._second_moment_maxes = self.add_optimizer_variables(variables, "velocity_hat")

    def update_step(self, gradient, variable, learning_rate):
        """alpha = lr*sqrt(1-b2^t)/(1-b1^t); m, v moving averages; x -= alpha*m/(sqrt(v)+eps)."""
        if self.fused and not isinstance(gradient, tf.IndexedSlices):
            return self._fused_update_step(gradient, variable, learning_rate)
        lr = ops.cast(learning_rate, variable.dtype)
        dx = ops.cast(sum_duplicate_rows(gradient), variable.dtype)
        t = ops.cast(self.iterations + 1, variable.dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, variable.dtype), t)
        beta_2_power = ops.power(ops.cast(self.beta_2, variable.dtype), t)
        index = self._get_variable_index(variable)
        m = self._first_moments[index]
        v = self._second_moments[index]

        alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        self.assign_add(m, ops.multiply(ops.subtract(dx, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(dx), v), 1 - self.beta_2))
        if self.amsgrad:
            v_max = self._second_moment_maxes[index]
            self.assign(v_max, ops.maximum(v_max, v))
            v = v_max
        self.assign_sub(
            variable,
            ops.divide(ops.multiply(m, alpha), ops.add(ops.sqrt(v), self.epsilon)),
        )

    def _fused_update_step(self, gradient, variable, learning_rate):
        """The same step as one `ResourceApplyAdam`: it takes beta^t and computes alpha itself."""
        dtype = tf.as_dtype(variable.dtype)
        index = self._get_variable_index(variable)
        t = ops.cast(self.iterations + 1, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=_resource(variable),
            m=_resource(self._first_moments[index]),
            v=_resource(self._second_moments[index]),
            # beta^t exactly as update_step forms it (beta rounded through float32, as Keras does)
            beta1_power=ops.power(ops.cast(self.beta_1, dtype), t),
            beta2_power=ops.power(ops.cast(self.beta_2, dtype), t),
            lr=ops.cast(learning_rate, dtype),
            beta1=tf.constant(self.beta_1, dtype),
            beta2=tf.constant(self.beta_2, dtype),
            epsilon=tf.constant(self.epsilon, dtype),
            grad=ops.cast(gradient, dtype),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "amsgrad": self.amsgrad,
            }
        )
        if self.fused:  # only when set, so the default config stays Keras's own
            config["fused"] = True
        return config


def _resource(variable):
    """The TensorFlow resource handle behind a Keras or TensorFlow variable."""
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle
