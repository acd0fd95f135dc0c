"""The reference MNIST models: shapes and parameter counts from the closed form."""

import numpy as np
import pytest

from tfcourse.models import fast_mnist_cnn, mnist_cnn, mnist_mlp


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


def test_fast_mnist_cnn_parameter_count_from_the_formula():
    model = fast_mnist_cnn()
    # 28 -> 24 (5x5 valid) -> 12 (pool) -> 8 -> 4; dense on 4*4*32
    expected = (5 * 5 * 1 * 16 + 16) + (5 * 5 * 16 * 32 + 32) + (4 * 4 * 32 * 128 + 128) + (128 * 10 + 10)
    assert model.count_params() == expected
    assert model(np.zeros((2, 28, 28, 1), np.float32)).shape == (2, 10)
    with_bn = fast_mnist_cnn(batch_norm=True)
    # BN replaces the conv biases: + 4 parameters per channel (gamma, beta, moving mean, variance)
    assert with_bn.count_params() == expected - 16 - 32 + 4 * (16 + 32)
    assert not any("RandomTranslation" in type(layer).__name__ for layer in model.layers)
    assert any("RandomTranslation" in type(layer).__name__ for layer in fast_mnist_cnn(augment_shift=0.1).layers)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fast_mnist_cnn(filters=(16, 32, 64)), "`filters` must hold 2 integers"),
        (lambda: fast_mnist_cnn(dense_units=0), "`dense_units` must be an integer >= 1. Received: dense_units=0"),
        (lambda: fast_mnist_cnn(batch_norm=1), "`batch_norm` must be a bool"),
        (lambda: fast_mnist_cnn(augment_shift=0.5), r"`augment_shift` must be in \[0, 0.5\)"),
    ],
)
def test_fast_mnist_cnn_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
