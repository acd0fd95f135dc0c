"""The reference MNIST models: shapes and parameter counts from the closed form."""

import numpy as np
import pytest

from tfcourse.models import mnist_cnn, mnist_mlp


def test_cnn_parameter_count_from_the_formula():
    model = mnist_cnn()
    # conv: k*k*C_in*C_out + C_out; 28 -> 26 -> 13 -> 11 -> 5 after conv/pool; dense 5*5*64*10 + 10
    expected = (3 * 3 * 1 * 32 + 32) + (3 * 3 * 32 * 64 + 64) + (5 * 5 * 64 * 10 + 10)
    assert model.count_params() == expected
    assert model.output_shape == (None, 10)
    assert any(layer.__class__.__name__ == "Dropout" for layer in model.layers)
    assert not any(layer.__class__.__name__ == "Dropout" for layer in mnist_cnn(dropout=0).layers)


def test_mlp_shapes_and_count():
    model = mnist_mlp((256,))
    assert model.count_params() == 784 * 256 + 256 + 256 * 10 + 10
    images = mnist_mlp((8, 8), input_shape=(28, 28, 1))
    assert images(np.zeros((2, 28, 28, 1), np.float32)).shape == (2, 10)
    assert mnist_mlp(()).count_params() == 7850  # softmax regression


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: mnist_cnn(filters=(32,)), "`filters` must hold 2 integers"),
        (lambda: mnist_cnn(filters=(32, 0)), "`filters` must be an integer >= 1. Received: filters=0"),
        (lambda: mnist_cnn(dropout=1.0), r"`dropout` must be in \[0, 1\). Received: dropout=1.0"),
        (lambda: mnist_mlp((0,)), "`hidden_units` must be an integer >= 1"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
