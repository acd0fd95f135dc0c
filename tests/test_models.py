"""The reference MNIST models: shapes and parameter counts from the closed form."""

import keras
import numpy as np
import pytest

from tfcourse.layers import SpaceToDepthConv2D
from tfcourse.models import fast_mnist_cnn, lenet5, mnist_cnn, mnist_mlp, multiply_adds


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
        (lambda: lenet5((64, 64, 1)), r"`input_shape` must be \(32, 32, C\) or \(28, 28, C\)"),
        (lambda: lenet5(classes=0), "`classes` must be an integer >= 1. Received: classes=0"),
        (lambda: multiply_adds(keras.layers.Dense(3)), "`model` must be a built keras.Model"),
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


def test_fast_mnist_cnn_strided_stem_replaces_the_first_convolution_and_pool():
    model = fast_mnist_cnn(dense_units=256, strided_stem=True)
    # 28 -> 12 (6x6, stride 2, valid: (28 - 6) // 2 + 1) -> 8 -> 4; dense on 4*4*32
    expected = (6 * 6 * 1 * 16 + 16) + (5 * 5 * 16 * 32 + 32) + (4 * 4 * 32 * 256 + 256) + (256 * 10 + 10)
    assert model.count_params() == expected
    stem = model.layers[0]
    assert isinstance(stem, SpaceToDepthConv2D) and (stem.kernel_size, stem.strides) == (6, 2)
    # multiply-adds count the stem too: 12x12 outputs of a 6x6x1 window into 16 channels
    assert multiply_adds(model) == 12 * 12 * 6 * 6 * 16 + 8 * 8 * 5 * 5 * 16 * 32 + 512 * 256 + 256 * 10
    assert stem.compute_output_shape((None, 28, 28, 1)) == (None, 12, 12, 16)
    pools = [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]
    assert len(pools) == 1  # only the second stage pools; the control: the pooled net has two
    assert len([layer for layer in fast_mnist_cnn().layers if isinstance(layer, keras.layers.MaxPooling2D)]) == 2
    # golden values: stem output (i, j, c) = ReLU(sum(image[2i:2i+6, 2j:2j+6] * kernel[..., c]) + bias[c])
    image = np.random.default_rng(0).uniform(0, 1, (1, 28, 28, 1)).astype(np.float32)
    stem_out = keras.Sequential(model.layers[:2])(image).numpy()[0]
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in stem.weights)
    expected_out = np.array([[np.einsum("hwk,hwkc->c", image[0, 2 * i:2 * i + 6, 2 * j:2 * j + 6], kernel) + bias
                              for j in range(12)] for i in range(12)])  # fmt: skip
    np.testing.assert_allclose(stem_out, np.maximum(expected_out, 0), rtol=1e-5, atol=1e-5)
    assert (stem_out > 0).any() and (stem_out == 0).any()  # both sides of the ReLU are checked


def test_fast_mnist_cnn_3x3_same_stages():
    # Fashion's net: three 3x3 'same' stages, each pooled: 28 -> 14 -> 7 -> 3
    model = fast_mnist_cnn((32, 64, 64), 256, batch_norm=True, kernel_size=3, padding="same")
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.kernel_size, c.padding) for c in convolutions] == [((3, 3), "same")] * 3
    assert [tuple(c.output.shape[1:3]) for c in convolutions] == [(28, 28), (14, 14), (7, 7)]
    flatten = next(layer for layer in model.layers if isinstance(layer, keras.layers.Flatten))
    assert flatten.output.shape[-1] == 3 * 3 * 64
    # parameters: convolutions without bias (BN's beta replaces it), BN 4 per channel, dense layers
    expected = 3 * 3 * 32 + 3 * 3 * 32 * 64 + 3 * 3 * 64 * 64 + 4 * (32 + 64 + 64) + (576 * 256 + 256) + (256 * 10 + 10)
    assert model.count_params() == expected
    assert model(np.zeros((2, 28, 28, 1), np.float32)).shape == (2, 10)
    # the control: the default stages are 5x5 valid (28 -> 24 -> 12 -> 8 -> 4)
    default = [c for c in fast_mnist_cnn().layers if isinstance(c, keras.layers.Conv2D)]
    assert [(c.kernel_size, c.padding, tuple(c.output.shape[1:3])) for c in default] == [
        ((5, 5), "valid", (24, 24)), ((5, 5), "valid", (8, 8))]  # fmt: skip


def test_fast_mnist_cnn_uses_the_fused_batch_norm_and_float32_logits():
    from tfcourse.layers import BatchNormalization

    norms = [layer for layer in fast_mnist_cnn(batch_norm=True).layers if "Normalization" in type(layer).__name__]
    assert len(norms) == 2 and all(type(layer) is BatchNormalization for layer in norms)
    from tfcourse.training.setup import dtype_policy

    with dtype_policy("mixed_bfloat16"):
        model = fast_mnist_cnn(batch_norm=True)
    assert model.layers[0].compute_dtype == "bfloat16"  # the control: the policy did apply
    assert model(np.zeros((2, 28, 28, 1), np.float32)).dtype == "float32"


