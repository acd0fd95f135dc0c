"""An RNN cell written as one linear layer on [h, x] [003], usable in `keras.layers.RNN`.

Introduced in lesson L09 (`lessons/09_rnn.py`).
"""

import keras
import numpy as np
import tensorflow as tf

from tfcourse._validation import check_bool, check_positive_int


@keras.saving.register_keras_serializable(package="tfcourse")
class SimpleRNNCell(keras.layers.Layer):
    """The notes' RNN cell: one linear layer on the concatenation [h, x]. Introduced in lesson L09.

        W = [W_hh; W_xh]                      # one kernel, (units + features, units)
        h_t = activation([h_{t-1}, x_t] @ W + b)
            = activation(h_{t-1} @ W_hh + x_t @ W_xh + b)

    The same function as `keras.layers.SimpleRNNCell` (which keeps W_hh as `recurrent_kernel`
    and W_xh as `kernel`); `from_keras_weights` stacks those two into this cell's one kernel.
    The notes' `torch.nn.RNNCell` has two biases, b_ih + b_hh; only their sum matters.

    Use it in `keras.layers.RNN(SimpleRNNCell(units))` to run it over a (batch, time,
    features) sequence. Its state is one (batch, units) tensor, h.
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.activation = keras.activations.get(activation)
        self.use_bias = check_bool("use_bias", use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(f"The last axis of the cell's input must be known. Received: input_shape={input_shape}")
        self.kernel = self.add_weight(
            shape=(self.units + features, self.units), name="kernel", initializer=self.kernel_initializer
        )
        self.bias = (
            self.add_weight(shape=(self.units,), name="bias", initializer=self.bias_initializer)
            if self.use_bias
            else None
        )

    def call(self, inputs, states, training=False):
        previous = states[0] if isinstance(states, (list, tuple)) else states
        output = tf.matmul(tf.concat([previous, inputs], axis=-1), self.kernel)
        if self.bias is not None:
            output = output + self.bias
        if self.activation is not None:
            output = self.activation(output)
        return output, [output] if isinstance(states, (list, tuple)) else output

    def get_initial_state(self, batch_size=None):
        return [tf.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def from_keras_weights(self, kernel, recurrent_kernel, bias=None):
        """Load `keras.layers.SimpleRNNCell` weights: W = [recurrent_kernel; kernel] (lesson L09).

        The cell must be built (called once, or `build((None, features))`).
        """
        if not self.built:
            raise ValueError("The cell must be built before loading weights: call `build((None, features))` first.")
        kernel, recurrent_kernel = np.asarray(kernel), np.asarray(recurrent_kernel)
        expected = (self.units, self.units)
        if recurrent_kernel.shape != expected or kernel.shape != (self.kernel.shape[0] - self.units, self.units):
            raise ValueError(
                f"`kernel` must have shape {(self.kernel.shape[0] - self.units, self.units)} and `recurrent_kernel` "
                f"{expected}. Received: kernel.shape={kernel.shape}, recurrent_kernel.shape={recurrent_kernel.shape}"
            )
        self.kernel.assign(np.concatenate([recurrent_kernel, kernel], axis=0))
        if bias is not None:
            if self.bias is None:
                raise ValueError("`bias` must be None for a cell with use_bias=False. Received: a bias")
            self.bias.assign(np.asarray(bias))

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
