import keras
import numpy as np
import pytest

from tfcourse.layers import SimpleRNNCell


def _x(shape, seed=0, dtype="float32"):
    return np.random.RandomState(seed).randn(*shape).astype(dtype)


def _paired(units=5, features=3, seed=0, **kwargs):
    """A keras SimpleRNNCell with random (non-zero bias) weights and ours loaded from it."""
    theirs = keras.layers.SimpleRNNCell(units, bias_initializer="random_normal", seed=seed, **kwargs)
    theirs.build((None, features))
    ours = SimpleRNNCell(units, **kwargs)
    ours.build((None, features))
    ours.from_keras_weights(theirs.kernel.numpy(), theirs.recurrent_kernel.numpy(),
                            None if theirs.bias is None else theirs.bias.numpy())  # fmt: skip
    return ours, theirs


def test_golden_values_one_step():
    cell = SimpleRNNCell(2, activation=None)
    cell.build((None, 1))
    # W = [W_hh; W_xh], rows: h1, h2, x
    cell.kernel.assign(np.array([[1.0, 0.0], [0.0, 2.0], [3.0, -1.0]], "float32"))
    cell.bias.assign(np.array([0.5, 0.0], "float32"))
    h = np.array([[1.0, 1.0]], "float32")
    x = np.array([[2.0]], "float32")
    output, state = cell(x, [h])
    # [h, x] @ W + b = [1 + 6 + 0.5, 2 - 2 + 0] = [7.5, 0]
    np.testing.assert_array_equal(output.numpy(), [[7.5, 0.0]])
    np.testing.assert_array_equal(state[0].numpy(), output.numpy())


@pytest.mark.parametrize("use_bias, activation", [(True, "tanh"), (False, "tanh"), (True, "relu")])
def test_parity_with_keras_cell_and_over_a_sequence(use_bias, activation):
    ours, theirs = _paired(use_bias=use_bias, activation=activation)
    x, h = _x((4, 3)), _x((4, 5), seed=1)
    np.testing.assert_allclose(ours(x, [h])[0].numpy(), theirs(x, [h])[0].numpy(), atol=1e-6)
    sequence = _x((4, 7, 3), seed=2)
    ours_out = keras.layers.RNN(ours, return_sequences=True)(sequence).numpy()
    theirs_out = keras.layers.RNN(theirs, return_sequences=True)(sequence).numpy()
    np.testing.assert_allclose(ours_out, theirs_out, atol=1e-5)
    # negative control: a different recurrent kernel changes the output
    ours.kernel.assign(ours.kernel.numpy() + 0.1)
    assert np.abs(keras.layers.RNN(ours)(sequence).numpy() - theirs_out[:, -1]).max() > 1e-2


def test_parity_with_keras_simple_rnn_layer():
    layer = keras.layers.SimpleRNN(6)
    sequence = _x((3, 5, 4))
    expected = layer(sequence).numpy()
    ours = SimpleRNNCell(6)
    ours.build((None, 4))
    ours.from_keras_weights(*[w.numpy() for w in layer.cell.weights])
    np.testing.assert_allclose(keras.layers.RNN(ours)(sequence).numpy(), expected, atol=1e-5)


def test_one_kernel_same_parameter_count_as_keras():
    ours, theirs = _paired(units=8, features=4)
    assert [tuple(w.shape) for w in ours.weights] == [(12, 8), (8,)]
    assert ours.count_params() == theirs.count_params() == 8 * 8 + 4 * 8 + 8


def test_config_round_trip_and_saving(harness, tmp_path):
    cell = SimpleRNNCell(4, activation="relu", use_bias=False, kernel_initializer="zeros")
    assert keras.saving.get_registered_name(SimpleRNNCell) == "tfcourse>SimpleRNNCell"
    config = cell.get_config()
    assert SimpleRNNCell.from_config(config).get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(cell))
    assert type(restored) is SimpleRNNCell and restored.get_config() == config
    make = lambda: keras.layers.RNN(SimpleRNNCell(4))  # noqa: E731
    harness.check_models_and_saving(make, (2, 5, 3), tmp_path, atol=1e-5)
    harness.check_training_step(lambda: keras.layers.RNN(SimpleRNNCell(4), return_sequences=True), (2, 5, 3))


def test_gradients_float64_and_mirrored(harness, two_cpu_strategy):
    harness.check_gradients_float64(lambda: keras.layers.RNN(SimpleRNNCell(3, dtype="float64"), dtype="float64"),
                                    (2, 4, 3), samples=10)  # fmt: skip
    harness.check_mirrored(lambda: keras.layers.RNN(SimpleRNNCell(4)), (4, 5, 3), two_cpu_strategy)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": 0}, "`units` must be an integer >= 1"),
        ({"units": 2.5}, "`units` must be an integer"),
        ({"units": 2, "use_bias": "yes"}, "`use_bias` must be"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SimpleRNNCell(**kwargs)


def test_from_keras_weights_checks_shapes():
    cell = SimpleRNNCell(3)
    with pytest.raises(ValueError, match="must be built"):
        cell.from_keras_weights(np.zeros((2, 3)), np.zeros((3, 3)))
    cell.build((None, 2))
    with pytest.raises(ValueError, match="`kernel` must have shape"):
        cell.from_keras_weights(np.zeros((3, 3)), np.zeros((3, 3)))
    no_bias = SimpleRNNCell(3, use_bias=False)
    no_bias.build((None, 2))
    with pytest.raises(ValueError, match="`bias` must be None"):
        no_bias.from_keras_weights(np.zeros((2, 3)), np.zeros((3, 3)), np.zeros(3))