def test_fast_mnist_cnn_shifts_compile_on_jax_only(monkeypatch):
    from keras.src.trainers.trainer import model_supports_jit

    model = keras.Sequential([keras.Input((28, 28, 1)), fast_mnist_cnn(augment_shift=0.08)])  # one level down
    assert not model_supports_jit(model)  # TensorFlow: Keras's own mark stays (its XLA lacks the image op)
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    model = keras.Sequential([keras.Input((28, 28, 1)), fast_mnist_cnn(augment_shift=0.08)])
    assert model_supports_jit(model)  # JAX: model.fit compiles the train step instead of running it op by op


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fast_mnist_cnn(filters=(16,)),
         r"`filters` must be a tuple or list of at least 2 integers >= 1, one per stage. Received: filters=\(16,\)"),
        # 5x5 valid stages: 28 -> 12 -> 4, then 4 -> 0: a third stage has no map left
        (lambda: fast_mnist_cnn(filters=(16, 32, 64)),
         r"Stage 3 of 3 leaves no map: .* Received: filters=\(16, 32, 64\), kernel_size=5, padding='valid'"),
        # 3x3 same: 28 -> 14 -> 7 -> 3 -> 1 -> 0
        (lambda: fast_mnist_cnn(filters=(8,) * 5, kernel_size=3, padding="same"), "Stage 5 of 5 leaves no map"),
        (lambda: fast_mnist_cnn(padding="causal"), "`padding` must be one of"),
        (lambda: fast_mnist_cnn(kernel_size=0), "`kernel_size` must be an integer >= 1"),
        (lambda: fast_mnist_cnn(dense_units=0), "`dense_units` must be an integer >= 1. Received: dense_units=0"),
        (lambda: fast_mnist_cnn(batch_norm=1), "`batch_norm` must be a bool"),
        (lambda: fast_mnist_cnn(strided_stem="yes"), "`strided_stem` must be a bool"),
        (lambda: fast_mnist_cnn(augment_shift=0.5), r"`augment_shift` must be in \[0, 0.5\)"),
    ],
)
def test_fast_mnist_cnn_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_lenet5_parameters_and_shapes():
    # C1 5*5*1*6+6, C3 5*5*6*16+16, F5 400*120+120, F6 120*84+84, output 84*10+10
    model = lenet5()
    assert model.count_params() == 156 + 2_416 + 48_120 + 10_164 + 850 == 61_706
    assert model.get_layer("S4").output.shape[1:] == (5, 5, 16)
    padded = lenet5((28, 28, 1), classes=3)  # MNIST digits padded to 32x32, as LeCun did
    assert padded.get_layer("C1").output.shape[1:] == (28, 28, 6)
    assert padded(np.zeros((2, 28, 28, 1), np.float32)).shape == (2, 3)


def test_multiply_adds_closed_form():
    # the notes' 5x5 conv from 192 to 32 channels on 28x28, direct and with a 1x1 bottleneck
    wide = keras.Input((28, 28, 192))
    direct = keras.Model(wide, keras.layers.Conv2D(32, 5, padding="same")(wide))
    assert multiply_adds(direct) == 5 * 5 * 32 * 192 * 28 * 28 == 120_422_400
    squeezed = keras.layers.Conv2D(32, 5, padding="same")(keras.layers.Conv2D(16, 1)(wide))
    assert multiply_adds(keras.Model(wide, squeezed)) == 2_408_448 + 10_035_200 == 12_443_648
    # strides, grouped kernels, dense on a sequence, and layers that count 0
    images = keras.Input((9, 9, 4))
    strided = keras.layers.Conv2D(6, 3, strides=2, groups=2)(keras.layers.BatchNormalization()(images))
    assert multiply_adds(keras.Model(images, strided)) == 4 * 4 * 3 * 3 * 2 * 6
    sequence = keras.Input((5, 7))
    assert multiply_adds(keras.Model(sequence, keras.layers.Dense(3)(sequence))) == 5 * 7 * 3
    nested = keras.Sequential([keras.Input((9, 9, 4)), keras.Model(images, strided), keras.layers.Flatten(),
                               keras.layers.Dense(2)])
    assert multiply_adds(nested) == 4 * 4 * 3 * 3 * 2 * 6 + 96 * 2
    pooled = keras.Model(images, keras.layers.MaxPooling2D()(images))
    assert multiply_adds(pooled) == 0  # negative control: no weights, no multiply-adds counted
